"""The five ledgers of Yangyuan (五本台账) as selectors over the registry and the workflow.

They are views of one source of truth, never copies: a household is in the ledger its data
puts it in. The same functions serve the API's counts, the pages and the Excel exports.

1. 重点监测对象 (key monitoring subjects): households being monitored or tracked on safety-net
   support (``monitoring_status`` monitored / secured_tracking), and any household whose case
   is in the exit procedure (it stays a monitoring subject until the exit is approved).
   Households still being identified are not yet in it; eliminated ones have left it.
2. 稳定脱贫户 (stably out-of-poverty): 脱贫户 not in ledger 1.
3. 一般农户 (ordinary rural households): 一般农户 not in ledger 1.
4. 低收入群体 (low-income population): households with a low-income status (低保, 特困,
   低保边缘, 支出型困难), whichever of ledgers 1–3 they are in.
5. 预警信息 (early-warning information): the risk clues, whatever became of them.

Ledgers 1–3 partition the households: each is in exactly one of them.

Every reader is scoped by the caller's ``for_user`` and optionally narrowed to an area-code
prefix (``area``), which can only narrow the scope. :func:`ledger_counts` gives households and
people per ledger in one conditional aggregate over the households and one over the people
(plus the clues); :func:`year_exits` counts the year's risk eliminations by exit mode, since
counties report "N households / M people identified, K households / L people exited".
"""

from __future__ import annotations

import enum

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from households.filters import code_range_q, with_scope_range
from households.models import Household, HouseholdType, MonitoringStatus, Person
from monitoring.models import CaseStatus, Clue, ExitMode, MonitoringCase


class Ledger(enum.StrEnum):
    KEY_MONITORING = "key_monitoring"
    STABLE_OUT_OF_POVERTY = "stable_out_of_poverty"
    ORDINARY = "ordinary"
    LOW_INCOME = "low_income"
    EARLY_WARNING = "early_warning"


LEDGER_LABELS = {
    Ledger.KEY_MONITORING: _("重点监测对象"),
    Ledger.STABLE_OUT_OF_POVERTY: _("稳定脱贫户"),
    Ledger.ORDINARY: _("一般农户"),
    Ledger.LOW_INCOME: _("低收入群体"),
    Ledger.EARLY_WARNING: _("预警信息"),
}

#: The ledgers whose rows are households (the fifth is clues).
HOUSEHOLD_LEDGERS = (
    Ledger.KEY_MONITORING,
    Ledger.STABLE_OUT_OF_POVERTY,
    Ledger.ORDINARY,
    Ledger.LOW_INCOME,
)
KEY_MONITORING_STATUSES = (MonitoringStatus.MONITORED, MonitoringStatus.SECURED_TRACKING)


def key_monitoring_q(prefix: str = "") -> Q:
    """Ledger 1's rule, as a condition on ``Household`` (or, with ``prefix="household__"``, on
    a row that points to one, such as a ``Person``)."""
    exiting = MonitoringCase.objects.filter(status=CaseStatus.EXIT_IN_PROGRESS).values("household_id")
    return Q(**{f"{prefix}monitoring_status__in": KEY_MONITORING_STATUSES}) | Q(
        **{f"{prefix}pk__in": exiting}
    )


def household_ledger_q(ledger: Ledger | str, prefix: str = "") -> Q:
    """The condition that puts a household in one of the household ledgers (``prefix`` as in
    :func:`key_monitoring_q`)."""
    ledger = Ledger(ledger)
    if ledger == Ledger.KEY_MONITORING:
        return key_monitoring_q(prefix)
    if ledger == Ledger.STABLE_OUT_OF_POVERTY:
        return Q(**{f"{prefix}household_type": HouseholdType.OUT_OF_POVERTY}) & ~key_monitoring_q(prefix)
    if ledger == Ledger.ORDINARY:
        return Q(**{f"{prefix}household_type": HouseholdType.ORDINARY}) & ~key_monitoring_q(prefix)
    if ledger == Ledger.LOW_INCOME:
        return ~Q(**{f"{prefix}low_income_status": ""})
    raise ValueError(f"{ledger} is not a household ledger")


def _narrow(qs, *, user, area: str, field: str = "area_code"):
    # the scope and the area also as code ranges, which an index on area_code can seek to
    qs = with_scope_range(qs, user, field)
    return qs.filter(Q(**{f"{field}__startswith": area}) & code_range_q(field, [area])) if area else qs


def scoped_households(*, user, area: str = "") -> QuerySet[Household]:
    """The households the user may see, narrowed to the area-code prefix ``area``."""
    return _narrow(Household.objects.for_user(user), user=user, area=area)


def scoped_clues(*, user, area: str = "") -> QuerySet[Clue]:
    return _narrow(Clue.objects.for_user(user), user=user, area=area)


def ledger_households(ledger: Ledger | str, *, user, area: str = "") -> QuerySet[Household]:
    """The rows of ledger 1–4 (unordered: the page or export orders them)."""
    return scoped_households(user=user, area=area).filter(household_ledger_q(ledger))


def ledger_clues(*, user, area: str = "") -> QuerySet[Clue]:
    """The rows of ledger 5."""
    return scoped_clues(user=user, area=area)


def scoped_people(*, user, area: str = "") -> QuerySet[Person]:
    """The registry's people in the households the user may see (every member, as the national
    system counts a household's people), narrowed to ``area``."""
    return _narrow(Person.objects.for_user(user), user=user, area=area, field="household__area_code")


def ledger_counts(*, user, area: str = "") -> dict[str, int]:
    """``{ledger: households}`` for the five ledgers and ``{f"{ledger}_people": people}`` for
    the four household ledgers, plus ``"households"`` and ``"people"`` (the totals, which
    ledgers 1–3 add up to). For the early-warning ledger the count is of clues, and
    ``early_warning_households`` / ``early_warning_people`` are the distinct households the
    clues name and their people. People are the households' ``member_count`` (every member in
    the registry), so this is two queries, neither of them over the people: one conditional
    aggregate over the households, one count of the clues."""
    clues = ledger_clues(user=user, area=area)
    warned = Q(pk__in=clues.values("household_id"))
    aggregates = {str(ledger): Count("pk", filter=household_ledger_q(ledger)) for ledger in HOUSEHOLD_LEDGERS}
    people = {
        f"{ledger}_people": Coalesce(Sum("member_count", filter=household_ledger_q(ledger)), 0)
        for ledger in HOUSEHOLD_LEDGERS
    }
    counts = scoped_households(user=user, area=area).aggregate(
        households=Count("pk"),
        people=Coalesce(Sum("member_count"), 0),
        early_warning_households=Count("pk", filter=warned),
        early_warning_people=Coalesce(Sum("member_count", filter=warned), 0),
        **aggregates,
        **people,
    )
    counts[str(Ledger.EARLY_WARNING)] = clues.count()
    return counts


def year_exits(*, user, area: str = "", year: int) -> list[dict]:
    """The year's risk eliminations (风险消除) by exit mode: ``[{mode, households, people}]`` for
    every mode, in the order of :class:`~monitoring.models.ExitMode`, zeros included.

    A household is counted once per mode however many of its cases ended that year in it;
    people are the household's members in the registry now. One query."""
    cases = _narrow(MonitoringCase.objects.for_user(user), user=user, area=area).filter(
        status=CaseStatus.ELIMINATED, eliminated_on__year=year
    )
    rows = {
        row["exit_mode"]: row
        for row in cases.order_by()
        .values("exit_mode")
        .annotate(
            households=Count("household_id", distinct=True),
            people=Count("household__members", distinct=True),
        )
    }
    empty = {"households": 0, "people": 0}
    return [
        {"mode": str(mode), **{k: rows.get(mode, empty)[k] for k in ("households", "people")}}
        for mode in ExitMode
    ]


def counts_report(*, user, area: str = "", year: int) -> dict:
    """The counts a county reports upward, as the page, the API and the workbook show them:
    households and people per ledger (for the early-warning ledger, clues and the households
    and people they name) and the year's risk eliminations by mode."""
    counts = ledger_counts(user=user, area=area)
    ledgers = []
    for ledger in Ledger:
        key = str(ledger)
        warning = ledger == Ledger.EARLY_WARNING
        households = counts[f"{key}_households"] if warning else counts[key]
        ledgers.append(
            {
                "ledger": key,
                "label": str(LEDGER_LABELS[ledger]),
                "count": counts[key],
                "households": households,
                "people": counts[f"{key}_people"],
            }
        )
    modes = [
        {**row, "label": str(ExitMode(row["mode"]).label)}
        for row in year_exits(user=user, area=area, year=year)
    ]
    return {
        "area": area,
        "households": counts["households"],
        "people": counts["people"],
        "ledgers": ledgers,
        "exits": {
            "year": year,
            "households": sum(m["households"] for m in modes),
            "people": sum(m["people"] for m in modes),
            "modes": modes,
        },
    }
