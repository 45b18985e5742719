"""REST endpoints (see config/api_urls.py)."""

extra_urls: list = []


def register(router) -> None:
    """Add this module's viewsets to the API router."""
