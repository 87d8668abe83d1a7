"""Catalogue in, problems out: cross-references, fee checks, quality, the report and explanations."""
