"""Item pipelines, in order: validate (100) -> normalise (200) -> store (300)."""
