"""The embedded default's SQLite backend: Django's, with connections reused across requests (see base.py)."""
