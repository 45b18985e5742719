"""The county's figures (``/dashboard/``): one aggregate query each over the live tables.

Every figure is a function ``figure(*, user, area, today) -> dict`` that returns the rows a
chart, the table under it and the table's export all draw from::

    {"series": [{"key": ..., "label": {"zh-hans": ..., "en": ...}}, ...],
     "rows": [{"key": ..., "label": {"zh-hans": ..., "en": ...}, "values": [n, ...]}, ...]}

Labels are kept in both languages, because a figure is computed once (by the nightly
precompute, :mod:`reports.snapshots`) and read in the reader's language. ``user`` scopes the
rows as every page does (``for_user`` and the area-code prefix ``area``); ``user=None`` is the
system's own computation (the precompute), narrowed to ``area`` only. Rows are grouped by
the next area level below ``area`` (the townships of a county, the villages of a township).

Queries are set-based: each figure is one grouped or conditional aggregate (plus, at most,
one query for the names of the areas, procedures or categories it groups by); Python only
reshapes the aggregated rows, never one row per household.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, Max, Min, OuterRef, Q
from django.db.models.functions import Substr, TruncDate, TruncMonth
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Area
from households.filters import code_range_q, with_scope_range
from households.models import HelperAssignment, Household, MonitoringCategory
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    ExitMode,
    MeasureCategory,
    MeasureStatus,
    MonitoringCase,
    ProcedureDefinition,
    RiskType,
    StepStatus,
    Visit,
)
from monitoring.rules.deadlines import SHANGHAI
from monitoring.services.visits import VISIT_DUE_STATUSES
from reports.selectors import HOUSEHOLD_LEDGERS, LEDGER_LABELS, household_ledger_q

#: How many months the monthly figures cover (the current month included).
MONTHS = 12
#: Identification durations, in days, as the distribution groups them (upper bounds).
DURATION_BUCKETS = (5, 10, 15, 20, 30, 45)
#: The helpers listed in "visits per helper": those with the most households not yet visited.
HELPER_ROWS = 30


def both(text) -> dict[str, str]:
    """A translatable text in every language of the site."""
    out = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            out[code] = str(text)
    return out


def same(text: str) -> dict[str, str]:
    return {code: text for code, _name in settings.LANGUAGES}


def named(name: str, name_en: str) -> dict[str, str]:
    """A stored row's name (``name`` / ``name_en``) in every language."""
    return {code: (name_en or name) if code == "en" else name for code, _n in settings.LANGUAGES}


def scoped_rows(model, *, user, area: str, field: str = "area_code"):
    """``model``'s rows the user may see (all rows for the system, ``user=None``), narrowed to
    the area-code prefix ``area`` (also as a code range an index can seek to)."""
    qs = model.objects.all() if user is None else with_scope_range(model.objects.for_user(user), user, field)
    return qs.filter(Q(**{f"{field}__startswith": area}) & code_range_q(field, [area])) if area else qs


def child_length(area: str) -> int:
    """Code length of the level the figures of ``area`` are grouped by."""
    if not area:
        return 6
    return 9 if len(area) <= 6 else 12


def _area_names(prefixes) -> dict[str, str]:
    codes = {p.ljust(12, "0"): p for p in prefixes if p}
    return {codes[c]: n for c, n in Area.objects.filter(code__in=list(codes)).values_list("code", "name")}


def _area_rows(groups: dict[str, list]) -> list[dict]:
    """Rows per sub-area, in code order, named by the area table."""
    names = _area_names(groups)
    return [
        {"key": code, "label": same(names.get(code, code)), "values": groups[code]}
        for code in sorted(groups)
        if code
    ]


def month_starts(today: dt.date, count: int = MONTHS) -> list[dt.date]:
    """The first days of the last ``count`` months, oldest first, ending with ``today``'s."""
    y, m = today.year, today.month
    out = []
    for _i in range(count):
        out.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def month_end(start: dt.date, today: dt.date) -> dt.date:
    nxt = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return min(nxt - dt.timedelta(days=1), today)


def _month_label(d: dt.date) -> dict[str, str]:
    return same(f"{d.year}-{d.month:02d}")


def _as_month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.replace(day=1)


def _series(items) -> list[dict]:
    return [{"key": str(k), "label": label} for k, label in items]


def _month_rows(months, counts: dict[tuple[dt.date, str], int], keys) -> list[dict]:
    return [
        {"key": m.isoformat(), "label": _month_label(m), "values": [counts.get((m, k), 0) for k in keys]}
        for m in months
    ]


# --- households per ledger ----------------------------------------------------------------------


def ledger_households(*, user, area: str, today: dt.date) -> dict:
    """Households per household ledger and sub-area, by the ledgers' own rule
    (:func:`reports.selectors.household_ledger_q`): one conditional aggregate."""
    width = child_length(area)
    rows = (
        scoped_rows(Household, user=user, area=area)
        .annotate(g=Substr("area_code", 1, width))
        .order_by()
        .values("g")
        .annotate(
            **{str(ledger): Count("pk", filter=household_ledger_q(ledger)) for ledger in HOUSEHOLD_LEDGERS}
        )
    )
    groups = {r["g"]: [r[str(ledger)] for ledger in HOUSEHOLD_LEDGERS] for r in rows}
    return {
        "series": _series((ledger, both(LEDGER_LABELS[ledger])) for ledger in HOUSEHOLD_LEDGERS),
        "rows": _area_rows(groups),
    }


# --- clues per month ----------------------------------------------------------------------------


def _per_month(queryset, *, day: str, key: str, choices, count, today: dt.date) -> dict:
    """``queryset``'s rows of the last 12 months counted (``count``) per month of ``day`` and
    value of ``key``, one series per value of ``choices`` (a TextChoices class)."""
    months = month_starts(today)
    rows = (
        queryset.filter(**{f"{day}__gte": months[0], f"{day}__lte": today})
        .annotate(month=TruncMonth(day))
        .order_by()
        .values("month", key)
        .annotate(n=count)
    )
    counts = {(_as_month(r["month"]), r[key]): r["n"] for r in rows}
    keys = list(choices.values)
    return {
        "series": _series((k, both(choices(k).label)) for k in keys),
        "rows": _month_rows(months, counts, keys),
    }


def clues_by_channel(*, user, area: str, today: dt.date) -> dict:
    """Clues per month of the risk's discovery (``found_date``) and channel, the last 12 months."""
    clues = scoped_rows(Clue, user=user, area=area)
    return _per_month(clues, day="found_date", key="channel", choices=Channel, count=Count("pk"), today=today)


def clues_by_risk(*, user, area: str, today: dt.date) -> dict:
    """Clues per month and risk type, the last 12 months (a clue naming two risk types counts
    under each)."""
    months = month_starts(today)
    rows = (
        scoped_rows(Clue, user=user, area=area)
        .filter(found_date__gte=months[0], found_date__lte=today, risk_types__isnull=False)
        .annotate(month=TruncMonth("found_date"))
        .order_by()
        .values("month", "risk_types__code")
        .annotate(n=Count("pk"))
    )
    counts = {(_as_month(r["month"]), r["risk_types__code"]): r["n"] for r in rows}
    present = {code for _m, code in counts}
    types = [
        (code, named(name, en))
        for code, name, en in RiskType.objects.filter(code__in=present)
        .order_by("code")
        .values_list("code", "name", "name_en")
    ]
    keys = [code for code, _label in types]
    return {"series": _series(types), "rows": _month_rows(months, counts, keys)}


# --- identification durations -------------------------------------------------------------------


def _identified(*, user, area: str, today: dt.date, by: str):
    """Cases identified in the last 12 months grouped by ``by`` and their duration in days
    (identification date minus the Shanghai date the case was opened): ``[(group, days,
    cases, on_time, limit)]``, on time meaning identified by the case's due date. One query."""
    months = month_starts(today)
    days = ExpressionWrapper(
        F("identified_on") - TruncDate("opened_at", tzinfo=SHANGHAI), output_field=DurationField()
    )
    rows = (
        scoped_rows(MonitoringCase, user=user, area=area)
        .filter(identified_on__isnull=False, identified_on__gte=months[0], identified_on__lte=today)
        .annotate(g=F(by) if by != "area" else Substr("area_code", 1, child_length(area)), days=days)
        .order_by()
        .values("g", "days")
        .annotate(
            n=Count("pk"),
            on_time=Count("pk", filter=Q(identified_on__lte=F("due_date"))),
            limit=Max("limit_days"),
        )
    )
    out = []
    for r in rows:
        d = r["days"]
        d = d.days if isinstance(d, dt.timedelta) else int(d or 0)
        out.append((r["g"], max(d, 0), r["n"], r["on_time"], r["limit"]))
    return out


def _bucket_labels() -> list[tuple[str, dict]]:
    labels, low = [], 0
    for high in DURATION_BUCKETS:
        labels.append((f"{low}-{high}", both(_("%(low)s–%(high)s天") % {"low": low, "high": high})))
        low = high + 1
    labels.append((f"{low}-", both(_("%(low)s天以上") % {"low": low})))
    return labels


def _bucket(days: int) -> int:
    for i, high in enumerate(DURATION_BUCKETS):
        if days <= high:
            return i
    return len(DURATION_BUCKETS)


def identification_duration(*, user, area: str, today: dt.date) -> dict:
    """The distribution of identification durations (cases identified in the last 12 months),
    split into those identified within their time limit and those after it."""
    buckets = _bucket_labels()
    values = [[0, 0] for _b in buckets]
    for _g, days, n, on_time, _limit in _identified(user=user, area=area, today=today, by="area"):
        values[_bucket(days)][0] += on_time
        values[_bucket(days)][1] += n - on_time
    return {
        "series": _series([("on_time", both(_("按期办结"))), ("late", both(_("超期办结")))]),
        "rows": [
            {"key": key, "label": label, "values": v} for (key, label), v in zip(buckets, values, strict=True)
        ],
    }


def identification_on_time(*, user, area: str, today: dt.date) -> dict:
    """Per sub-area: cases identified in the last 12 months, how many within their limit, the
    share on time (%) and the average duration in days."""

    groups: dict[str, list] = defaultdict(lambda: [0, 0, 0])
    for g, days, n, on_time, _limit in _identified(user=user, area=area, today=today, by="area"):
        groups[g][0] += n
        groups[g][1] += on_time
        groups[g][2] += days * n
    done = {
        g: [n, on, round(100 * on / n, 1) if n else 0, round(total / n, 1) if n else 0]
        for g, (n, on, total) in groups.items()
    }
    return {
        "series": _series(
            [
                ("identified", both(_("识别办结户数"))),
                ("on_time", both(_("按期办结户数"))),
                ("share", both(_("按期办结率（%）"))),
                ("average_days", both(_("平均用时（天）"))),
            ]
        ),
        "rows": _area_rows(done),
    }


def _median(counts: dict[int, int]) -> float:
    """The (lower) median of durations given as ``{days: cases}``."""
    total = sum(counts.values())
    seen = 0
    for days in sorted(counts):
        seen += counts[days]
        if 2 * seen >= total:
            return days
    return 0


def procedure_durations(*, user, area: str, today: dt.date) -> dict:
    """The identification procedures compared on real durations (the serial and the
    overlapped one, or whichever the county used): per procedure, cases identified in the last
    12 months, their time limit, average and median duration in days and share on time."""
    per: dict[int, dict] = defaultdict(
        lambda: {"n": 0, "on": 0, "total": 0, "limit": 0, "days": defaultdict(int)}
    )
    for pid, days, n, on_time, limit in _identified(user=user, area=area, today=today, by="procedure_id"):
        p = per[pid]
        p["n"] += n
        p["on"] += on_time
        p["total"] += days * n
        p["limit"] = max(p["limit"], limit or 0)
        p["days"][days] += n
    names = {
        pk: named(name, en)
        for pk, name, en in ProcedureDefinition.objects.filter(pk__in=list(per)).values_list(
            "pk", "name", "name_en"
        )
    }
    rows = [
        {
            "key": str(pid),
            "label": names.get(pid, same(str(pid))),
            "values": [
                p["n"],
                p["limit"],
                round(p["total"] / p["n"], 1) if p["n"] else 0,
                _median(p["days"]),
                round(100 * p["on"] / p["n"], 1) if p["n"] else 0,
            ],
        }
        for pid, p in sorted(per.items())
    ]
    return {
        "series": _series(
            [
                ("identified", both(_("识别办结户数"))),
                ("limit", both(_("时限（天）"))),
                ("average_days", both(_("平均用时（天）"))),
                ("median_days", both(_("中位用时（天）"))),
                ("share", both(_("按期办结率（%）"))),
            ]
        ),
        "rows": rows,
    }


def step_durations(*, user, area: str, today: dt.date) -> dict:
    """Per identification procedure and step: the average days the completed steps took
    (cases opened in the last 12 months) against the step's limit. One grouped query."""
    months = month_starts(today)
    rows = (
        scoped_rows(CaseStep, user=user, area=area, field="case__area_code")
        .filter(
            procedure_kind="identification",
            status=StepStatus.DONE,
            duration_days__isnull=False,
            case__opened_at__date__gte=months[0],
        )
        .order_by()
        .values("case__procedure_id", "code")
        .annotate(
            avg=Avg("duration_days"),
            limit=Max("time_limit_days"),
            n=Count("pk"),
            sort=Min("sort_order"),
            name=Min("name"),
            name_en=Min("name_en"),
        )
        .order_by("case__procedure_id", "sort", "code")
    )
    rows = list(rows)
    procs = {
        pk: named(name, en)
        for pk, name, en in ProcedureDefinition.objects.filter(
            pk__in={r["case__procedure_id"] for r in rows}
        ).values_list("pk", "name", "name_en")
    }
    out = []
    for r in rows:
        proc = procs.get(r["case__procedure_id"], same(""))
        step = named(r["name"] or r["code"], r["name_en"] or "")
        out.append(
            {
                "key": f"{r['case__procedure_id']}:{r['code']}",
                # the step first: a phone's axis shortens the label from its end
                "label": {code: f"{step[code]} · {proc[code]}" for code in step},
                "values": [round(float(r["avg"] or 0), 1), r["limit"], r["n"]],
            }
        )
    return {
        "series": _series(
            [
                ("average_days", both(_("平均用时（天）"))),
                ("limit", both(_("时限（天）"))),
                ("steps", both(_("办结步骤数"))),
            ]
        ),
        "rows": out,
    }


# --- visits ---------------------------------------------------------------------------------------


def _visited_this_month(today: dt.date, household_field: str = "household_id"):
    return Exists(
        Visit.objects.filter(
            household_id=OuterRef(household_field),
            visited_on__gte=today.replace(day=1),
            visited_on__lte=today,
        )
    )


def visits_by_area(*, user, area: str, today: dt.date) -> dict:
    """Per sub-area: households owing this month's helper visit (their case is monitored, on
    provisional assistance, tracked or exiting) and how many of them were visited this month."""
    width = child_length(area)
    rows = (
        scoped_rows(MonitoringCase, user=user, area=area)
        .filter(status__in=VISIT_DUE_STATUSES)
        .annotate(g=Substr("area_code", 1, width), visited=_visited_this_month(today))
        .order_by()
        .values("g")
        .annotate(
            due=Count("household_id", distinct=True),
            done=Count("household_id", distinct=True, filter=Q(visited=True)),
        )
    )
    groups = {r["g"]: [r["due"], r["done"]] for r in rows}
    return {
        "series": _series([("due", both(_("应走访户数"))), ("done", both(_("本月已走访户数")))]),
        "rows": _area_rows(groups),
    }


def visits_by_helper(*, user, area: str, today: dt.date) -> dict:
    """Per helper (the 30 with the most households not yet visited this month): the
    households assigned to them that owe this month's visit and those visited."""
    due_cases = MonitoringCase.objects.filter(status__in=VISIT_DUE_STATUSES).values("household_id")
    rows = (
        scoped_rows(HelperAssignment, user=user, area=area, field="household__area_code")
        .active(today)
        .filter(household_id__in=due_cases)
        .annotate(visited=_visited_this_month(today))
        .order_by()
        .values("helper_id", "helper__name")
        .annotate(
            due=Count("household_id", distinct=True),
            done=Count("household_id", distinct=True, filter=Q(visited=True)),
        )
        .order_by(F("done") - F("due"), "helper__name", "helper_id")[:HELPER_ROWS]
    )
    return {
        "series": _series([("due", both(_("应走访户数"))), ("done", both(_("本月已走访户数")))]),
        "rows": [
            {"key": str(r["helper_id"]), "label": same(r["helper__name"]), "values": [r["due"], r["done"]]}
            for r in rows
        ],
    }


# --- measures, exits, monitored households -------------------------------------------------------


def measures_by_category(*, user, area: str, today: dt.date) -> dict:
    """Assistance measures by category and status (all plans, whatever their date)."""
    rows = (
        scoped_rows(AssistanceMeasure, user=user, area=area, field="case__area_code")
        .order_by()
        .values("measure__category_id", "status")
        .annotate(n=Count("pk"))
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        counts[r["measure__category_id"]][r["status"]] = r["n"]
    keys = list(MeasureStatus.values)
    cats = MeasureCategory.objects.filter(pk__in=list(counts)).order_by("sort_order", "code")
    return {
        "series": _series((s, both(MeasureStatus(s).label)) for s in keys),
        "rows": [
            {
                "key": c.code,
                "label": named(c.name, c.name_en),
                "values": [counts[c.pk].get(k, 0) for k in keys],
            }
            for c in cats
        ],
    }


def exits_by_mode(*, user, area: str, today: dt.date) -> dict:
    """Households whose risk was eliminated, per month of elimination and exit mode, the last 12
    months."""
    eliminated = scoped_rows(MonitoringCase, user=user, area=area).filter(status=CaseStatus.ELIMINATED)
    households = Count("household_id", distinct=True)
    return _per_month(
        eliminated, day="eliminated_on", key="exit_mode", choices=ExitMode, count=households, today=today
    )


def monitored_over_time(*, user, area: str, today: dt.date) -> dict:
    """Monitored households by category at each month end of the last 12 months (the current
    month: today).

    Source: the monitoring cases' own dates. A household counts at a month end when one of
    its cases was identified on or before it and not eliminated by then (``eliminated_on``
    empty or later), under that case's category. Cases never identified (still in the
    procedure, or not included) never count. One conditional aggregate: a distinct count per
    month end and category. When the ledgers' membership history exists, it can replace this
    source without changing the figure's rows."""
    months = month_starts(today)
    ends = [month_end(m, today) for m in months]
    cats = list(MonitoringCategory.values)
    aggregates = {
        f"m{i}_{cat}": Count(
            "household_id",
            distinct=True,
            filter=Q(category=cat, identified_on__lte=end)
            & (Q(eliminated_on__isnull=True) | Q(eliminated_on__gt=end)),
        )
        for i, end in enumerate(ends)
        for cat in cats
    }
    totals = (
        scoped_rows(MonitoringCase, user=user, area=area)
        .filter(identified_on__isnull=False, identified_on__lte=today)
        .exclude(eliminated_on__lte=months[0] - dt.timedelta(days=1))
        .aggregate(**aggregates)
    )
    return {
        "series": _series((c, both(MonitoringCategory(c).label)) for c in cats),
        "rows": [
            {"key": m.isoformat(), "label": _month_label(m), "values": [totals[f"m{i}_{c}"] for c in cats]}
            for i, m in enumerate(months)
        ],
    }


# --- identification scores against decisions -----------------------------------------------------


def score_vs_decision(*, user, area: str, today: dt.date) -> dict:
    """Per sub-area: the scored cases decided so far — identified (审定纳入) and not included
    (不予纳入) — and their average identification score, so the county sees how the score
    relates to the reviewers' decisions. One grouped query."""
    identified = Q(identified_at__isnull=False)
    rejected = Q(status=CaseStatus.NOT_INCLUDED)
    rows = (
        scoped_rows(MonitoringCase, user=user, area=area)
        .filter(score__isnull=False)
        .filter(identified | rejected)
        .annotate(g=Substr("area_code", 1, child_length(area)))
        .order_by()
        .values("g")
        .annotate(
            n_in=Count("pk", filter=identified),
            avg_in=Avg("score", filter=identified),
            n_out=Count("pk", filter=rejected),
            avg_out=Avg("score", filter=rejected),
        )
    )

    def avg(value) -> float:
        return round(float(value), 1) if value is not None else 0

    groups = {r["g"]: [r["n_in"], avg(r["avg_in"]), r["n_out"], avg(r["avg_out"])] for r in rows}
    return {
        "series": _series(
            [
                ("identified", both(_("纳入监测户数"))),
                ("identified_score", both(_("纳入监测户平均评分"))),
                ("not_included", both(_("不予纳入户数"))),
                ("not_included_score", both(_("不予纳入户平均评分"))),
            ]
        ),
        "rows": _area_rows(groups),
    }


# --- the registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    title: object
    compute: Callable[..., dict]
    #: "bar" (grouped), "stack" (stacked bars), "line", "hbar" (horizontal bars)
    chart: str = "bar"
    x_name: object = ""
    y_name: object = ""
    #: series drawn on the chart (indexes into ``series``); the table shows them all
    plotted: tuple[int, ...] | None = None
    note: object = ""


FIGURES: tuple[Figure, ...] = (
    Figure(
        "ledger_households",
        _("各台账农户数"),
        ledger_households,
        chart="hbar",
        y_name=_("户数"),
        note=_("按五本台账的认定规则实时统计；前三本台账互不重叠，低收入群体与之交叉。"),
    ),
    Figure(
        "clues_by_channel", _("每月风险线索（按来源）"), clues_by_channel, chart="stack", y_name=_("条数")
    ),
    Figure("clues_by_risk", _("每月风险线索（按风险类型）"), clues_by_risk, chart="stack", y_name=_("条数")),
    Figure(
        "identification_duration",
        _("识别用时分布（近12个月办结）"),
        identification_duration,
        chart="stack",
        y_name=_("户数"),
        note=_("用时为识别监测日期减启动识别日期；按期指在案件办结期限内识别。"),
    ),
    Figure(
        "identification_on_time",
        _("识别按期办结率"),
        identification_on_time,
        chart="hbar",
        plotted=(2,),
        y_name=_("百分比"),
    ),
    Figure(
        "procedure_durations",
        _("串联与叠加识别程序实际用时对比"),
        procedure_durations,
        chart="hbar",
        plotted=(1, 2, 3),
        y_name=_("天"),
    ),
    Figure(
        "step_durations",
        _("识别各步骤平均用时"),
        step_durations,
        chart="hbar",
        plotted=(0, 1),
        y_name=_("天"),
    ),
    Figure("visits_by_area", _("本月走访：应走访与已走访"), visits_by_area, chart="hbar", y_name=_("户数")),
    Figure(
        "visits_by_helper",
        _("本月走访（按帮扶责任人，未走访最多的30人）"),
        visits_by_helper,
        chart="hbar",
        y_name=_("户数"),
    ),
    Figure(
        "measures_by_category",
        _("帮扶措施（按类别和状态）"),
        measures_by_category,
        chart="hbar",
        y_name=_("项数"),
    ),
    Figure("exits_by_mode", _("每月风险消除（按消除方式）"), exits_by_mode, chart="stack", y_name=_("户数")),
    Figure(
        "score_vs_decision",
        _("识别评分与审定结果"),
        score_vs_decision,
        chart="hbar",
        plotted=(1, 3),
        y_name=_("平均评分"),
        note=_("已审定的案件按启动识别时的评分分组：纳入监测与不予纳入户的平均评分。评分只供审核参考。"),
    ),
    Figure(
        "monitored_over_time",
        _("各类监测对象户数（月末）"),
        monitored_over_time,
        chart="line",
        y_name=_("户数"),
        note=_("按监测案件的识别日期和风险消除日期推算每月末在监测的农户。"),
    ),
)
FIGURES_BY_KEY = {f.key: f for f in FIGURES}


def compute_all(*, user, area: str, today: dt.date) -> dict[str, dict]:
    """Every figure of ``area``: ``{key: data}``."""
    return {f.key: f.compute(user=user, area=area, today=today) for f in FIGURES}


def localize(data: dict, language: str) -> dict:
    """A figure's stored rows in ``language``: ``{"series": [label], "rows": [[label, *values]]}``."""

    def pick(label: dict) -> str:
        return label.get(language) or label.get(settings.LANGUAGE_CODE) or next(iter(label.values()), "")

    return {
        "series": [pick(s["label"]) for s in data.get("series", [])],
        "rows": [[pick(r["label"]), *r["values"]] for r in data.get("rows", [])],
    }
