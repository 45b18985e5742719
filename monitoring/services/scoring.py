"""The identification score: the indicators over the registry, a case's score, the county's.

Each indicator is a numerator and a denominator over a household, as SQL expressions
(:func:`indicator_terms`), so one definition serves both uses:

* a case (:func:`case_score`, called when the case opens, and :func:`case_rescore` by a
  reviewer): the household's terms are read in one query and scored by the pure
  :func:`monitoring.rules.scoring.score`; the case keeps the score, the model version and the
  breakdown, and the version is locked so it can no longer change;
* the county for triage (:func:`score_households`): the bands become ``CASE WHEN numerator
  >= lower × denominator …`` and the county's households are scored and written in one
  ``INSERT … SELECT`` (no household through Python).

Values: income and medical spending are read from the latest income record of the year or
before; the line is the county's monitoring line for the year; members are the resident ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Area, AreaLevel, Role
from households.models import (
    ABLE_TO_WORK,
    Disability,
    HealthStatus,
    Household,
    IncomeRecord,
    Person,
    SchoolStatus,
)
from monitoring.county import county_code_of, threshold_for
from monitoring.models import (
    CaseStatus,
    HouseholdScore,
    IndicatorKind,
    MonitoringCase,
    ScoringBand,
    ScoringIndicator,
    ScoringModel,
)
from monitoring.rules import deadlines
from monitoring.rules import scoring as rules
from monitoring.services.audit import record_change, require_area, require_role
from monitoring.services.ledgers import insert_select
from monitoring.services.procedure import lock_case, now_or

#: Schooling that costs the household (beyond compulsory education).
PAID_SCHOOLING = (
    SchoolStatus.SENIOR,
    SchoolStatus.SECONDARY_VOCATIONAL,
    SchoolStatus.HIGHER_VOCATIONAL,
    SchoolStatus.UNDERGRADUATE,
)
GUARANTEES = (
    "food_clothing_secure",
    "compulsory_education_secure",
    "medical_insurance_secure",
    "housing_secure",
    "drinking_water_secure",
)
HOUSING_RANK = {"A": 1, "B": 2, "C": 3, "D": 4}
#: Cases whose score a reviewer may recompute (still being identified).
RESCORE_STATUSES = (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL)
RESCORE_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
NUMBER = DecimalField(max_digits=20, decimal_places=6)
POINTS = DecimalField(max_digits=8, decimal_places=2)
#: The source each indicator is read from (for the breakdown).
SOURCE = {
    IndicatorKind.INCOME: "income",
    IndicatorKind.MEDICAL: "income",
    IndicatorKind.STUDENTS: "members",
    IndicatorKind.LABOUR: "members",
    IndicatorKind.HEALTH: "members",
    IndicatorKind.DEPENDANTS: "members",
    IndicatorKind.HOUSING: "household",
    IndicatorKind.GUARANTEES: "household",
}


# --- the model --------------------------------------------------------------------------------


def model_for(area_code: str) -> ScoringModel | None:
    return ScoringModel.objects.current_for(county_code_of(area_code))


def spec_of(model: ScoringModel) -> rules.ModelSpec:
    indicators = []
    for ind in model.indicators.prefetch_related("bands").order_by("sort_order", "id"):
        bands = tuple(
            rules.Band(b.lower, b.upper, b.points, b.label, b.label_en)
            for b in sorted(ind.bands.all(), key=lambda b: (b.lower is not None, b.lower or 0, b.id))
        )
        indicators.append(rules.IndicatorSpec(ind.kind, ind.weight, bands))
    return rules.ModelSpec(model.pk, model.version, tuple(indicators))


# --- the indicators as SQL ----------------------------------------------------------------------


def _members(q: Q | None = None):
    rows = (
        Person.objects.filter(q or Q(), household_id=OuterRef("pk"), is_resident=True)
        .order_by()
        .values("household_id")
        .annotate(c=Count("pk"))
        .values("c")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _years_before(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def indicator_terms(today: dt.date, line: Decimal | None) -> dict[str, tuple]:
    """Per indicator kind: ``(numerator, denominator)`` expressions over a Household
    queryset; the value is numerator / denominator (missing when either is NULL or the
    denominator is 0)."""
    latest = IncomeRecord.objects.filter(
        household_id=OuterRef("pk"), year__lte=today.year, per_capita_net_income__isnull=False
    ).order_by("-year")
    line_value = Value(line, output_field=NUMBER)
    resident = _members()
    housing = Case(
        *(When(housing_grade=k, then=Value(v)) for k, v in HOUSING_RANK.items()),
        default=Value(1),
        output_field=IntegerField(),
    )
    unmet = sum(
        (
            Case(When(**{g: False}, then=Value(1)), default=Value(0), output_field=IntegerField())
            for g in GUARANTEES
        ),
        Value(0),
    )
    one = Value(1, output_field=IntegerField())
    return {
        IndicatorKind.INCOME: (
            Subquery(latest.values("per_capita_net_income")[:1], output_field=NUMBER),
            line_value,
        ),
        IndicatorKind.MEDICAL: (
            Subquery(latest.values("compliant_medical_spending")[:1], output_field=NUMBER),
            ExpressionWrapper(
                Subquery(latest.values("members")[:1], output_field=IntegerField()) * line_value,
                output_field=NUMBER,
            ),
        ),
        IndicatorKind.STUDENTS: (_members(Q(school_status__in=PAID_SCHOOLING)), one),
        IndicatorKind.LABOUR: (_members(Q(labour_capacity__in=ABLE_TO_WORK)), resident),
        IndicatorKind.HEALTH: (
            _members(
                Q(health_status__in=(HealthStatus.CHRONIC, HealthStatus.SERIOUS))
                | ~Q(disability=Disability.NONE)
            ),
            one,
        ),
        IndicatorKind.HOUSING: (housing, one),
        IndicatorKind.GUARANTEES: (unmet, one),
        IndicatorKind.DEPENDANTS: (
            _members(
                Q(birth_date__gt=_years_before(today, 16)) | Q(birth_date__lte=_years_before(today, 65))
            ),
            resident,
        ),
    }


def _aliases(kind: str) -> tuple[str, str]:
    return f"score_{kind}_n", f"score_{kind}_d"


def with_terms(households, today: dt.date, line: Decimal | None, kinds):
    terms = indicator_terms(today, line)
    aliases = {}
    for kind in kinds:
        n, d = _aliases(kind)
        aliases[n], aliases[d] = terms[kind]
    return households.alias(**aliases)


def _scaled(alias: str, bound: Decimal):
    return ExpressionWrapper(F(alias) * Value(bound, output_field=NUMBER), output_field=NUMBER)


def points_expression(spec: rules.ModelSpec):
    """The weighted points of ``spec`` over the aliases of :func:`with_terms` (one CASE per
    indicator, the bands in the order the pure function tries them)."""
    total = Value(Decimal("0.00"), output_field=POINTS)
    for ind in spec.indicators:
        n, d = _aliases(ind.kind)
        whens = []
        for band in ind.bands:
            cond = Q(**{f"{n}__isnull": False, f"{d}__gt": 0})
            if band.lower is not None:
                cond &= Q(**{f"{n}__gte": _scaled(d, band.lower)})
            if band.upper is not None:
                cond &= Q(**{f"{n}__lt": _scaled(d, band.upper)})
            whens.append(When(cond, then=Value(rules.weighted(band.points, ind.weight), output_field=POINTS)))
        if whens:
            total = total + Case(*whens, default=Value(Decimal("0.00")), output_field=POINTS)
    return ExpressionWrapper(total, output_field=POINTS)


# --- one household ------------------------------------------------------------------------------


def _fact(kind: str, num, den, *, today: dt.date, line, income_year, members: int) -> rules.Fact:
    source_kind = SOURCE[kind]
    if source_kind == "income":
        source = {"kind": "income", "income_year": income_year, "line_year": today.year}
        if line is None:
            return rules.Fact(None, source, rules.NO_THRESHOLD)
        if num is None or den is None:
            return rules.Fact(None, source, rules.NO_INCOME)
        if not den:
            return rules.Fact(None, source, rules.NO_MEMBERS)
    else:
        source = {"kind": source_kind, "n": members} if source_kind == "members" else {"kind": source_kind}
        if num is None or not den:
            return rules.Fact(None, source, rules.NO_MEMBERS)
    return rules.Fact(Fraction(Decimal(num)) / Fraction(Decimal(den)), source)


def household_facts(household: Household, today: dt.date) -> dict[str, rules.Fact]:
    """Every indicator's fact for one household (one query)."""
    threshold = threshold_for(household.area_code, today.year)
    line = threshold.amount if threshold else None
    kinds = list(IndicatorKind.values)
    latest_year = (
        IncomeRecord.objects.filter(
            household_id=OuterRef("pk"), year__lte=today.year, per_capita_net_income__isnull=False
        )
        .order_by("-year")
        .values("year")[:1]
    )
    names = [name for kind in kinds for name in _aliases(kind)]
    qs = with_terms(Household.objects.filter(pk=household.pk), today, line, kinds)
    qs = qs.annotate(
        **{f"v_{name}": F(name) for name in names}, v_year=Subquery(latest_year), v_members=_members()
    )
    row = qs.values(*(f"v_{name}" for name in names), "v_year", "v_members").get()
    return {
        kind: _fact(
            kind,
            row[f"v_{_aliases(kind)[0]}"],
            row[f"v_{_aliases(kind)[1]}"],
            today=today,
            line=line,
            income_year=row["v_year"],
            members=row["v_members"] or 0,
        )
        for kind in kinds
    }


def household_score(household: Household, *, today: dt.date, model: ScoringModel | None = None):
    """``(model, total, breakdown)`` for one household by the county's current model (or
    ``model``); ``(None, None, [])`` when no model is set."""
    model = model or model_for(household.area_code)
    if model is None:
        return None, None, []
    total, breakdown = rules.score(spec_of(model), household_facts(household, today))
    return model, total, breakdown


# --- a case ------------------------------------------------------------------------------------


def case_score(case: MonitoringCase, *, actor, now: dt.datetime, reason: str = "") -> MonitoringCase:
    """Score the (locked) case's household by the county's current model and keep the score,
    the model version and the breakdown on the case; the version is locked from now on.
    Called inside the caller's transaction; an audit row keeps the previous score."""
    model, total, breakdown = household_score(case.household, today=deadlines.local_date(now))
    if model is None:
        return case
    if model.locked_at is None:
        ScoringModel.objects.filter(pk=model.pk, locked_at__isnull=True).update(locked_at=now)
    previous = {"score": str(case.score) if case.score is not None else None, "model": case.score_model_id}
    case.score, case.score_model, case.score_breakdown, case.scored_at = total, model, breakdown, now
    case.save(update_fields=["score", "score_model", "score_breakdown", "scored_at"])
    record_change(
        obj=case,
        object_type="case",
        case=case,
        action="score",
        from_status=case.status,
        to_status=case.status,
        actor=actor,
        at=now,
        reason=reason,
        data={"score": str(total), "model": model.pk, "version": model.version, "previous": previous},
    )
    return case


def rescore_guard(case: MonitoringCase) -> str | None:
    if case.status not in RESCORE_STATUSES:
        return _("案件已不在识别阶段，评分不再重算。")
    return None


@transaction.atomic
def case_rescore(*, actor, case_id: int, now: dt.datetime | None = None) -> MonitoringCase:
    """A reviewer recomputes the score of a case in identification (after the household's data
    changed, or with the county's newer model); the previous score stays in the case's log."""
    now = now_or(now)
    require_role(actor, *RESCORE_ROLES)
    case = lock_case(case_id)
    require_area(actor, case.area_code)
    reason = rescore_guard(case)
    if reason:
        raise InvalidTransition(reason)
    if model_for(case.area_code) is None:
        raise InvalidTransition(_("本县尚未设定识别评分模型。"))
    return case_score(case, actor=actor, now=now, reason=_("重新计算识别评分"))


# --- the county, for triage --------------------------------------------------------------------


def _areas(area_code: str) -> list[tuple[str, str]]:
    """``(county code, prefix to score inside it)`` for an area code ("" = every county)."""
    if not area_code:
        return [(c.code, c.prefix) for c in Area.objects.filter(level=AreaLevel.COUNTY)]
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        raise ValidationError({"area_code": _("请选择区域。")})
    if area.level in (AreaLevel.PROVINCE, AreaLevel.CITY):
        counties = Area.objects.filter(level=AreaLevel.COUNTY, code__startswith=area.prefix)
        return [(c.code, c.prefix) for c in counties]
    return [(county_code_of(area.code), area.prefix)]


def _score_area(county_code: str, prefix: str, now: dt.datetime) -> int:
    """One DELETE and one ``INSERT … SELECT`` for the households under ``prefix``."""
    HouseholdScore.objects.filter(area_code__startswith=prefix).delete()
    model = model_for(county_code)
    if model is None:
        return 0
    today = deadlines.local_date(now)
    threshold = threshold_for(county_code, today.year)
    spec = spec_of(model)
    households = with_terms(
        Household.objects.filter(area_code__startswith=prefix).order_by(),
        today,
        threshold.amount if threshold else None,
        [ind.kind for ind in spec.indicators],
    )
    rows = households.annotate(
        s_score=points_expression(spec),
        s_model=Value(model.pk, output_field=IntegerField()),
        s_at=Value(now, output_field=DateTimeField()),
    ).values_list("pk", "area_code", "s_score", "s_model", "s_at")
    return insert_select(
        HouseholdScore, ("household_id", "area_code", "score", "model_id", "computed_at"), rows
    )


def score_households(*, now: dt.datetime, area_code: str = "", actor=None) -> dict:
    """Score every household of an area (a county, township or village; "" = every county) by
    its county's current model, replacing the area's triage scores: per county one DELETE and
    one ``INSERT … SELECT`` in one transaction. Idempotent for the same data and day; the
    nightly task and "run now" call it."""
    if actor is not None:
        require_role(actor, Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER, Role.OPERATOR)
        if not area_code or not actor.covers(area_code):
            raise NotAllowed(_("该区域不在您的工作范围内。"))
    counts = {"counties": 0, "households": 0}
    for county_code, prefix in _areas(area_code):
        with transaction.atomic():
            counts["households"] += _score_area(county_code, prefix, now)
        counts["counties"] += 1
    return counts


# --- a new version ----------------------------------------------------------------------------


@transaction.atomic
def model_copy(*, actor, model: ScoringModel) -> ScoringModel:
    """A new, inactive version of ``model`` for its county, with the same indicators and bands,
    for an operator to edit and then switch on (a locked version is never edited)."""
    require_role(actor, Role.OPERATOR)
    if model.county_id is not None:
        require_area(actor, model.county.code)
    same_county = ScoringModel.objects.select_for_update().filter(county_id=model.county_id)
    version = (same_county.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    copy = ScoringModel.objects.create(
        county_id=model.county_id,
        version=version,
        name=model.name,
        name_en=model.name_en,
        note=model.note,
        active=False,
    )
    for ind in model.indicators.prefetch_related("bands"):
        new = ScoringIndicator.objects.create(
            model=copy, kind=ind.kind, weight=ind.weight, sort_order=ind.sort_order
        )
        ScoringBand.objects.bulk_create(
            ScoringBand(
                indicator=new,
                lower=b.lower,
                upper=b.upper,
                points=b.points,
                label=b.label,
                label_en=b.label_en,
            )
            for b in ind.bands.all()
        )
    return copy
