"""Tools for administrators who write the catalogue: round-trip YAML edits, new items and catalogue diffs."""
