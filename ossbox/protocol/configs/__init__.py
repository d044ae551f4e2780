"""Bucket configurations on the wire: parsing and validating what a Put call sends, the document stored and
answered by Get, and the pure decisions the request path makes with them (does this Origin match a CORS rule,
does this Referer pass). No I/O."""
