"""Motivation points (扶志积分): the panel's award, the point shop's redemption, the balance that
never goes negative (service and database), the county's own lists, the pages and the ledger."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from monitoring.models import ConductItem, PointsAccount, PointsEntry, ShopItem, StatusChange
from monitoring.services import points
from tests.accounts import factories as af
from tests.monitoring.helpers import at, d

NOW = at(d(6, 15))
PANEL = "张三、李四，王五"


def award(actor, household, code="C02", on=None, **kw):
    values = {"reason": "外出务工满三个月", "panel": PANEL, **kw}
    return points.points_award(
        actor=actor, household=household, conduct_code=code, awarded_on=on or d(6, 14), now=NOW, **values
    )


def redeem(actor, household, code="G02", quantity=1, on=None):
    return points.points_redeem(
        actor=actor,
        household=household,
        item_code=code,
        quantity=quantity,
        redeemed_on=on or d(6, 15),
        now=NOW,
    )


def test_the_default_lists_are_loaded(db):
    assert ConductItem.objects.filter(county__isnull=True).count() >= 8
    assert ShopItem.objects.filter(county__isnull=True, code="G01").get().price == 40


def test_award_then_redeem_keeps_balance_totals_ledger_and_audit(cadre, household):
    first = award(cadre, household)  # C02: 10 points
    second = award(cadre, household, code="C01")  # 5 points
    assert (first.points, first.balance_after, second.balance_after) == (10, 10, 15)
    assert first.panel == "张三、李四、王五"  # names as typed, one separator
    spent = redeem(cadre, household, code="G04", quantity=1)  # 8 points
    assert (spent.points, spent.balance_after, spent.item.code) == (-8, 7, "G04")
    account = PointsAccount.objects.get(household=household)
    assert (account.balance, account.awarded, account.redeemed) == (7, 15, 8)
    assert account.area_code == household.area_code
    assert list(
        PointsEntry.objects.filter(household=household).order_by("id").values_list("points", flat=True)
    ) == [
        10,
        5,
        -8,
    ]
    audit = StatusChange.objects.filter(object_type="points", object_id=account.pk).order_by("id")
    assert [(a.action, a.from_status, a.to_status, a.actor_id) for a in audit] == [
        ("award", "0", "10", cadre.pk),
        ("award", "10", "15", cadre.pk),
        ("redeem", "15", "7", cadre.pk),
    ]
    assert audit[0].reason == "外出务工满三个月"


def test_a_redemption_beyond_the_balance_is_refused_and_writes_nothing(cadre, household):
    award(cadre, household)  # 10
    with pytest.raises(ValidationError) as exc:
        redeem(cadre, household, code="G02")  # 30 points
    assert exc.value.message_dict["quantity"] == ["积分不足：余额10分，需要30分。"]
    account = PointsAccount.objects.get(household=household)
    assert account.balance == 10 and account.redeemed == 0
    assert PointsEntry.objects.filter(kind="redeem").count() == 0
    # exactly the balance is allowed, and leaves zero
    assert redeem(cadre, household, code="G06", quantity=2).balance_after == 0  # 2 × 5


def test_a_redemption_before_any_award_is_refused(cadre, household):
    with pytest.raises(ValidationError) as exc:
        redeem(cadre, household, code="G05")
    assert "余额0分" in exc.value.message_dict["quantity"][0]


def test_the_database_refuses_a_negative_balance_whatever_writes_it(cadre, household):
    award(cadre, household)
    account = PointsAccount.objects.get(household=household)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAccount.objects.filter(pk=account.pk).update(balance=-1, redeemed=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        # a balance that does not add up to awarded minus redeemed
        PointsAccount.objects.filter(pk=account.pk).update(balance=50)
    assert PointsAccount.objects.get(pk=account.pk).balance == 10


def test_every_field_error_at_once(cadre, household):
    with pytest.raises(ValidationError) as exc:
        points.points_award(
            actor=cadre,
            household=household,
            conduct_code="X99",
            awarded_on=d(6, 16),
            reason=" ",
            panel="张三",
            now=NOW,
        )
    assert set(exc.value.message_dict) == {"conduct", "awarded_on", "reason", "panel"}
    with pytest.raises(ValidationError) as exc:
        points.points_redeem(
            actor=cadre, household=household, item_code="", quantity=0, redeemed_on=d(1, 1, 2025), now=NOW
        )
    assert set(exc.value.message_dict) == {"item", "quantity", "redeemed_on"}
    assert PointsEntry.objects.count() == 0


def test_only_the_village_cadre_of_the_household_records_points(areas, cadre, household, county_approver):
    with pytest.raises(NotAllowed):
        award(county_approver, household)
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v12"], username="cadre_v12")
    with pytest.raises(NotAllowed):
        award(other_cadre, household)
    with pytest.raises(NotAllowed):
        redeem(other_cadre, household)
    assert PointsEntry.objects.count() == 0


def test_a_county_with_its_own_lists_uses_only_those(areas, cadre, household):
    ConductItem.objects.create(county=areas["county"], code="J01", name="美丽庭院", points=20)
    ShopItem.objects.create(county=areas["county"], code="J01", name="电饭锅", unit="个", price=25)
    assert [c.code for c in points.conduct_items_for(household.area_code)] == ["J01"]
    with pytest.raises(ValidationError):
        award(cadre, household, code="C02")  # a default item: not this county's list
    assert award(cadre, household, code="J01").points == 20
    with pytest.raises(ValidationError):
        redeem(cadre, household, code="G08")  # a default good: not this county's shop
    with pytest.raises(ValidationError):
        redeem(cadre, household, code="J01")  # 25 > 20
    award(cadre, household, code="J01")
    assert redeem(cadre, household, code="J01").balance_after == 15
    # another county still uses the defaults
    assert [c.code for c in points.conduct_items_for("130728100201")][:2] == ["C01", "C02"]


def test_panel_names_are_split_on_the_usual_separators():
    assert points.panel_names("张三、李四，王五;赵六 钱七, 张三") == ["张三", "李四", "王五", "赵六", "钱七"]
    assert points.panel_names("") == []
