"""The identification score: the indicators over the registry, a case's score, the county's.

The facts an indicator reads are one SQL query (:func:`facts_sql`: the household's columns,
its latest income record of the year or before, one grouped aggregate of its resident
members), and each indicator is a numerator column over a denominator (:data:`TERMS`), so
one definition serves both uses:

* a case (:func:`case_score`, called when the case opens, and :func:`case_rescore` by a
  reviewer): the household's row of that query is scored by the pure
  :func:`monitoring.rules.scoring.score`; the case keeps the score, the model version and the
  breakdown, and the version is locked so it can no longer change;
* the county for triage (:func:`score_households`): the bands become ``CASE WHEN numerator
  >= lower × denominator …`` over the same query, and the county's households are scored and
  written in one ``INSERT … SELECT`` (no household through Python).

The line is the county's monitoring line for the year; members are the resident ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
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

#: The facts read per household, as columns of :func:`facts_sql`.
FACT_COLUMNS = (
    "id",
    "area_code",
    "income_year",
    "per_capita",
    "medical",
    "income_members",
    "resident",
    "students",
    "able",
    "ill",
    "dependants",
    "housing",
    "unmet",
)
#: Per indicator: its numerator column, the columns whose product is its denominator, and
#: whether the denominator is also multiplied by the year's line (value = num / den).
TERMS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    IndicatorKind.INCOME: ("per_capita", (), True),
    IndicatorKind.MEDICAL: ("medical", ("income_members",), True),
    IndicatorKind.STUDENTS: ("students", (), False),
    IndicatorKind.LABOUR: ("able", ("resident",), False),
    IndicatorKind.HEALTH: ("ill", (), False),
    IndicatorKind.HOUSING: ("housing", (), False),
    IndicatorKind.GUARANTEES: ("unmet", (), False),
    IndicatorKind.DEPENDANTS: ("dependants", ("resident",), False),
}


def _years_before(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _member_counts(households, today: dt.date):
    """One grouped aggregate over the households' resident members."""
    ill = Q(health_status__in=(HealthStatus.CHRONIC, HealthStatus.SERIOUS)) | ~Q(disability=Disability.NONE)
    dependant = Q(birth_date__gt=_years_before(today, 16)) | Q(birth_date__lte=_years_before(today, 65))
    return (
        Person.objects.filter(household__in=households.values("pk"), is_resident=True)
        .order_by()
        .values("household_id")
        .annotate(
            m_resident=Count("pk"),
            m_students=Count("pk", filter=Q(school_status__in=PAID_SCHOOLING)),
            m_able=Count("pk", filter=Q(labour_capacity__in=ABLE_TO_WORK)),
            m_ill=Count("pk", filter=ill),
            m_dependants=Count("pk", filter=dependant),
        )
    )


def _household_columns(households, today: dt.date):
    latest = (
        IncomeRecord.objects.filter(
            household_id=OuterRef("pk"), year__lte=today.year, per_capita_net_income__isnull=False
        )
        .order_by("-year")
        .values("year")[:1]
    )
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
    return (
        households.order_by()
        .annotate(h_year=Subquery(latest, output_field=IntegerField()), h_housing=housing, h_unmet=unmet)
        .values("id", "area_code", "h_year", "h_housing", "h_unmet")
    )


def facts_sql(households, today: dt.date) -> tuple[str, list]:
    """``SELECT`` :data:`FACT_COLUMNS` for every household of the queryset: the household's
    own columns and the year of its latest income record (one correlated lookup on the
    ``(household, year)`` index), joined to that record and to one grouped aggregate of the
    members — each fact read once per household, the same SQL for one household or a county."""
    qn = connection.ops.quote_name
    h_sql, h_params = _household_columns(households, today).query.sql_with_params()
    m_sql, m_params = _member_counts(households, today).query.sql_with_params()
    income = qn(IncomeRecord._meta.db_table)
    sql = f"""SELECT h.{qn("id")} AS id, h.{qn("area_code")} AS area_code, h.h_year AS income_year,
        i.per_capita_net_income AS per_capita, i.compliant_medical_spending AS medical,
        i.members AS income_members, COALESCE(m.m_resident, 0) AS resident,
        COALESCE(m.m_students, 0) AS students, COALESCE(m.m_able, 0) AS able,
        COALESCE(m.m_ill, 0) AS ill, COALESCE(m.m_dependants, 0) AS dependants,
        h.h_housing AS housing, h.h_unmet AS unmet
        FROM ({h_sql}) h
        LEFT JOIN {income} i ON i.household_id = h.{qn("id")} AND i.year = h.h_year
        LEFT JOIN ({m_sql}) m ON m.household_id = h.{qn("id")}"""  # noqa: S608
    return sql, [*h_params, *m_params]


def _case_sql(ind: rules.IndicatorSpec, line: Decimal | None) -> tuple[str, list]:
    """The weighted points of one indicator over the columns of :func:`facts_sql` (alias
    ``f``): ``CASE WHEN num >= lower × den AND num < upper × den THEN points …``, the bands in
    the order the pure function tries them; bounds are pre-multiplied by the line."""
    num, den_cols, times_line = TERMS[ind.kind]
    if times_line and line is None:
        return "0", []
    scale = line if times_line else Decimal(1)
    den = " * ".join(f"f.{c}" for c in den_cols) or "1"
    parts, params = [], []
    for band in ind.bands:
        cond = [f"f.{num} IS NOT NULL"] + [f"f.{c} > 0" for c in den_cols]
        if band.lower is not None:
            cond.append(f"f.{num} >= %s * {den}")
            params.append(band.lower * scale)
        if band.upper is not None:
            cond.append(f"f.{num} < %s * {den}")
            params.append(band.upper * scale)
        parts.append(f"WHEN {' AND '.join(cond)} THEN %s")
        params.append(rules.weighted(band.points, ind.weight))
    if not parts:
        return "0", []
    return f"CASE {' '.join(parts)} ELSE 0 END", params


def score_sql(spec: rules.ModelSpec, households, today: dt.date, line: Decimal | None) -> tuple[str, list]:
    """``SELECT id, area_code, score`` for the households, set-based."""
    f_sql, f_params = facts_sql(households, today)
    cases, params = [], []
    for ind in spec.indicators:
        sql, p = _case_sql(ind, line)
        cases.append(sql)
        params += p
    total = " + ".join(cases) or "0"
    return f"SELECT f.id, f.area_code, {total} AS score FROM ({f_sql}) f", [*params, *f_params]  # noqa: S608


# --- one household ------------------------------------------------------------------------------


def _fact(kind: str, row: dict, *, today: dt.date, line) -> rules.Fact:
    num_col, den_cols, times_line = TERMS[kind]
    source_kind = SOURCE[kind]
    num = row[num_col]
    if source_kind == "income":
        source = {"kind": "income", "income_year": row["income_year"], "line_year": today.year}
        if line is None:
            return rules.Fact(None, source, rules.NO_THRESHOLD)
        if num is None:
            return rules.Fact(None, source, rules.NO_INCOME)
    else:
        source = (
            {"kind": "members", "n": row["resident"]} if source_kind == "members" else {"kind": source_kind}
        )
    den = Fraction(line) if times_line else Fraction(1)
    for col in den_cols:
        if not row[col]:
            return rules.Fact(None, source, rules.NO_MEMBERS)
        den *= Fraction(Decimal(row[col]))
    return rules.Fact(Fraction(Decimal(num)) / den, source)


def household_facts(household: Household, today: dt.date) -> dict[str, rules.Fact]:
    """Every indicator's fact for one household: the row of :func:`facts_sql` (one query)."""
    threshold = threshold_for(household.area_code, today.year)
    line = threshold.amount if threshold else None
    sql, params = facts_sql(Household.objects.filter(pk=household.pk), today)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = dict(zip(FACT_COLUMNS, cursor.fetchone(), strict=True))
    return {kind: _fact(kind, row, today=today, line=line) for kind in IndicatorKind.values}


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
    households = Household.objects.filter(area_code__startswith=prefix)
    sql, params = score_sql(spec_of(model), households, today, threshold.amount if threshold else None)
    qn = connection.ops.quote_name
    table = qn(HouseholdScore._meta.db_table)
    columns = ", ".join(qn(c) for c in ("household_id", "area_code", "score", "model_id", "computed_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT s.id, s.area_code, s.score, %s, %s FROM ({sql}) s",  # noqa: S608
            [model.pk, connection.ops.adapt_datetimefield_value(now), *params],
        )
        return cursor.rowcount


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
