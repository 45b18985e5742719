"""The data-quality run (数据质量清洗: screen → correct → screen again) and the findings' status.

``data_quality(now=, area_code=)`` runs every active rule over the households of an area (a
county, township or village; "" = every county): each rule's condition is one set-based query
giving household ids; a household newly found gets an open finding, one found again has its
``last_found_at`` moved, an open finding no longer found is closed as fixed (screened again).
A finding someone explained stays explained. Idempotent for the same data.

``finding_resolve`` is the one write of a finding's status by a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, AreaLevel, Role
from households.models import ABLE_TO_WORK, Household, HouseholdType, IncomeRecord, MonitoringCategory, Person
from households.models import MonitoringStatus as HS

from ..models import AssistanceMeasure, CaseStatus, ExitMode, MonitoringCase
from ..models.quality import FindingStatus, QualityCondition, QualityFinding, QualityRule

#: households the monitoring concerns (identified at some point)
MONITORED = (HS.MONITORED, HS.SECURED_TRACKING, HS.ELIMINATED)
#: cases past identification
IDENTIFIED_CASES = (
    CaseStatus.MONITORED,
    CaseStatus.SECURED_TRACKING,
    CaseStatus.EXIT_IN_PROGRESS,
    CaseStatus.ELIMINATED,
)
RESOLVE_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)


def _latest_incomes(households: QuerySet) -> QuerySet:
    latest = (
        IncomeRecord.objects.filter(household_id=OuterRef("household_id"))
        .order_by()
        .values("household_id")
        .annotate(y=Max("year"))
        .values("y")
    )
    return IncomeRecord.objects.filter(household__in=households, year=Subquery(latest))


def _cases(households: QuerySet) -> QuerySet:
    return MonitoringCase.objects.filter(household__in=households, status__in=IDENTIFIED_CASES)


# One function per condition: households (of ``households``) the rule finds, as a queryset of ids.


def per_capita_above_at_entry(households, params, now):
    return IncomeRecord.objects.filter(
        household__in=households.filter(
            monitoring_status__in=MONITORED, identified_on__year__gte=params.get("from_year", 2023)
        ),
        year=F("household__identified_on__year"),
        per_capita_net_income__gt=params.get("limit", 20000),
    ).values("household_id")


def wages_between(households, params, now):
    return (
        _latest_incomes(households)
        .filter(wages__gte=params.get("min", 1), wages__lte=params.get("max", 99))
        .values("household_id")
    )


def per_capita_below(households, params, now):
    return (
        _latest_incomes(households.filter(monitoring_status=HS.NONE))
        .filter(per_capita_net_income__lt=params.get("limit", 4000))
        .values("household_id")
    )


def land_outside(households, params, now):
    return households.filter(
        Q(cultivated_land_mu__lt=params.get("min", 0)) | Q(cultivated_land_mu__gt=params.get("max", 100))
    ).values("id")


def no_labour_not_flagged(households, params, now):
    able = Person.objects.filter(household_id=OuterRef("pk"), labour_capacity__in=ABLE_TO_WORK)
    return (
        households.filter(monitoring_status__in=MONITORED, member_count__gt=0, no_labour_safety_net=False)
        .filter(~Exists(able))
        .values("id")
    )


def risk_without_measure(households, params, now):
    measure = AssistanceMeasure.objects.filter(
        case_id=OuterRef("pk"), measure__category__code=params.get("category")
    )
    return (
        _cases(households)
        .filter(risk_types__code=params.get("risk"))
        .filter(~Exists(measure))
        .values("household_id")
    )


def early_assistance_exit(households, params, now):
    span = ExpressionWrapper(F("eliminated_on") - F("identified_on"), output_field=DurationField())
    return (
        MonitoringCase.objects.filter(
            household__in=households,
            exit_mode=ExitMode.ASSISTANCE,
            eliminated_on__isnull=False,
            identified_on__isnull=False,
        )
        .annotate(span=span)
        .filter(span__lt=dt.timedelta(days=params.get("days", 61)))
        .values("household_id")
    )


def dates_missing(households, params, now):
    return households.filter(
        Q(monitoring_status__in=MONITORED, identified_on__isnull=True)
        | Q(monitoring_status=HS.ELIMINATED, eliminated_on__isnull=True)
    ).values("id")


def risk_count(households, params, now):
    return (
        _cases(households)
        .annotate(n=Count("risk_types"))
        .filter(Q(n__lt=params.get("min", 1)) | Q(n__gt=params.get("max", 5)))
        .values("household_id")
    )


def no_measure_within(households, params, now):
    limit = dt.timedelta(days=params.get("days", 30))
    deadline = ExpressionWrapper(F("identified_at") + limit, output_field=DateTimeField())
    return (
        _cases(households)
        .filter(identified_at__isnull=False, identified_at__lte=now - limit)
        .annotate(first=Min("measures__created_at"))
        .filter(Q(first__isnull=True) | Q(first__gt=deadline))
        .values("household_id")
    )


def category_type(households, params, now):
    return households.filter(
        Q(monitoring_category=MonitoringCategory.UNSTABLE) & ~Q(household_type=HouseholdType.OUT_OF_POVERTY)
        | Q(monitoring_category=MonitoringCategory.MARGINAL, household_type=HouseholdType.OUT_OF_POVERTY)
    ).values("id")


CHECKS: dict[str, Callable] = {
    QualityCondition.PER_CAPITA_ABOVE_AT_ENTRY: per_capita_above_at_entry,
    QualityCondition.WAGES_BETWEEN: wages_between,
    QualityCondition.PER_CAPITA_BELOW: per_capita_below,
    QualityCondition.LAND_OUTSIDE: land_outside,
    QualityCondition.NO_LABOUR_NOT_FLAGGED: no_labour_not_flagged,
    QualityCondition.RISK_WITHOUT_MEASURE: risk_without_measure,
    QualityCondition.EARLY_ASSISTANCE_EXIT: early_assistance_exit,
    QualityCondition.DATES_MISSING: dates_missing,
    QualityCondition.RISK_COUNT: risk_count,
    QualityCondition.NO_MEASURE_WITHIN: no_measure_within,
    QualityCondition.CATEGORY_TYPE: category_type,
}


def rules_for(county: Area) -> list[QualityRule]:
    """The county's active rules: its own rows, and the defaults it has no row for."""
    rows = QualityRule.objects.filter(Q(county__isnull=True) | Q(county=county)).order_by("code", "county_id")
    chosen: dict[str, QualityRule] = {}
    for rule in rows:
        if rule.county_id is not None or rule.code not in chosen:
            chosen[rule.code] = rule
    return [rule for rule in chosen.values() if rule.active]


def _counties(area_code: str) -> list[tuple[Area, str]]:
    """(county, the prefix to check inside it) for ``area_code`` ("" = every county)."""
    if not area_code:
        return [(c, c.prefix) for c in Area.objects.filter(level=AreaLevel.COUNTY)]
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        raise ValidationError({"area_code": _("请选择区域。")})
    if area.level in (AreaLevel.PROVINCE, AreaLevel.CITY):
        return [
            (c, c.prefix) for c in Area.objects.filter(level=AreaLevel.COUNTY, code__startswith=area.prefix)
        ]
    county = area if area.level == AreaLevel.COUNTY else area.county
    return [(county, area.prefix)]


def data_quality(*, now: dt.datetime, area_code: str = "") -> dict:
    counts = {"rules": 0, "found": 0, "new": 0, "closed": 0, "reopened": 0}
    for county, prefix in _counties(area_code):
        households = Household.objects.filter(area_code__startswith=prefix)
        for rule in rules_for(county):
            check = CHECKS.get(rule.condition)
            if check is None:
                continue
            counts["rules"] += 1
            with transaction.atomic():
                found = _apply(rule, check(households, rule.params or {}, now), prefix, now)
            for key, value in found.items():
                counts[key] += value
    return counts


def _apply(rule: QualityRule, found_ids: QuerySet, prefix: str, now) -> dict:
    """Set-based: the rule's query runs once; then the new findings are inserted, the ones
    found again touched, the fixed ones found again reopened and the open ones not found
    closed, each one statement over a list of ids (no ``NOT IN`` over a subquery, whose plan
    PostgreSQL may run once per household when the findings table's statistics are stale)."""
    mine = QualityFinding.objects.filter(rule=rule, area_code__startswith=prefix)
    found = dict(Household.objects.filter(pk__in=found_ids).order_by().values_list("pk", "area_code"))
    known = dict(mine.values_list("household_id", "status"))
    fresh = [(pk, code) for pk, code in found.items() if pk not in known]
    QualityFinding.objects.bulk_create(
        [
            QualityFinding(rule=rule, household_id=pk, area_code=code, first_found_at=now, last_found_at=now)
            for pk, code in fresh
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    again = [pk for pk in found if pk in known]
    if again:
        mine.filter(household_id__any=again).update(last_found_at=now)
    reopen = [pk for pk in again if known[pk] == FindingStatus.FIXED]
    reopened = (
        mine.filter(household_id__any=reopen).update(status=FindingStatus.OPEN, resolved_at=None, note="")
        if reopen
        else 0
    )
    gone = [pk for pk, status in known.items() if status == FindingStatus.OPEN and pk not in found]
    closed = (
        mine.filter(household_id__any=gone, status=FindingStatus.OPEN).update(
            status=FindingStatus.FIXED, resolved_at=now, resolved_by=None, note=_("复查未再发现")
        )
        if gone
        else 0
    )
    return {"found": len(found), "new": len(fresh), "closed": closed, "reopened": reopened}


@transaction.atomic
def finding_resolve(*, actor, finding: QualityFinding, status: str, note: str = "") -> QualityFinding:
    """Mark a finding fixed or explained (an explanation needs its words), or open again."""
    if actor is None or not actor.has_role(*RESOLVE_ROLES):
        raise NotAllowed(_("您的角色不能处理数据质量疑点。"))
    finding = QualityFinding.objects.select_for_update().get(pk=finding.pk)
    if not actor.covers(finding.area_code):
        raise NotAllowed(_("该户不在您的工作区域内。"))
    if status not in FindingStatus.values:
        raise ValidationError({"status": _("请选择处理结果。")})
    note = (note or "").strip()
    if status == FindingStatus.EXPLAINED and not note:
        raise ValidationError({"note": _("请填写情况说明。")})
    if len(note) > 300:
        raise ValidationError({"note": _("说明不能超过300字。")})
    finding.status, finding.note = status, note
    finding.resolved_at = None if status == FindingStatus.OPEN else timezone.now()
    finding.resolved_by = None if status == FindingStatus.OPEN else actor
    finding.save(update_fields=["status", "note", "resolved_at", "resolved_by"])
    return finding
