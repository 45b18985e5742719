"""Benchmarks, run against the database in ``DATABASE_URL`` (``python -m bench.<name>``)."""
