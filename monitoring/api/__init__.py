"""The monitoring REST API: ``departments`` (partner departments' keys) and ``staff``."""
