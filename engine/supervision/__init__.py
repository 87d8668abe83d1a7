"""Electronic supervision: the sweep, corrections, rankings, open data, search and verifying the record."""
