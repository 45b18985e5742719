import pytest

from accounts.models import Role
from tests import factories


@pytest.fixture
def areas(db):
    return factories.county_tree()


@pytest.fixture
def cadre(areas):
    return factories.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre_v11")


@pytest.fixture
def township_reviewer(areas):
    return factories.user(Role.TOWNSHIP_REVIEWER, areas["t1"], username="reviewer_t1")


@pytest.fixture
def county_approver(areas):
    return factories.user(Role.COUNTY_APPROVER, areas["county"], username="approver")


@pytest.fixture
def operator(areas):
    return factories.user(Role.OPERATOR, areas["county"], username="operator")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The production hasher takes ~0.3 s per password; tests need no such cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
