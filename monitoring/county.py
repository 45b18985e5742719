"""Which county settings, procedures, thresholds and rules apply to a household or area."""

from __future__ import annotations

from django.db.models import Q

from monitoring.models import CountySettings, IncomeThreshold
from monitoring.rules.deadlines import case_limit


def county_code_of(area_code: str) -> str:
    """The 12-digit code of the county an area code lies in."""
    return area_code[:6] + "000000"


def settings_for(area_code: str) -> CountySettings:
    """The county's own settings, else the default row."""
    county = county_code_of(area_code)
    found = CountySettings.objects.filter(Q(county__code=county) | Q(county__isnull=True)).select_related(
        "identification_procedure", "exit_procedure", "county"
    )
    rows = list(found)
    own = [r for r in rows if r.county_id is not None]
    if own:
        return own[0]
    if rows:
        return rows[0]
    return CountySettings()  # unsaved defaults (no procedure chosen)


def threshold_for(area_code: str, year: int) -> IncomeThreshold | None:
    """The most specific threshold for the year: county, city, province, then the reference row."""
    prefixes = [area_code[:6] + "000000", area_code[:4] + "00000000", area_code[:2] + "0000000000"]
    rows = list(
        IncomeThreshold.objects.filter(year=year)
        .filter(Q(area__code__in=prefixes) | Q(area__isnull=True))
        .select_related("area")
    )
    for code in prefixes:
        for row in rows:
            if row.area_id and row.area.code == code:
                return row
    return next((r for r in rows if r.area_id is None), None)


def catalogue_rules_for(area_code: str):
    """The county's must/optional/forbidden rules and category requirements.

    A county that has rules of its own uses only those; otherwise the defaults apply.
    Returns ``(rules, requirements)``: rule rows and requirement rows with their categories.
    """
    from monitoring.models import RiskCategoryRequirement, RiskMeasureRule

    county = county_code_of(area_code)
    rules = RiskMeasureRule.objects.select_related("risk_type", "measure", "measure__category")
    own = rules.filter(county__code=county)
    rules = own if own.exists() else rules.filter(county__isnull=True)
    reqs = RiskCategoryRequirement.objects.select_related("risk_type").prefetch_related("categories")
    own_reqs = reqs.filter(county__code=county)
    reqs = own_reqs if own_reqs.exists() else reqs.filter(county__isnull=True)
    return list(rules), list(reqs)


def calendar_for(area_code: str, county_settings=None):
    """The county's :class:`~monitoring.rules.deadlines.WorkCalendar` (holidays only when needed)."""
    from monitoring.models import Holiday
    from monitoring.rules.deadlines import CALENDAR_DAYS, WorkCalendar

    county_settings = county_settings or settings_for(area_code)
    if not county_settings.use_working_days:
        return CALENDAR_DAYS
    rows = list(Holiday.objects.values_list("date", "is_working_day"))
    return WorkCalendar(
        working_days=True,
        holidays=frozenset(d for d, work in rows if not work),
        swapped_workdays=frozenset(d for d, work in rows if work),
    )


def scope_prefix(area_code: str) -> str:
    """The code prefix of the area ``area_code`` names (e.g. 6 digits for a county), for
    ``area_code__startswith`` filters; an unknown code is used whole."""
    from accounts.models import Area

    area = Area.objects.filter(code=area_code).only("code", "level").first()
    return area.prefix if area is not None else area_code


def identification_limit(county_settings: CountySettings) -> tuple[int, str]:
    """``(days, basis)``: the identification limit a new case of this county gets, from the
    procedure the county chose (:func:`monitoring.rules.deadlines.case_limit`)."""
    procedure = county_settings.identification_procedure
    return case_limit(
        planned_days=procedure.planned_days() if procedure else 0,
        stated_days=procedure.time_limit_days if procedure else None,
        county_days=county_settings.case_deadline_days,
        county_caps=county_settings.case_deadline_caps,
    )


def call_chain_for(area_code: str):
    """The county's escalation chain of the one-key call (its own rows, else the defaults),
    as :class:`monitoring.rules.calls.ChainStep` in order."""
    from monitoring.models import CallChainStep
    from monitoring.rules.calls import ChainStep

    rows = CallChainStep.objects.filter(Q(county__code=county_code_of(area_code)) | Q(county__isnull=True))
    rows = list(rows.values_list("county_id", "position", "level", "minutes"))
    own = [r for r in rows if r[0] is not None]
    chosen = own or [r for r in rows if r[0] is None]
    return [
        ChainStep(position, level, minutes)
        for _county, position, level, minutes in sorted(chosen, key=lambda r: r[1])
    ]
