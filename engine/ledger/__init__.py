"""The store: the append-only, hash-chained case record, and every table the services keep beside it.

One module per concern, each importing only modules listed above it:

* errors        what the record refuses: VersionConflict, CaseNotFound, CaseExists, SchemaTooNew
* db            open_engine (SQLite settings, one writer at a time) and read_only; iso, dumps, loads
* tables        every table, as today's schema
* outbox        the notification outbox: messages sent at most once, every try recorded, producers' cursors
* fastpath      prebuilt one-row statements run with as little overhead as the database allows
* snapshots     the catalogue snapshots cases are pinned to, and the versions served
* migrations    the numbered migrations that bring any older database to the tables
* events        each case's events and their hash chain: append_event, events_of, canonical
* cases         filing a case with its first event, its row, the columns written beside its events
* idempotency   a repeated filing finds the case it already filed
* merkle        RFC 9162 tree heads and consistency proofs over the events
* transparency  signed checkpoints of the record, and what an auditor checks them with
* backup        online, consistent backups (SQLite's backup API, pg_dump) and restoring them
* transfer      copying a center's record into another, empty database, and comparing the two
"""
