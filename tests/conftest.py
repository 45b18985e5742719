"""Fixtures every app's tests share: the county's areas, one user per role, a household.

Each app's own fixtures are in its ``conftest.py``; data that is not the subject of a test
comes from the factories (``tests/<app>/factories.py``).
"""

import pytest
from hypothesis import HealthCheck, settings

from accounts.models import Department, Role, User
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import Actors

# Property tests judge the code, not the machine: on a busy CI host generating examples can be
# slow, which is no failure of the rule under test.
settings.register_profile("project", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("project")


@pytest.fixture
def areas(db):
    return af.county_tree()


@pytest.fixture
def cadre(areas):
    return af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre_v11")


@pytest.fixture
def township_reviewer(areas):
    return af.user(Role.TOWNSHIP_REVIEWER, areas["t1"], username="reviewer_t1")


@pytest.fixture
def county_approver(areas):
    return af.user(Role.COUNTY_APPROVER, areas["county"], username="approver")


@pytest.fixture
def operator(areas):
    return af.user(Role.OPERATOR, areas["county"], username="operator")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.org", "pass-12345")


@pytest.fixture
def actors(cadre, township_reviewer, county_approver):
    """The three roles that take a case through its procedure (village, township, county)."""
    return Actors(cadre, township_reviewer, county_approver)


@pytest.fixture
def helper_user(areas):
    """A helper's login with their helper profile in the county (``user.helper_profile``),
    not yet assigned to any household."""
    user = af.user(Role.HELPER, username="helper", full_name="王帮扶")
    hf.helper(areas["county"], user, name="王帮扶")
    return user


@pytest.fixture
def medical(db):
    return Department.objects.get(code="medical_insurance")


@pytest.fixture
def household(areas, cadre):
    """A household of two in village v11, registered by its cadre."""
    return hf.household(areas["v11"], members=2, actor=cadre, phone="13912345678")


@pytest.fixture
def hh(household):
    """:func:`household` under its short name."""
    return household


@pytest.fixture
def other_household(areas):
    """A household of one in village v12 (the cadre's township, not the cadre's village)."""
    return hf.household(areas["v12"], members=1)


@pytest.fixture
def cadre_client(client, cadre):
    client.force_login(cadre)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The production hasher takes ~0.3 s per password; tests need no such cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Uploaded files (imports, home-check photos) go to a folder of the test's own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-hans): a test that switched to English
    (a page in English, ``translation.activate``) must not leave it to the next one."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
