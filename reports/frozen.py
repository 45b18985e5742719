"""Freezing a month of a county's ledgers (月度台账封存) and comparing it with the live ones.

:func:`freeze_month` keeps the five ledgers of a county as they stood at the end of a month:
the households of ledgers 1–4 by their :class:`~monitoring.models.LedgerSpan` at that moment
(the village they were in then), with the columns a county hands upward copied from the
registry at the freeze (the month-end task runs in the first minutes of the next month), and
the clues of ledger 5 received by then. One ``INSERT … SELECT`` per ledger; signed off by the
actor (a county approver or an operator, or the system for the month-end task); a second freeze
of the same county and month is refused; each freeze appends a StatusChange row (who, when).
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DateField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.errors import Conflict, InvalidTransition, NotAllowed
from accounts.models import Area, AreaLevel, Role
from households.filters import code_range_q
from households.models import IncomeRecord
from monitoring.ledgers import HOUSEHOLD_LEDGERS, Ledger, end_of_day
from monitoring.models import OPEN_CASE_STATUSES, Clue, LedgerSpan, RiskType
from monitoring.rules import deadlines
from monitoring.services.audit import record_change
from monitoring.services.ledgers import insert_select
from reports import selectors
from reports.models import FrozenMonth, FrozenRow

FREEZE_ROLES = (Role.COUNTY_APPROVER, Role.OPERATOR)
ROW_COLUMNS = (
    "frozen_id",
    "ledger",
    "household_id",
    "clue_id",
    "number",
    "head_name",
    "area_code",
    "village_name",
    "household_type",
    "monitoring_category",
    "monitoring_status",
    "low_income_status",
    "member_count",
    "income_year",
    "per_capita_income",
    "risks",
    "found_date",
    "channel",
    "clue_status",
)


class JoinNames(Aggregate):
    """The names joined with "、" (``string_agg`` on PostgreSQL, ``group_concat`` on SQLite)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, '、')"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="STRING_AGG", **extra)


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def previous_month(today: dt.date) -> tuple[int, int]:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.year, first.month


def _check(actor, county: Area) -> None:
    if county.level != AreaLevel.COUNTY:
        raise InvalidTransition(_("只能按县封存台账。"))
    if actor is None:  # the month-end task
        return
    if not actor.has_role(*FREEZE_ROLES):
        raise NotAllowed(_("只有县级审定人员或系统管理员可以封存台账。"))
    if not actor.covers(county.code):
        raise NotAllowed(_("该县不在您的工作区域内。"))


def _text(value: str):
    return Value(value, output_field=CharField())


def _none(field=CharField):
    return Value(None, output_field=field())


def _household_rows(frozen: FrozenMonth, ledger: Ledger, moment: dt.datetime, prefix: str):
    latest_income = IncomeRecord.objects.filter(household=OuterRef("household_id")).order_by("-year")
    risks = (
        RiskType.objects.filter(
            cases__household=OuterRef("household_id"), cases__status__in=OPEN_CASE_STATUSES
        )
        .order_by()
        .values("cases__household")
        .annotate(names=JoinNames("name"))
        .values("names")
    )
    village = Area.objects.filter(code=OuterRef("area_code")).values("name")[:1]
    return (
        LedgerSpan.objects.at(moment)
        .filter(code_range_q("area_code", [prefix]), ledger=ledger)
        .order_by()
        .values_list(
            Value(frozen.pk, output_field=IntegerField()),
            _text(str(ledger)),
            "household_id",
            _none(IntegerField),
            "household__number",
            Coalesce("household__head__name", _text("")),
            "area_code",
            Coalesce(Subquery(village), _text("")),
            "household__household_type",
            "household__monitoring_category",
            "household__monitoring_status",
            "household__low_income_status",
            "household__member_count",
            Subquery(latest_income.values("year")[:1]),
            Subquery(latest_income.values("per_capita_net_income")[:1]),
            Coalesce(Subquery(risks), _text("")),
            _none(DateField),
            _text(""),
            _text(""),
        )
    )


def _clue_rows(frozen: FrozenMonth, moment: dt.datetime, prefix: str):
    village = Area.objects.filter(code=OuterRef("area_code")).values("name")[:1]
    return (
        Clue.objects.filter(code_range_q("area_code", [prefix]), received_at__lt=moment)
        .order_by()
        .values_list(
            Value(frozen.pk, output_field=IntegerField()),
            _text(str(Ledger.EARLY_WARNING)),
            "household_id",
            "pk",
            Coalesce("household__number", _text("")),
            Coalesce("name", _text("")),
            "area_code",
            Coalesce(Subquery(village), _text("")),
            Coalesce("household__household_type", _text("")),
            Coalesce("household__monitoring_category", _text("")),
            Coalesce("household__monitoring_status", _text("")),
            Coalesce("household__low_income_status", _text("")),
            Coalesce("household__member_count", Value(0, output_field=IntegerField())),
            _none(IntegerField),
            _none(IntegerField),
            _text(""),
            "found_date",
            "channel",
            "status",
        )
    )


def frozen_counts(rows) -> dict:
    """``{ledger: n, f"{ledger}_people": people}`` of frozen rows, in one aggregate."""
    aggregates = {}
    for ledger in Ledger:
        aggregates[str(ledger)] = Count("pk", filter=Q(ledger=ledger))
        if ledger in HOUSEHOLD_LEDGERS:
            aggregates[f"{ledger}_people"] = Coalesce(Sum("member_count", filter=Q(ledger=ledger)), 0)
    return rows.aggregate(**aggregates)


def freeze_month(*, county: Area, year: int, month: int, actor, now: dt.datetime) -> FrozenMonth:
    """Freeze the county's five ledgers as at the end of ``year``-``month`` (which must have
    ended by ``now``), signed off by ``actor`` (``None``: the month-end task). Refuses a second
    freeze of the same county and month."""
    _check(actor, county)
    if not (1 <= month <= 12 and 2000 < year < 2100):
        raise InvalidTransition(_("请选择有效的年月。"))
    last_day = month_end(year, month)
    moment = end_of_day(last_day)
    if moment > now:
        raise InvalidTransition(
            _("%(year)s年%(month)s月尚未结束，不能封存。") % {"year": year, "month": month}
        )
    done = FrozenMonth.objects.filter(county=county, year=year, month=month).first()
    if done is not None:
        raise Conflict(_already(done))
    signer = (actor.full_name or actor.username) if actor is not None else _("系统（月末自动封存）")
    try:
        with transaction.atomic():
            frozen = FrozenMonth.objects.create(
                county=county,
                year=year,
                month=month,
                as_of=last_day,
                frozen_at=now,
                frozen_by=actor,
                signed_by=signer[:50],
            )
            for ledger in HOUSEHOLD_LEDGERS:
                insert_select(FrozenRow, ROW_COLUMNS, _household_rows(frozen, ledger, moment, county.prefix))
            insert_select(FrozenRow, ROW_COLUMNS, _clue_rows(frozen, moment, county.prefix))
            frozen.counts = frozen_counts(FrozenRow.objects.filter(frozen=frozen))
            frozen.save(update_fields=["counts"])
            record_change(
                obj=frozen,
                object_type="frozen_month",
                action="freeze",
                from_status="",
                to_status="frozen",
                actor=actor,
                at=now,
                data={"county": county.code, "year": year, "month": month, "counts": frozen.counts},
            )
    except IntegrityError:
        done = FrozenMonth.objects.filter(county=county, year=year, month=month).first()
        if done is None:
            raise
        raise Conflict(_already(done)) from None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {FrozenRow._meta.db_table}")  # noqa: S608
    return frozen


def _already(done: FrozenMonth) -> str:
    return _("%(county)s%(year)s年%(month)s月的台账已于%(at)s由%(who)s封存，不能重复封存。") % {
        "county": done.county.name,
        "year": done.year,
        "month": done.month,
        "at": deadlines.local_date(done.frozen_at).isoformat(),
        "who": done.signed_by,
    }


def freeze_previous_month(*, now: dt.datetime, area_code: str = "", actor=None) -> dict:
    """The month-end task: freeze the month before ``now`` (Asia/Shanghai) for every county
    under ``area_code`` that has households and has not frozen it yet (idempotent). Run on
    demand (``actor``), only the counties the actor may freeze, signed off by them; an area
    below a county freezes nothing (a county is frozen whole)."""
    year, month = previous_month(deadlines.local_date(now))
    counties = Area.objects.filter(level=AreaLevel.COUNTY)
    if area_code:
        area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
        counties = counties.filter(code__startswith=area.prefix if area else area_code)
    if actor is not None:
        if not actor.has_role(*FREEZE_ROLES):
            counties = counties.none()
        elif not actor.sees_everything:
            counties = counties.filter(code__in=[c.code for c in counties if actor.covers(c.code)])
    frozen = skipped = 0
    for county in counties.order_by("code"):
        if FrozenMonth.objects.filter(county=county, year=year, month=month).exists():
            skipped += 1
            continue
        if not LedgerSpan.objects.filter(code_range_q("area_code", [county.prefix])).exists():
            continue
        try:
            freeze_month(county=county, year=year, month=month, actor=actor, now=now)
        except Conflict:  # frozen on demand meanwhile
            skipped += 1
            continue
        frozen += 1
    return {"year": year, "month": month, "frozen": frozen, "already_frozen": skipped}


# --- reading ------------------------------------------------------------------------------


def visible_rows(frozen: FrozenMonth, *, user, ledger: Ledger | str | None = None):
    rows = FrozenRow.objects.for_user(user).filter(frozen=frozen)
    return rows if ledger is None else rows.filter(ledger=ledger)


def difference(frozen: FrozenMonth, ledger: Ledger | str, *, user, area: str = "", limit: int = 20) -> dict:
    """The live ledger against the frozen one, in the user's part: how many households (ledgers
    1–4) or clues (ledger 5) have entered and left since, and the first ``limit`` of each."""
    ledger = Ledger(ledger)
    prefix = area or frozen.county.prefix
    frozen_rows = visible_rows(frozen, user=user, ledger=ledger).filter(code_range_q("area_code", [prefix]))
    if ledger == Ledger.EARLY_WARNING:
        live = selectors.ledger_clues(user=user, area=prefix)
        kept = frozen_rows.values("clue_id")
        entered = live.exclude(pk__in=kept)
        left = frozen_rows.exclude(clue_id__in=live.values("pk"))
    else:
        live = selectors.ledger_households(ledger, user=user, area=prefix)
        entered = live.exclude(pk__in=frozen_rows.values("household_id"))
        left = frozen_rows.exclude(household_id__in=live.values("pk"))
    return {
        "frozen": frozen_rows.count(),
        "live": live.count(),
        "entered": entered.count(),
        "left": left.count(),
        "entered_rows": list(entered.order_by("area_code", "pk")[:limit]),
        "left_rows": list(left.order_by("area_code", "number", "pk")[:limit]),
    }


def counts_for(user, months) -> dict[int, dict]:
    """Each frozen month's counts in the user's part (the whole county's are on the month)."""
    rows = (
        FrozenRow.objects.for_user(user)
        .filter(frozen__in=[m.pk for m in months])
        .values("frozen_id", "ledger")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: dict[int, dict] = {m.pk: {} for m in months}
    for row in rows:
        out[row["frozen_id"]][row["ledger"]] = row["n"]
    return out
