"""Fixtures of the registry's tests."""

import pytest


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings, tmp_path):
    """Uploaded import files go to a folder of the test's own, not the project's media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
