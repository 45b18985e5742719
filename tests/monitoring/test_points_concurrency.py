"""Two redemptions of the same household's points at the same moment, each on its own
connection (PostgreSQL only: SQLite runs one write transaction at a time, so no race).

The first holds its transaction open after spending; the second must wait for the account's
lock, then see the lower balance and be refused: the points are never spent twice and the
balance never goes below zero.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from accounts.errors import ValidationError
from monitoring.models import PointsAccount, PointsEntry
from monitoring.services import points
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

NOW = at(d(6, 15))


@pytest.fixture
def funded(areas, cadre):
    """A household with 50 points (C02 10 points, five times)."""
    household = hf.household(areas["v11"], members=1)
    for _ in range(5):
        points.points_award(
            actor=cadre,
            household=household,
            conduct_code="C02",
            awarded_on=d(6, 1),
            reason="务工",
            panel="张三、李四",
            now=NOW,
        )
    return household


def spend(cadre, household, quantity: int):
    # G01 costs 40 points: one of them fits into 50, two do not
    return points.points_redeem(
        actor=cadre, household=household, item_code="G01", quantity=quantity, redeemed_on=d(6, 15), now=NOW
    )


def test_two_redemptions_at_once_spend_the_points_once(cadre, funded):
    out = race(lambda: spend(cadre, funded, 1), lambda: spend(cadre, funded, 1))
    assert not isinstance(out["first"], Exception), out["first"]
    assert isinstance(out["second"], ValidationError), out["second"]
    assert out["second"].message_dict["quantity"] == ["积分不足：余额10分，需要40分。"]
    assert out["waited"] >= HOLD / 2  # it waited for the first one's lock
    account = PointsAccount.objects.get(household=funded)
    assert (account.balance, account.awarded, account.redeemed) == (10, 50, 40)
    assert PointsEntry.objects.filter(household=funded, kind="redeem").count() == 1


def test_many_redemptions_started_together_never_overdraw(cadre, funded):
    barrier = threading.Barrier(4)
    results: list = []

    def run():
        barrier.wait(5)
        try:
            with transaction.atomic():
                results.append(spend(cadre, funded, 1))
        except ValidationError as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert sum(isinstance(r, ValidationError) for r in results) == 3
    assert PointsAccount.objects.get(household=funded).balance == 10


def test_the_first_award_of_a_household_made_twice_at_once_opens_one_account(cadre, areas):
    household = hf.household(areas["v11"], members=1)

    def give():
        return points.points_award(
            actor=cadre,
            household=household,
            conduct_code="C01",
            awarded_on=d(6, 1),
            reason="卫生",
            panel="张三、李四",
            now=NOW,
        )

    out = race(give, give)
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]
    account = PointsAccount.objects.get(household=household)
    assert (account.balance, account.awarded) == (10, 10)
    assert sorted(
        PointsEntry.objects.filter(household=household).values_list("balance_after", flat=True)
    ) == [5, 10]
