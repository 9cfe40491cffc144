"""The public transparency page and the read-only Open311 GeoReport v2 API (docs/web.md).

A transport-level adapter, like the chat transports: it reads a cached
:class:`bot.reports.public.Snapshot` (figures from ``figures.collect``) and
:mod:`storage.public_queries`, and never writes.
"""
