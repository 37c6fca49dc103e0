"""Evidence for enforcement: signed, hash-chained packages (package.py)."""
