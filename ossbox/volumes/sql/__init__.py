"""MaxCompute SQL over DuckDB: statements are parsed here (parser.py), queries run in DuckDB (engine.py)."""
