"""Fixtures of the workflow's tests."""

import pytest

from accounts.models import AreaLevel, Role
from tests.accounts import factories as af
from tests.monitoring.helpers import d, open_case


@pytest.fixture
def case(household, cadre):
    """The household's case, opened by the cadre on a self-report found on 1 March 2026."""
    return open_case(household, cadre, d(3, 1))


@pytest.fixture
def other_county(areas):
    """A second county of the same city: one township, one village and its cadre."""
    county = af.area("130728000000", "怀安县", AreaLevel.COUNTY, areas["city"])
    township = af.area("130728100000", "柴沟堡镇", AreaLevel.TOWNSHIP, county)
    village = af.area("130728100201", "五村", AreaLevel.VILLAGE, township)
    return {
        "county": county,
        "township": township,
        "village": village,
        "cadre": af.user(Role.VILLAGE_CADRE, village, username="cadre_other_county"),
    }
