"""SelectObject and CreateSelectObjectMeta: SQL over CSV and JSON objects, streamed in OSS's framed format.

sql parses the statement, evaluate runs it on one record at a time, records splits the object's bytes into
records, request reads the XML request, frames encodes the answer and engine ties them together. No I/O:
the HTTP handler (ossbox/http/oss/select.py) feeds the object's bytes in and sends what comes out.
"""
