"""The catalogue model and its reading: YAML policy, schemas, discovery, the check cache and the
five-level stack of overrides."""
