"""Motivation points (扶志积分): the village panel's awards and the point shop's redemptions.

``points_award`` and ``points_redeem`` are the only writers of a household's points. Each
locks the household's account (``select_for_update``), checks the actor's role and area and
every field (all errors at once), moves the stored balance and the totals, and appends one
``PointsEntry`` (the ledger) and one ``StatusChange`` (the audit log: balance before → after).
A redemption larger than the balance is refused here; the database's ``CHECK`` constraints
(``points_balance_not_negative``, ``points_balance_adds_up``) refuse it whatever writes the row,
so two redemptions at the same moment can never both spend the same points.

Which conduct items and goods apply is the county's list when it has one, else the defaults.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.errors import Conflict, ValidationError
from accounts.models import Role
from households.models import Household

from ..county import county_code_of
from ..models import ConductItem, PointsAccount, PointsEntry, PointsEntryKind, ShopItem
from ..rules.deadlines import local_date
from .audit import record_change, require_area, require_role

#: who records the panel's awards and the shop's redemptions (the village's cadres)
WRITE_ROLES = (Role.VILLAGE_CADRE,)
#: who reads the village's points and its ledger
READ_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)
#: a panel is at least this many people (the recorder names them)
PANEL_MIN = 2
#: an award or redemption may be recorded up to this many days after it happened
BACKDATE_DAYS = 366
MAX_QUANTITY = 99


def _county_list(model, area_code: str) -> QuerySet:
    rows = model.objects.filter(is_active=True)
    own = rows.filter(county__code=county_code_of(area_code))
    return own if own.exists() else rows.filter(county__isnull=True)


def conduct_items_for(area_code: str) -> QuerySet:
    """The county's conduct list (its own rows if it has any, else the defaults), active only."""
    return _county_list(ConductItem, area_code).order_by("sort_order", "code")


def shop_items_for(area_code: str) -> QuerySet:
    """The county's point-shop goods (its own rows if it has any, else the defaults), active only."""
    return _county_list(ShopItem, area_code).order_by("sort_order", "code")


def panel_names(panel: str) -> list[str]:
    """The panel members typed as one line: names separated by commas, 、, semicolons or spaces."""
    text = panel or ""
    for sep in ("，", "、", "；", ";", ","):
        text = text.replace(sep, " ")
    names: list[str] = []
    for name in text.split():
        if name not in names:
            names.append(name)
    return names


def _check_date(errors: dict, field: str, value, now: dt.datetime) -> None:
    today = local_date(now)
    if value is None:
        errors[field] = _("请填写日期。")
    elif value > today:
        errors[field] = _("日期不能晚于今天。")
    elif value < today - dt.timedelta(days=BACKDATE_DAYS):
        errors[field] = _("只能登记一年以内的积分。")


def _lock_account(household: Household) -> PointsAccount:
    """The household's account, locked for this transaction (made at the first award)."""
    Household.objects.select_for_update().filter(pk=household.pk).values_list("pk").first()
    account, _created = PointsAccount.objects.select_for_update().get_or_create(
        household=household, defaults={"area_code": household.area_code}
    )
    if account.area_code != household.area_code:  # the household moved village
        account.area_code = household.area_code
    return account


def _write(
    account: PointsAccount, entry: PointsEntry, *, actor, now: dt.datetime, reason: str
) -> PointsEntry:
    before = account.balance
    account.balance += entry.points
    if entry.points > 0:
        account.awarded += entry.points
    else:
        account.redeemed += -entry.points
    account.updated_at = now
    entry.balance_after = account.balance
    try:  # the service's transaction is undone with the refusal: no savepoint needed
        account.save(update_fields=["balance", "awarded", "redeemed", "area_code", "updated_at"])
        entry.save()
    except IntegrityError:
        raise Conflict(_("积分余额不足，未兑换。"), code="points_overdrawn") from None
    record_change(
        obj=account,
        object_type="points",
        action=entry.kind,
        from_status=str(before),
        to_status=str(account.balance),
        actor=actor,
        reason=reason,
        data={"entry": entry.pk, "points": entry.points, "household": account.household_id},
        at=now,
    )
    return entry


@transaction.atomic
def points_award(
    *,
    actor,
    household: Household,
    conduct_code: str,
    awarded_on: dt.date | None,
    reason: str,
    panel: str,
    now: dt.datetime,
) -> PointsEntry:
    """The panel awards a household the points of one listed conduct."""
    require_role(actor, *WRITE_ROLES)
    require_area(actor, household.area_code)
    errors: dict[str, str] = {}
    conduct = conduct_items_for(household.area_code).filter(code=conduct_code or "").first()
    if conduct is None:
        errors["conduct"] = _("请从本县的评分项中选择。")
    _check_date(errors, "awarded_on", awarded_on, now)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("请填写加分事由。")
    names = panel_names(panel)
    if len(names) < PANEL_MIN:
        errors["panel"] = _("请填写至少%(n)d名评议小组成员。") % {"n": PANEL_MIN}
    if errors:
        raise ValidationError(errors)
    account = _lock_account(household)
    entry = PointsEntry(
        account=account,
        household=household,
        area_code=household.area_code,
        kind=PointsEntryKind.AWARD,
        conduct=conduct,
        points=conduct.points,
        occurred_on=awarded_on,
        reason=reason[:300],
        panel="、".join(names)[:300],
        recorded_by=actor if actor is not None and actor.pk else None,
        recorded_at=now,
    )
    return _write(account, entry, actor=actor, now=now, reason=reason)


@transaction.atomic
def points_redeem(
    *,
    actor,
    household: Household,
    item_code: str,
    quantity: int | None,
    redeemed_on: dt.date | None,
    note: str = "",
    now: dt.datetime,
) -> PointsEntry:
    """The household spends points on goods of the village shop; never below a zero balance."""
    require_role(actor, *WRITE_ROLES)
    require_area(actor, household.area_code)
    errors: dict[str, str] = {}
    item = shop_items_for(household.area_code).filter(code=item_code or "").first()
    if item is None:
        errors["item"] = _("请从本县积分超市的商品中选择。")
    if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
        errors["quantity"] = _("数量应为1至%(max)d。") % {"max": MAX_QUANTITY}
    _check_date(errors, "redeemed_on", redeemed_on, now)
    if errors:
        raise ValidationError(errors)
    account = _lock_account(household)
    cost = item.price * quantity
    if cost > account.balance:
        raise ValidationError(
            {
                "quantity": _("积分不足：余额%(balance)d分，需要%(cost)d分。")
                % {"balance": account.balance, "cost": cost}
            }
        )
    entry = PointsEntry(
        account=account,
        household=household,
        area_code=household.area_code,
        kind=PointsEntryKind.REDEEM,
        item=item,
        quantity=quantity,
        points=-cost,
        occurred_on=redeemed_on,
        reason=(note or "").strip()[:300],
        recorded_by=actor if actor is not None and actor.pk else None,
        recorded_at=now,
    )
    return _write(account, entry, actor=actor, now=now, reason=entry.reason or item.name)
