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

Ledgers 1–3 partition the households: each is in exactly one of them. The rule itself is
:mod:`monitoring.ledgers` (one definition for these selectors and the ledgers kept over time).

**As of a past date** (``as_of``): the ledgers as they stood at the end of that day
(Asia/Shanghai). Households: the :class:`~monitoring.models.LedgerSpan` rows that held at that
moment, read through one index (ledger, area code, dates); the rows are the households as they
are now (their current name, members and data), their membership as of the date. The caller's
scope and the area narrowing apply to the village the household was in on that date (a helper's
to the households assigned now). :func:`ledger_count` counts the spans alone, for a paginator.
Clues: those received by the end of the day.

Every reader is scoped by the caller's ``for_user`` and optionally narrowed to an area-code
prefix (``area``), which can only narrow the scope. :func:`ledger_counts` gives households and
people per ledger in one conditional aggregate over the households and one over the people
(plus the clues); :func:`year_exits` counts the year's risk eliminations by exit mode, since
counties report "N households / M people identified, K households / L people exited".
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.models import Role
from households.filters import code_range_q, with_scope_range
from households.models import Household, Person
from monitoring.ledgers import (  # noqa: F401 - the ledgers' names and rule, for the pages, API and exports
    HOUSEHOLD_LEDGERS,
    KEY_MONITORING_STATUSES,
    LEDGER_LABELS,
    Ledger,
    end_of_day,
    household_ledger_q,
    key_monitoring_q,
)
from monitoring.models import CaseStatus, Clue, ExitMode, LedgerSpan, MonitoringCase


def _narrow(qs, *, user, area: str, field: str = "area_code"):
    # the scope and the area also as code ranges, which an index on area_code can seek to
    qs = with_scope_range(qs, user, field)
    return qs.filter(Q(**{f"{field}__startswith": area}) & code_range_q(field, [area])) if area else qs


def scoped_households(*, user, area: str = "") -> QuerySet[Household]:
    """The households the user may see, narrowed to the area-code prefix ``area``."""
    return _narrow(Household.objects.for_user(user), user=user, area=area)


def scoped_clues(*, user, area: str = "") -> QuerySet[Clue]:
    return _narrow(Clue.objects.for_user(user), user=user, area=area)


def _by_span_area(user) -> bool | None:
    """How the as-of readers scope ``user``: ``True`` by the spans' area codes alone (users
    scoped by area, for whom ``Household.objects.for_user`` is exactly their areas' prefixes),
    ``None`` not at all (who sees everything), ``False`` through the households' ``for_user``
    (helpers see their assigned households, departments none)."""
    if user.is_authenticated and user.is_active and user.sees_everything:
        return None
    return user.is_authenticated and user.is_active and user.role not in (Role.HELPER, Role.DEPARTMENT)


def _spans_in_scope(spans: QuerySet[LedgerSpan], *, user, area: str) -> QuerySet[LedgerSpan]:
    by_area = _by_span_area(user)
    if by_area:
        spans = spans.filter(code_range_q("area_code", user.scope_prefixes()))
    elif by_area is False:
        spans = spans.filter(household__in=Household.objects.for_user(user))
    return spans.filter(Q(area_code__startswith=area) & code_range_q("area_code", [area])) if area else spans


def ledger_spans(ledger: Ledger | str, *, user, area: str = "", as_of: dt.date) -> QuerySet[LedgerSpan]:
    """The spans of ledger 1–4 that held at the end of ``as_of``, in the user's scope and
    ``area``, both by the village the household was in then (one range of the index
    ``(ledger, area_code, valid_from, valid_to, household)``)."""
    ledger = Ledger(ledger)
    if ledger not in HOUSEHOLD_LEDGERS:
        raise ValueError(f"{ledger} is not a household ledger")
    spans = LedgerSpan.objects.filter(ledger=ledger).at(end_of_day(as_of))
    return _spans_in_scope(spans, user=user, area=area)


def ledger_households(
    ledger: Ledger | str, *, user, area: str = "", as_of: dt.date | None = None
) -> QuerySet[Household]:
    """The rows of ledger 1–4 (unordered: the page or export orders them); with ``as_of``, the
    households in it at the end of that day (their data as they are now)."""
    if as_of is None:
        return scoped_households(user=user, area=area).filter(household_ledger_q(ledger))
    spans = ledger_spans(ledger, user=user, area=area, as_of=as_of)
    return Household.objects.filter(pk__in=spans.values("household_id"))


def ledger_count(ledger: Ledger | str, *, user, area: str = "", as_of: dt.date | None = None) -> int:
    """How many rows :func:`ledger_households` (or, for ledger 5, :func:`ledger_clues`) has:
    as of a date, a count of the spans alone (the index only, no household read), for a
    paginator's count."""
    if Ledger(ledger) == Ledger.EARLY_WARNING:
        return ledger_clues(user=user, area=area, as_of=as_of).count()
    if as_of is None:
        return ledger_households(ledger, user=user, area=area).count()
    return ledger_spans(ledger, user=user, area=area, as_of=as_of).count()


def ledger_clues(*, user, area: str = "", as_of: dt.date | None = None) -> QuerySet[Clue]:
    """The rows of ledger 5; with ``as_of``, the clues received by the end of that day."""
    clues = scoped_clues(user=user, area=area)
    return clues if as_of is None else clues.filter(received_at__lt=end_of_day(as_of))


def scoped_people(*, user, area: str = "") -> QuerySet[Person]:
    """The registry's people in the households the user may see (every member, as the national
    system counts a household's people), narrowed to ``area``."""
    return _narrow(Person.objects.for_user(user), user=user, area=area, field="household__area_code")


def ledger_counts(*, user, area: str = "", as_of: dt.date | None = None) -> dict[str, int]:
    """``{ledger: households}`` for the five ledgers and ``{f"{ledger}_people": people}`` for
    the four household ledgers, plus ``"households"`` and ``"people"`` (the totals, which
    ledgers 1–3 add up to). For the early-warning ledger the count is of clues, and
    ``early_warning_households`` / ``early_warning_people`` are the distinct households the
    clues name and their people. People are the households' ``member_count`` (every member in
    the registry), so this is two queries, neither of them over the people: one conditional
    aggregate over the households, one count of the clues."""
    if as_of is not None:
        return _ledger_counts_as_of(user=user, area=area, as_of=as_of)
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


def _ledger_counts_as_of(*, user, area: str, as_of: dt.date) -> dict[str, int]:
    """:func:`ledger_counts` at the end of ``as_of``: one aggregate over the spans that held
    then (joined to their households for the members), one over the clues' households, one
    count of the clues."""
    spans = _spans_in_scope(LedgerSpan.objects.at(end_of_day(as_of)), user=user, area=area)
    partition = Q(ledger__in=[Ledger.KEY_MONITORING, Ledger.STABLE_OUT_OF_POVERTY, Ledger.ORDINARY])
    aggregates = {}
    for ledger in HOUSEHOLD_LEDGERS:
        aggregates[str(ledger)] = Count("pk", filter=Q(ledger=ledger))
        aggregates[f"{ledger}_people"] = Coalesce(Sum("household__member_count", filter=Q(ledger=ledger)), 0)
    counts = spans.aggregate(
        households=Count("pk", filter=partition),
        people=Coalesce(Sum("household__member_count", filter=partition), 0),
        **aggregates,
    )
    clues = ledger_clues(user=user, area=area, as_of=as_of)
    warned = Household.objects.for_user(user).filter(pk__in=clues.values("household_id"))
    named = warned.aggregate(n=Count("pk"), people=Coalesce(Sum("member_count"), 0))
    counts["early_warning_households"], counts["early_warning_people"] = named["n"], named["people"]
    counts[str(Ledger.EARLY_WARNING)] = clues.count()
    return counts


def year_exits(*, user, area: str = "", year: int, as_of: dt.date | None = None) -> list[dict]:
    """The year's risk eliminations (风险消除) by exit mode: ``[{mode, households, people}]`` for
    every mode, in the order of :class:`~monitoring.models.ExitMode`, zeros included.

    A household is counted once per mode however many of its cases ended that year in it;
    people are the household's members in the registry now. One query."""
    cases = _narrow(MonitoringCase.objects.for_user(user), user=user, area=area).filter(
        status=CaseStatus.ELIMINATED, eliminated_on__year=year
    )
    if as_of is not None:
        cases = cases.filter(eliminated_on__lte=as_of)
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


def counts_report(*, user, area: str = "", year: int, as_of: dt.date | None = None) -> dict:
    """The counts a county reports upward, as the page, the API and the workbook show them:
    households and people per ledger (for the early-warning ledger, clues and the households
    and people they name) and the year's risk eliminations by mode. With ``as_of``, the
    ledgers at the end of that day and the eliminations of the year up to it."""
    counts = ledger_counts(user=user, area=area, as_of=as_of)
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
        for row in year_exits(user=user, area=area, year=year, as_of=as_of)
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
