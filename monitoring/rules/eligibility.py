"""Risk-elimination eligibility (风险消除条件): a checklist over plain facts (domain §4.1, §7.3).

All must hold (帮扶消除, through assistance):

* ``secured_tracking``: not a household without labour capacity on safety-net support
  (整户无劳动能力兜底保障户): such a household is not marked eliminated, it moves to secured
  tracking (兜底保障跟踪) instead;
* ``min_months``: monitored at least ``min_months`` (default 6) since identification —
  identified on 31 January, eligible from 31 July (:func:`earliest_exit_date`);
* ``income_above_threshold``: per-capita net income at or above the year's monitoring line;
* ``income_stable``: per-capita net income has not fallen by more than a share
  (:data:`DEFAULT_MAX_INCOME_DROP`) from the year before;
* ``guarantees``: 两不愁三保障 and safe drinking water secured;
* ``no_open_risk``: no clue waiting to be looked at, no procedure left open;
* ``development_measures``: at least one development measure implemented;
* ``monitoring_contact``: a monitoring contact and phone recorded (rule 1_11_011).

Natural elimination (自然消除) skips the 6-month rule and the development-measure rule.
:func:`check_exit` is pure; :func:`eligibility_for_case` gathers the facts from the database;
:func:`eligibility_for_cases` does so for many cases at once (the year-end assessment of a
county) in a number of queries that does not grow with the number of cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.texts import join_list, localized_name
from monitoring.rules.deadlines import add_months, months_between

ASSISTANCE = "assistance"
NATURAL = "natural"

#: Income counts as stable when it has not fallen by more than this share from the year before.
DEFAULT_MAX_INCOME_DROP = Decimal("0.20")

GUARANTEE_LABELS = {
    "food_clothing_secure": gettext_lazy("吃穿不愁"),
    "compulsory_education_secure": gettext_lazy("义务教育有保障"),
    "medical_insurance_secure": gettext_lazy("基本医疗有保障"),
    "housing_secure": gettext_lazy("住房安全有保障"),
    "drinking_water_secure": gettext_lazy("饮水安全有保障"),
}
GUARANTEE_FIELDS = tuple(GUARANTEE_LABELS)

SECURED_TRACKING = "secured_tracking"
MIN_MONTHS = "min_months"
INCOME_ABOVE_THRESHOLD = "income_above_threshold"
INCOME_STABLE = "income_stable"
GUARANTEES = "guarantees"
NO_OPEN_RISK = "no_open_risk"
DEVELOPMENT_MEASURES = "development_measures"
MONITORING_CONTACT = "monitoring_contact"


@dataclass(frozen=True)
class ExitFacts:
    """What the check looks at, as plain data."""

    mode: str
    today: dt.date
    identified_on: dt.date | None
    min_months: int = 6
    income_year: int | None = None
    per_capita_income: Decimal | None = None
    threshold: Decimal | None = None
    threshold_year: int | None = None
    previous_per_capita: Decimal | None = None
    max_income_drop: Decimal = DEFAULT_MAX_INCOME_DROP
    #: the five flags (:data:`GUARANTEE_FIELDS`) → secured? A missing flag counts as secured.
    guarantees: Mapping[str, bool] = field(default_factory=dict)
    #: where the guarantee flags come from, shown with a failure (e.g. the last visit's date)
    guarantee_source: str = ""
    #: one line per open risk (a clue waiting for triage, an open procedure …)
    open_risks: Sequence[str] = ()
    development_measures_implemented: int = 0
    monitoring_contact: str = ""
    monitoring_contact_phone: str = ""
    no_labour_safety_net: bool = False


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "label": str(self.label), "ok": self.ok, "detail": str(self.detail)}


@dataclass(frozen=True)
class Eligibility:
    mode: str
    criteria: tuple[Criterion, ...]

    @property
    def eligible(self) -> bool:
        return all(c.ok for c in self.criteria)

    @property
    def failed(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.ok]

    @property
    def secured_tracking(self) -> bool:
        """The household should move to secured tracking rather than be eliminated."""
        return any(c.code == SECURED_TRACKING and not c.ok for c in self.criteria)

    def get(self, code: str) -> Criterion | None:
        return next((c for c in self.criteria if c.code == code), None)

    def as_list(self) -> list[dict]:
        """For ``ExitAssessment.checks`` (JSON)."""
        return [c.as_dict() for c in self.criteria]


def earliest_exit_date(identified_on: dt.date, min_months: int) -> dt.date:
    """The first day 帮扶消除 is allowed: same day ``min_months`` later (clamped to month end)."""
    return add_months(identified_on, min_months)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _secured_tracking(f: ExitFacts) -> Criterion:
    label = _("非整户无劳动能力兜底保障户")
    if f.no_labour_safety_net:
        return Criterion(
            SECURED_TRACKING,
            label,
            False,
            _("整户无劳动能力兜底保障户不标记风险消除，应转为兜底保障跟踪。"),
        )
    return Criterion(SECURED_TRACKING, label, True)


def _min_months(f: ExitFacts) -> Criterion:
    label = _("识别后监测满%(n)s个月") % {"n": f.min_months}
    if f.identified_on is None:
        return Criterion(MIN_MONTHS, label, False, _("尚未完成识别纳入，没有识别监测日期。"))
    earliest = earliest_exit_date(f.identified_on, f.min_months)
    months = max(months_between(f.identified_on, f.today), 0)
    if f.today < earliest:
        return Criterion(
            MIN_MONTHS,
            label,
            False,
            _("识别后仅%(months)s个月，须满%(min)s个月（%(date)s起符合）")
            % {"months": months, "min": f.min_months, "date": earliest.isoformat()},
        )
    return Criterion(
        MIN_MONTHS,
        label,
        True,
        _("识别于%(date)s，已监测%(months)s个月") % {"date": f.identified_on.isoformat(), "months": months},
    )


def _income_above_threshold(f: ExitFacts) -> Criterion:
    label = _("人均纯收入不低于当年监测线")
    if f.per_capita_income is None:
        return Criterion(INCOME_ABOVE_THRESHOLD, label, False, _("没有可用的家庭人均纯收入记录。"))
    if f.threshold is None:
        return Criterion(
            INCOME_ABOVE_THRESHOLD,
            label,
            False,
            _("未设置%(year)s年的监测线。") % {"year": f.threshold_year or f.today.year},
        )
    values = {
        "year": f.income_year or "",
        "income": _money(f.per_capita_income),
        "threshold": _money(f.threshold),
    }
    if f.per_capita_income < f.threshold:
        return Criterion(
            INCOME_ABOVE_THRESHOLD,
            label,
            False,
            _("%(year)s年人均纯收入%(income)s元，低于监测线%(threshold)s元") % values,
        )
    return Criterion(
        INCOME_ABOVE_THRESHOLD,
        label,
        True,
        _("%(year)s年人均纯收入%(income)s元，监测线%(threshold)s元") % values,
    )


def _income_stable(f: ExitFacts) -> Criterion:
    label = _("收入稳定")
    if f.per_capita_income is None:
        return Criterion(INCOME_STABLE, label, False, _("没有可用的家庭人均纯收入记录。"))
    previous_year = (f.income_year - 1) if f.income_year else None
    if f.previous_per_capita is None:
        return Criterion(
            INCOME_STABLE,
            label,
            False,
            _("缺少上年（%(year)s年）收入记录，无法判断收入是否稳定。") % {"year": previous_year or ""},
        )
    if f.previous_per_capita <= 0 or f.per_capita_income >= f.previous_per_capita:
        return Criterion(
            INCOME_STABLE,
            label,
            True,
            _("人均纯收入%(income)s元，上年%(previous)s元")
            % {"income": _money(f.per_capita_income), "previous": _money(f.previous_per_capita)},
        )
    drop = (f.previous_per_capita - f.per_capita_income) / f.previous_per_capita
    values = {
        "income": _money(f.per_capita_income),
        "previous": _money(f.previous_per_capita),
        "drop": f"{drop * 100:.0f}",
        "max": f"{f.max_income_drop * 100:.0f}",
    }
    if drop > f.max_income_drop:
        return Criterion(
            INCOME_STABLE,
            label,
            False,
            _("人均纯收入%(income)s元，较上年%(previous)s元下降%(drop)s%%，超过%(max)s%%") % values,
        )
    return Criterion(
        INCOME_STABLE,
        label,
        True,
        _("人均纯收入%(income)s元，较上年%(previous)s元下降%(drop)s%%，未超过%(max)s%%") % values,
    )


def _guarantees(f: ExitFacts) -> Criterion:
    label = _("“两不愁三保障”及饮水安全有保障")
    missing = [str(GUARANTEE_LABELS[k]) for k in GUARANTEE_FIELDS if not f.guarantees.get(k, True)]
    if missing:
        detail = _("未达到：%(items)s") % {"items": join_list(missing)}
        if f.guarantee_source:
            detail = _("%(detail)s（%(source)s）") % {"detail": detail, "source": f.guarantee_source}
        return Criterion(GUARANTEES, label, False, detail)
    return Criterion(GUARANTEES, label, True)


def _no_open_risk(f: ExitFacts) -> Criterion:
    label = _("无新增风险")
    if f.open_risks:
        return Criterion(
            NO_OPEN_RISK,
            label,
            False,
            ngettext(
                "尚有%(n)s项风险未处理：%(items)s", "尚有%(n)s项风险未处理：%(items)s", len(f.open_risks)
            )
            % {"n": len(f.open_risks), "items": join_list(f.open_risks, "；", "; ")},
        )
    return Criterion(NO_OPEN_RISK, label, True)


def _development_measures(f: ExitFacts) -> Criterion:
    label = _("已落实开发式帮扶措施")
    if f.development_measures_implemented <= 0:
        return Criterion(
            DEVELOPMENT_MEASURES,
            label,
            False,
            _("尚未落实任何开发式帮扶措施（产业、就业、金融、公益岗位）。"),
        )
    return Criterion(
        DEVELOPMENT_MEASURES,
        label,
        True,
        _("已落实%(n)s项") % {"n": f.development_measures_implemented},
    )


def _monitoring_contact(f: ExitFacts) -> Criterion:
    label = _("已登记监测联系人及联系电话")
    missing = []
    if not (f.monitoring_contact or "").strip():
        missing.append(_("监测联系人"))
    if not (f.monitoring_contact_phone or "").strip():
        missing.append(_("监测联系人电话"))
    if missing:
        return Criterion(
            MONITORING_CONTACT, label, False, _("未登记：%(items)s") % {"items": join_list(missing)}
        )
    return Criterion(MONITORING_CONTACT, label, True)


def check_exit(facts: ExitFacts) -> Eligibility:
    """The checklist for ``facts.mode`` (帮扶消除 ``assistance`` or 自然消除 ``natural``)."""
    if facts.mode not in (ASSISTANCE, NATURAL):
        raise ValueError(f"unknown exit mode {facts.mode!r}")
    criteria = [_secured_tracking(facts)]
    if facts.mode == ASSISTANCE:
        criteria.append(_min_months(facts))
    criteria += [
        _income_above_threshold(facts),
        _income_stable(facts),
        _guarantees(facts),
        _no_open_risk(facts),
    ]
    if facts.mode == ASSISTANCE:
        criteria.append(_development_measures(facts))
    criteria.append(_monitoring_contact(facts))
    return Eligibility(mode=facts.mode, criteria=tuple(criteria))


# ---------------------------------------------------------------------------------------------
# From the database
# ---------------------------------------------------------------------------------------------


#: How many of a household's latest income records are looked at (newest first).
_INCOME_ROWS = 5


def _pick_incomes(rows):
    """From a household's latest records (newest first, at most :data:`_INCOME_ROWS`): the
    latest with a per-capita net income, and the record of the year before it."""
    current = next((r for r in rows if r.per_capita_net_income is not None), None)
    previous = None
    if current is not None:
        previous = next((r for r in rows if r.year == current.year - 1), None)
    return current, previous


def _incomes(household, today: dt.date):
    from households.models import IncomeRecord

    rows = IncomeRecord.objects.filter(household=household, year__lte=today.year).order_by("-year")
    return _pick_incomes(list(rows[:_INCOME_ROWS]))


def _guarantees_after(household, last_visit) -> tuple[dict[str, bool], str]:
    """The registry's flags, overruled by ``last_visit`` (the last visit since identification,
    or ``None``) where the visit found a problem."""
    flags = {k: bool(getattr(household, k)) for k in GUARANTEE_FIELDS}
    source = ""
    if last_visit is not None:
        bad_in_visit = [k for k in GUARANTEE_FIELDS if not getattr(last_visit, k)]
        for k in bad_in_visit:
            flags[k] = False
        if bad_in_visit:
            source = _("最近一次走访%(date)s记录") % {"date": last_visit.visited_on.isoformat()}
    return flags, source


def _guarantee_facts(case, household) -> tuple[dict[str, bool], str]:
    """The registry's flags, and the last visit since identification: a flag is secured only
    if both say so (a visit that found a problem blocks the exit until a later visit)."""
    from monitoring.models import Visit

    since = case.identified_on or case.found_date
    visits = Visit.objects.filter(household=household)
    if since:
        visits = visits.filter(visited_on__gte=since)
    last = visits.order_by("-visited_on", "-id").first()
    return _guarantees_after(household, last)


def _risk_lines(clues, open_steps: int) -> list[str]:
    """One line per clue waiting for triage (``clues`` in found-date order, risk types
    prefetched), and one for an unfinished identification procedure."""
    out: list[str] = []
    for clue in clues:
        names = join_list(localized_name(rt) for rt in clue.risk_types.all())
        out.append(
            _("%(date)s发现的风险线索（%(risks)s）待研判")
            % {"date": clue.found_date.isoformat(), "risks": names or _("未注明")}
        )
    if open_steps:
        out.append(
            ngettext(
                "识别程序尚未办结（%(n)s个步骤未完成）", "识别程序尚未办结（%(n)s个步骤未完成）", open_steps
            )
            % {"n": open_steps}
        )
    return out


def _open_risks(case, household) -> list[str]:
    from monitoring.models import ClueStatus, StepStatus

    clues = (
        household.clues.filter(status__in=[ClueStatus.PENDING, ClueStatus.UNMATCHED])
        .prefetch_related("risk_types")
        .order_by("found_date", "id")
    )
    open_steps = case.steps.filter(
        procedure_kind="identification", status__in=[StepStatus.WAITING, StepStatus.AVAILABLE]
    ).count()
    return _risk_lines(clues, open_steps)


def _make_facts(
    case,
    *,
    today: dt.date,
    mode: str,
    settings,
    incomes,
    threshold_of,
    guarantees: tuple[dict[str, bool], str],
    open_risks: Sequence[str],
    development: int,
) -> ExitFacts:
    """Assemble :class:`ExitFacts` from what was gathered; ``threshold_of(year)`` gives the
    case's :class:`~monitoring.models.IncomeThreshold` for a year (or ``None``)."""
    household = case.household
    current, previous = incomes
    threshold = threshold_of(today.year)
    threshold_year = today.year
    if threshold is None and current is not None:
        threshold = threshold_of(current.year)
        threshold_year = current.year
    flags, source = guarantees
    return ExitFacts(
        mode=mode,
        today=today,
        identified_on=case.identified_on or household.identified_on,
        min_months=settings.min_months_before_exit,
        max_income_drop=Decimal(settings.max_income_drop_percent) / 100,
        income_year=current.year if current else None,
        per_capita_income=current.per_capita_net_income if current else None,
        threshold=threshold.amount if threshold else None,
        threshold_year=threshold_year,
        previous_per_capita=previous.per_capita_net_income if previous else None,
        guarantees=flags,
        guarantee_source=source,
        open_risks=tuple(open_risks),
        development_measures_implemented=development,
        monitoring_contact=household.monitoring_contact,
        monitoring_contact_phone=household.monitoring_contact_phone,
        no_labour_safety_net=household.no_labour_safety_net,
    )


def exit_facts_for_case(case, *, today: dt.date, mode: str = ASSISTANCE, settings=None) -> ExitFacts:
    """Gather the facts of :func:`check_exit` for a case."""
    from monitoring.county import settings_for, threshold_for
    from monitoring.models import MeasureStatus

    household = case.household
    settings = settings or settings_for(case.area_code)
    incomes = _incomes(household, today)
    guarantees = _guarantee_facts(case, household)
    development = case.measures.filter(
        status=MeasureStatus.IMPLEMENTED, measure__category__kind="development"
    ).count()
    return _make_facts(
        case,
        today=today,
        mode=mode,
        settings=settings,
        incomes=incomes,
        threshold_of=lambda year: threshold_for(case.area_code, year),
        guarantees=guarantees,
        open_risks=_open_risks(case, household),
        development=development,
    )


def eligibility_for_case(case, *, today: dt.date, mode: str = ASSISTANCE, settings=None) -> Eligibility:
    """The exit checklist of a case on ``today`` (Asia/Shanghai date)."""
    return check_exit(exit_facts_for_case(case, today=today, mode=mode, settings=settings))


# ---------------------------------------------------------------------------------------------
# Many cases at once (the year-end assessment of a county)
# ---------------------------------------------------------------------------------------------


def _case_scope(cases):
    """``cases`` as a queryset of :class:`~monitoring.models.MonitoringCase` usable in
    subqueries, and the order of the input (``None`` for a queryset: its own order)."""
    from django.db.models import QuerySet

    from monitoring.models import MonitoringCase

    if (
        isinstance(cases, QuerySet)
        and cases.model is MonitoringCase
        and not cases.query.is_sliced
        and not cases.query.combinator
    ):
        return cases, None
    ids = list(dict.fromkeys(c.pk for c in cases))
    return MonitoringCase.objects.filter(pk__in=ids), ids


def exit_facts_for_cases(cases, *, today: dt.date, mode: str = ASSISTANCE) -> dict[int, ExitFacts]:
    """Facts for many cases at once (case id -> ExitFacts), in a fixed number of queries.

    The same facts as :func:`exit_facts_for_case` gives for each case. ``cases`` is a queryset
    or a list of cases; they are read again (with their households). The queries do not grow
    with the number of cases: the cases (with the id of the last visit since identification),
    those visits, the income records, the development measures, the open identification steps
    and the clues waiting for triage (with their risk types); then the settings once per
    county and a threshold once per county and year.

    Pass a queryset for a whole county: it is used as a subquery. A list is filtered by its
    ids, and the last visits are read by id: one parameter per case (SQLite allows 32,766
    since 3.32).
    """
    from django.db.models import Count, F, OuterRef, Subquery, Window
    from django.db.models.functions import Coalesce, RowNumber

    from households.models import IncomeRecord
    from monitoring.county import county_code_of, settings_for, threshold_for
    from monitoring.models import (
        AssistanceMeasure,
        CaseStep,
        Clue,
        ClueStatus,
        MeasureStatus,
        StepStatus,
        Visit,
    )

    scope, order = _case_scope(cases)
    if order is not None and not order:
        return {}
    last_visit = (
        Visit.objects.filter(household_id=OuterRef("household_id"), visited_on__gte=OuterRef("elig_since"))
        .order_by("-visited_on", "-id")
        .values("pk")[:1]
    )
    # found_date is required, so "since" is never empty (the per-case query's ``if since``).
    loaded = list(
        scope.select_related("household")
        .alias(elig_since=Coalesce("identified_on", "found_date"))
        .annotate(elig_last_visit=Subquery(last_visit))
    )
    if not loaded:
        return {}
    by_id = {c.pk: c for c in loaded}
    case_ids = scope.values("pk")
    household_ids = scope.values("household_id")

    visit_ids = [c.elig_last_visit for c in by_id.values() if c.elig_last_visit is not None]
    visits = {v.pk: v for v in Visit.objects.filter(pk__in=visit_ids)} if visit_ids else {}

    incomes: dict[int, list] = {}
    ranked = (
        IncomeRecord.objects.filter(household_id__in=household_ids, year__lte=today.year)
        .annotate(elig_rank=Window(RowNumber(), partition_by=[F("household_id")], order_by=F("year").desc()))
        .filter(elig_rank__lte=_INCOME_ROWS)
        .order_by("household_id", "-year")
    )
    for record in ranked:
        incomes.setdefault(record.household_id, []).append(record)

    development = dict(
        AssistanceMeasure.objects.filter(
            case_id__in=case_ids,
            status=MeasureStatus.IMPLEMENTED,
            measure__category__kind="development",
        )
        .order_by()
        .values("case_id")
        .annotate(n=Count("pk"))
        .values_list("case_id", "n")
    )
    open_steps = dict(
        CaseStep.objects.filter(
            case_id__in=case_ids,
            procedure_kind="identification",
            status__in=[StepStatus.WAITING, StepStatus.AVAILABLE],
        )
        .order_by()
        .values("case_id")
        .annotate(n=Count("pk"))
        .values_list("case_id", "n")
    )
    clues: dict[int, list] = {}
    pending = (
        Clue.objects.filter(
            household_id__in=household_ids, status__in=[ClueStatus.PENDING, ClueStatus.UNMATCHED]
        )
        .prefetch_related("risk_types")
        .order_by("found_date", "id")
    )
    for clue in pending:
        clues.setdefault(clue.household_id, []).append(clue)

    settings_by_county: dict[str, object] = {}
    thresholds: dict[tuple[str, int], object] = {}

    def county_settings(county: str):
        if county not in settings_by_county:
            settings_by_county[county] = settings_for(county)
        return settings_by_county[county]

    def threshold(county: str, year: int):
        if (county, year) not in thresholds:
            thresholds[county, year] = threshold_for(county, year)
        return thresholds[county, year]

    out: dict[int, ExitFacts] = {}
    for case_id in order if order is not None else list(by_id):
        case = by_id.get(case_id)
        if case is None:  # a case of the list that is no longer there
            continue
        county = county_code_of(case.area_code)
        out[case.pk] = _make_facts(
            case,
            today=today,
            mode=mode,
            settings=county_settings(county),
            incomes=_pick_incomes(incomes.get(case.household_id, [])),
            threshold_of=lambda year, county=county: threshold(county, year),
            guarantees=_guarantees_after(case.household, visits.get(case.elig_last_visit)),
            open_risks=_risk_lines(clues.get(case.household_id, []), open_steps.get(case.pk, 0)),
            development=development.get(case.pk, 0),
        )
    return out


def eligibility_for_cases(cases, *, today: dt.date, mode: str = ASSISTANCE) -> dict[int, Eligibility]:
    """The exit checklist of many cases at once (case id -> Eligibility), see
    :func:`exit_facts_for_cases`."""
    facts = exit_facts_for_cases(cases, today=today, mode=mode)
    return {case_id: check_exit(f) for case_id, f in facts.items()}
