"""Two ticks of the emergency calls' escalation at once, and two presses of the same
household's call at once, each on its own connection (PostgreSQL only: SQLite serialises
whole transactions, so there is no race to show)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from accounts.models import Notification, Role
from households import services as hs
from households.models import AssignmentKind
from monitoring.models import CallHop, EmergencyCall, HopState
from monitoring.services.calls import call_escalation, call_raise
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.transactional import (  # noqa: F401 (fixtures)
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

T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def village(areas):
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre_race")
    households = []
    for i in range(3):
        household = hf.household(areas["v11"], members=1)
        for kind in (AssignmentKind.CONTACT, AssignmentKind.RESPONSIBLE):
            user = af.user(Role.HELPER, username=f"h{i}{kind}")
            hs.helper_assign(
                actor=None,
                helper=hf.helper(areas["county"], user),
                household=household,
                start_date=dt.date(2026, 1, 1),
                kind=kind,
            )
        households.append(household)
    return cadre, households


def test_two_ticks_at_once_notify_each_hop_once(village):
    cadre, households = village
    for household in households:
        call_raise(actor=cadre, household=household, now=T0)
    now = T0 + dt.timedelta(minutes=20)

    out = race(lambda: call_escalation(now=now), lambda: call_escalation(now=now))
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]
    assert out["first"]["hops_notified"] + out["second"]["hops_notified"] == 6  # helper + cadre, 3 calls
    assert out["second"]["hops_notified"] == 0
    assert not CallHop.objects.filter(state=HopState.PLANNED, notify_at__lte=now).exists()
    keys = list(Notification.objects.filter(kind="emergency_call").values_list("recipient_id", "key"))
    assert len(keys) == len(set(keys))


def test_two_presses_at_once_make_one_call(village):
    cadre, households = village

    def press():
        return call_raise(actor=cadre, household=households[0], now=T0)

    out = race(press, press)
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]
    (first, created), (second, created_again) = out["first"], out["second"]
    assert created and not created_again and first.pk == second.pk
    assert EmergencyCall.objects.count() == 1
