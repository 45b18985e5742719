"""Two people pair the same township at the same moment, each on their own connection
(PostgreSQL only: SQLite runs one write transaction at a time, so there is no race).

The first locks the county's helpers and holds its transaction open after pairing; the
second waits for the locks, then sees the first one's assignments: no household gets two
responsible helpers and no helper goes over the limit.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count

from households.models import HelperAssignment, Household
from monitoring.services import pairing
from tests.households import factories as hf
from tests.monitoring.helpers import at, d
from tests.transactional import (  # noqa: F401 (fixtures)
    HOLD,
    race,
    reference_data,
    reference_data_afterwards,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite runs one write transaction at a time, so there is no race",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]


def test_two_people_pairing_one_township_at_once(areas, township_reviewer, county_approver):
    for _ in range(6):
        hh = hf.household(areas["v11"], members=1)
        Household.objects.filter(pk=hh.pk).update(monitoring_status="monitored")
    for name in ("甲", "乙"):
        helper = hf.helper(areas["county"], None, name=name)
        helper.village = areas["v11"]
        helper.save()

    def pair(actor):
        return lambda: pairing.pair_helpers(
            actor=actor, area=areas["t1"], start_date=d(6, 15), limit=5, now=at(d(6, 15))
        )

    out = race(pair(township_reviewer), pair(county_approver))
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]
    assert out["waited"] >= HOLD / 2  # it waited for the helpers' locks
    # the second read the households after the first had paired them all: nothing left
    assert len(out["first"].pairs) == 6 and out["second"].pairs == [] and out["second"].unpaired == []
    per_household = HelperAssignment.objects.values("household").annotate(n=Count("pk"))
    assert {row["n"] for row in per_household} == {1}
    per_helper = HelperAssignment.objects.values("helper").annotate(n=Count("pk"))
    assert max(row["n"] for row in per_helper) == 3
