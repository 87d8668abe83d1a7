"""The store: tables, migrations, the append-only hash-chained case record and its signed checkpoints."""
