"""The table service: Tablestore's wire API (the official `tablestore` SDK works against it unchanged),
rows in SQLite, and a change log per table that incremental delivery reads.

Server-side modules here (`app`, `service`, `storage`, `auth`, `wire`) run inside the ossbox server;
`changelog`, `snapshot` and `plainbuffer` are standard-library-and-anycrc only, so delivery (a client
package) can read the change log and the current rows without the server's dependencies; `delivery`
serves the delivery API (ossbox.delivery). See docs/tables.md and docs/delivery.md.
"""
