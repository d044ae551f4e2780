"""The table service: Tablestore's wire API (the official `tablestore` SDK works against it unchanged),
rows in SQLite, and a change log per table that incremental delivery reads.

Server-side modules here (`app`, `service`, `storage`, `auth`, `wire`) run inside the ossbox server;
`changelog` and `plainbuffer` are standard-library-and-anycrc only, so a separate process (delivery)
can read the change log without the server's dependencies. See docs/tables.md.
"""
