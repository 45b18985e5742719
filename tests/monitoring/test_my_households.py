"""The helper's own households (/households/mine/, 我的帮扶户) with every kind of next visit:
due, overdue, none at all, and a case whose visits have not started (no due date)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from monitoring.models import CaseStatus
from tests.households import factories as hf
from tests.monitoring import factories as mf

TODAY = timezone.localdate()


def test_households_without_a_visit_due_date_sort_after_the_others(client, areas, helper_user):
    monitored = hf.household(areas["v11"], registered=TODAY - dt.timedelta(days=200))
    identifying = hf.household(areas["v12"], registered=TODAY - dt.timedelta(days=200))
    provisional = hf.household(areas["v21"], registered=TODAY - dt.timedelta(days=200))
    no_case = hf.household(areas["v22"], registered=TODAY - dt.timedelta(days=200))
    for home in (no_case, provisional, identifying, monitored):
        hf.assign(helper_user, home, TODAY - dt.timedelta(days=100))
    mf.case(monitored, identified_on=TODAY - dt.timedelta(days=20))
    # identification still running: the case has no visit due date yet (the demo has such cases)
    mf.case(identifying, status=CaseStatus.IDENTIFYING, found_date=TODAY - dt.timedelta(days=3))
    mf.case(provisional, status=CaseStatus.PROVISIONAL, found_date=TODAY - dt.timedelta(days=3))
    client.force_login(helper_user)
    response = client.get("/households/mine/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {r["household"] for r in rows} == {monitored, identifying, provisional, no_case}
    dated = [r for r in rows if r["due"] is not None and r["due"].due is not None]
    undated = rows[len(dated) :]
    assert monitored in [r["household"] for r in dated]
    assert [r["due"].due for r in dated] == sorted(r["due"].due for r in dated)
    # the ones with no due date (no case, or visits not started) after them, by household number
    assert {identifying, no_case} <= {r["household"] for r in undated}
    assert all(r["due"] is None or r["due"].due is None for r in undated)
    assert [r["household"].number for r in undated] == sorted(r["household"].number for r in undated)
