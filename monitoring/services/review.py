"""Periodic risk review (风险复核): system clues from the registry's own figures.

Over every household of a county (or one area of it), from the latest income record of this
or last year and the household's guarantee flags, a system clue is raised when a review rule
(:class:`~monitoring.models.ReviewRule`, editable per county) says so:

- per-capita net income below the year's monitoring line, or within a margin above it;
- per-capita net income fell by more than a share against the year before;
- compliant out-of-pocket medical spending above an amount (one for 脱贫户, one for others);
- a guarantee flag (food and clothing, education, medical insurance, housing, water) is bad.

One clue per household, rule and period (the income year; for guarantee flags the review's
year), never a duplicate (checked first, and a unique constraint besides), never for a
household whose open case already covers the rule's risk type. Clues wait for the county's
triage like department alerts.

Set-based: one query finds the income candidates (latest record by anti-join, the previous
year's figure by a join, the thresholds as constants per county), one the
guarantee candidates; existing clues and open cases are read per 2,000 candidates; clues,
their risk types and their audit rows are inserted in bulk. Python only sorts the candidate
rows into rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connections, transaction
from django.db.models import (
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Value,
    When,
)
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from accounts.errors import ValidationError
from accounts.models import Area, AreaLevel, NotificationKind, Role
from accounts.notifications import Message, notify, users_at
from accounts.texts import render_text, text
from config.db_router import read_alias, reading_from_replica
from households.models import Household, HouseholdType, IncomeRecord
from monitoring.county import county_code_of, threshold_for
from monitoring.models import (
    OPEN_CASE_STATUSES,
    Channel,
    Clue,
    ClueStatus,
    MonitoringCase,
    ReviewRule,
)
from monitoring.models import ReviewRuleCode as R
from monitoring.rules import deadlines, transitions
from monitoring.services.audit import record_bulk

#: Income records of this year and the year before are reviewed; older data is left alone.
REVIEW_YEARS = 2
CHUNK = 2000
MONEY = DecimalField(max_digits=14, decimal_places=4)
CENT = Decimal("0.01")
CLUES = transitions.CLUE_TRANSITIONS

GUARANTEE_RULES = {
    "food_clothing_secure": R.GUARANTEE_FOOD_CLOTHING,
    "compulsory_education_secure": R.GUARANTEE_EDUCATION,
    "medical_insurance_secure": R.GUARANTEE_MEDICAL,
    "housing_secure": R.GUARANTEE_HOUSING,
    "drinking_water_secure": R.GUARANTEE_WATER,
}
INCOME_RULES = (R.INCOME_BELOW, R.INCOME_NEAR, R.INCOME_DROP, R.MEDICAL_OUT_OF_POVERTY, R.MEDICAL_OTHER)


@dataclass(frozen=True)
class Candidate:
    """A (household, rule, period) the review would raise a clue for."""

    household_id: int
    rule: str
    period: str
    area_code: str = ""
    person_id: int | None = None
    name: str = ""
    value: Decimal | None = None
    reference: Decimal | None = None
    extra: Decimal | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.household_id, self.rule, self.period)


def rules_for(county_code: str) -> dict[str, ReviewRule]:
    """The county's active rules by code: its own rows replace the default rows code by code."""
    rows = ReviewRule.objects.filter(Q(county__code=county_code) | Q(county__isnull=True)).select_related(
        "risk_type"
    )
    chosen: dict[str, ReviewRule] = {}
    for row in sorted(rows, key=lambda r: r.county_id is not None):
        chosen[row.code] = row
    return {code: row for code, row in chosen.items() if row.is_active}


def _pct(rule: ReviewRule | None) -> Decimal:
    return Decimal(rule.parameter or 0) / 100 if rule else Decimal(0)


def _scope(area_code: str) -> tuple[str, str]:
    """(county code, prefix) of an area code; a county, township or village."""
    if not (isinstance(area_code, str) and len(area_code) == 12 and area_code.isdigit()):
        raise ValidationError({"area_code": _("请选择县、乡镇或村。")})
    area = Area.objects.filter(code=area_code).first()
    if area is None or area.level not in (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE):
        raise ValidationError({"area_code": _("请选择县、乡镇或村。")})
    return county_code_of(area_code), area.prefix


@dataclass(frozen=True)
class IncomeRules:
    """The income and spending rules a county has switched on (``None`` when off)."""

    below: ReviewRule | None = None
    near: ReviewRule | None = None
    drop: ReviewRule | None = None
    medical_poor: ReviewRule | None = None
    medical_other: ReviewRule | None = None

    @classmethod
    def of(cls, rules: dict) -> IncomeRules:
        return cls(
            below=rules.get(R.INCOME_BELOW),
            near=rules.get(R.INCOME_NEAR),
            drop=rules.get(R.INCOME_DROP),
            medical_poor=rules.get(R.MEDICAL_OUT_OF_POVERTY),
            medical_other=rules.get(R.MEDICAL_OTHER),
        )

    def any(self) -> bool:
        return any((self.below, self.near, self.drop, self.medical_poor, self.medical_other))

    @property
    def factor(self) -> Decimal:
        """How far above the line still counts as near it (1 + the margin)."""
        return 1 + _pct(self.near)


INCOME_COLUMNS = (
    "household_id",
    "household__area_code",
    "household__household_type",
    "household__head_id",
    "household__head__name",
    "year",
    "per_capita_net_income",
    "previous",
    "compliant_medical_spending",
)


def _latest_incomes(prefix: str, years: tuple[int, int], thresholds: dict[int, Decimal]):
    """Each household's latest record of the years, with the year's line and the year before's
    figure, in one query."""
    later = IncomeRecord.objects.filter(
        household_id=OuterRef("household_id"),
        year__gt=OuterRef("year"),
        year__lte=years[1],
        per_capita_net_income__isnull=False,
    )
    return (
        IncomeRecord.objects.filter(
            household__area_code__startswith=prefix,
            year__gte=years[0],
            year__lte=years[1],
            per_capita_net_income__isnull=False,
        )
        .filter(~Exists(later))
        .annotate(
            line=Case(
                *[When(year=y, then=Value(t)) for y, t in thresholds.items()],
                default=Value(None),
                output_field=MONEY,
            ),
            # the year before, by a join (a subquery would be evaluated for every record)
            before=FilteredRelation(
                "household__incomes", condition=Q(household__incomes__year=F("year") - 1)
            ),
        )
        .annotate(previous=F("before__per_capita_net_income"))
    )


def _income_filter(qs, r: IncomeRules, thresholds: dict[int, Decimal]):
    """(the query with what the rules compare against, the condition any rule fires on)."""
    cond = Q()
    if (r.below or r.near) and thresholds:
        qs = qs.annotate(
            limit=ExpressionWrapper(F("line") * Value(r.factor if r.near else 1), output_field=MONEY)
        )
        cond |= Q(per_capita_net_income__lt=F("limit"))
    if r.drop:
        qs = qs.annotate(floor=ExpressionWrapper(F("previous") * Value(1 - _pct(r.drop)), output_field=MONEY))
        cond |= Q(previous__gt=0, per_capita_net_income__lt=F("floor"))
    if r.medical_poor:
        cond |= Q(
            household__household_type=HouseholdType.OUT_OF_POVERTY,
            compliant_medical_spending__gt=r.medical_poor.parameter or 0,
        )
    if r.medical_other:
        cond |= Q(compliant_medical_spending__gt=r.medical_other.parameter or 0) & ~Q(
            household__household_type=HouseholdType.OUT_OF_POVERTY
        )
    return qs, cond


def _income_hits(row: tuple, r: IncomeRules, thresholds: dict[int, Decimal]) -> list[Candidate]:
    """The candidates one household's latest record gives (Python re-checks what SQL found)."""
    hid, area, kind, head, name, year, pc, prev, medical = row
    pc = Decimal(pc)
    base = {
        "household_id": hid,
        "period": str(year),
        "area_code": area,
        "person_id": head,
        "name": name or "",
    }
    out: list[Candidate] = []
    line = thresholds.get(year)
    if line is not None:
        if r.below and pc < line:
            out.append(Candidate(rule=R.INCOME_BELOW, value=pc, reference=line, **base))
        elif r.near and line <= pc < line * r.factor:
            out.append(
                Candidate(rule=R.INCOME_NEAR, value=pc, reference=line, extra=r.near.parameter, **base)
            )
    if r.drop and prev is not None and Decimal(prev) > 0 and pc < Decimal(prev) * (1 - _pct(r.drop)):
        prev = Decimal(prev)
        share = ((prev - pc) / prev * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        out.append(Candidate(rule=R.INCOME_DROP, value=pc, reference=prev, extra=share, **base))
    rule = r.medical_poor if kind == HouseholdType.OUT_OF_POVERTY else r.medical_other
    if rule is not None and Decimal(medical) > (rule.parameter or 0):
        out.append(Candidate(rule=rule.code, value=Decimal(medical), reference=rule.parameter, **base))
    return out


def income_candidates(
    prefix: str, rules: dict, thresholds: dict[int, Decimal], today: dt.date
) -> list[Candidate]:
    """Candidates of the income and spending rules, from each household's latest record."""
    r = IncomeRules.of(rules)
    if not r.any():
        return []
    years = (today.year - REVIEW_YEARS + 1, today.year)
    qs, cond = _income_filter(_latest_incomes(prefix, years, thresholds), r, thresholds)
    if not cond:
        return []
    rows = qs.filter(cond).values_list(*INCOME_COLUMNS)
    return [c for row in rows.iterator(chunk_size=CHUNK) for c in _income_hits(row, r, thresholds)]


def guarantee_candidates(prefix: str, rules: dict, today: dt.date) -> list[Candidate]:
    """Candidates of the guarantee rules: a flag of the household is bad."""
    fields = [f for f, code in GUARANTEE_RULES.items() if code in rules]
    if not fields:
        return []
    cond = Q()
    for f in fields:
        cond |= Q(**{f: False})
    rows = (
        Household.objects.filter(area_code__startswith=prefix)
        .filter(cond)
        .values_list("id", "area_code", "head_id", "head__name", *fields)
    )
    out = []
    period = str(today.year)
    for hid, area, head, name, *flags in rows.iterator(chunk_size=CHUNK):
        for f, ok in zip(fields, flags, strict=True):
            if not ok:
                out.append(
                    Candidate(
                        household_id=hid,
                        rule=GUARANTEE_RULES[f],
                        period=period,
                        area_code=area,
                        person_id=head,
                        name=name or "",
                    )
                )
    return out


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def new_candidates(candidates: list[Candidate], rules: dict) -> tuple[list[Candidate], int, int]:
    """Drop candidates that already have their clue, or whose household's open case covers the
    rule's risk type. Returns (kept, already raised, under an open case)."""
    household_ids = sorted({c.household_id for c in candidates})
    existing: set[tuple[int, str, str]] = set()
    covered: set[tuple[int, int]] = set()
    through = MonitoringCase.risk_types.through
    for ids in _chunks(household_ids):
        existing.update(
            Clue.objects.filter(household_id__in=ids)
            .exclude(rule_code="")
            .values_list("household_id", "rule_code", "period")
        )
        covered.update(
            through.objects.filter(
                monitoringcase__household_id__in=ids, monitoringcase__status__in=OPEN_CASE_STATUSES
            ).values_list("monitoringcase__household_id", "risktype_id")
        )
    kept, raised, open_case = [], 0, 0
    for c in candidates:
        if c.key in existing:
            raised += 1
        elif (c.household_id, rules[c.rule].risk_type_id) in covered:
            open_case += 1
        else:
            kept.append(c)
    return kept, raised, open_case


def _money(value) -> str:
    return f"{Decimal(value).quantize(CENT, ROUND_HALF_UP):,}"


def describe(c: Candidate) -> dict:
    """The clue's description as a stored text (``accounts.texts``): shown in each reader's
    language, kept in the site's language in ``Clue.description``."""
    if c.rule == R.INCOME_BELOW:
        return text(
            N_("%(y)s年家庭人均纯收入%(v)s元，低于当年监测线%(t)s元。"),
            y=c.period,
            v=_money(c.value),
            t=_money(c.reference),
        )
    if c.rule == R.INCOME_NEAR:
        return text(
            N_("%(y)s年家庭人均纯收入%(v)s元，高于当年监测线%(t)s元不足%(p)s%%，存在返贫致贫风险。"),
            y=c.period,
            v=_money(c.value),
            t=_money(c.reference),
            p=f"{Decimal(c.extra or 0).normalize():f}",
        )
    if c.rule == R.INCOME_DROP:
        return text(
            N_("%(y)s年家庭人均纯收入%(v)s元，较上年%(prev)s元下降%(p)s%%。"),
            y=c.period,
            v=_money(c.value),
            prev=_money(c.reference),
            p=c.extra,
        )
    if c.rule in (R.MEDICAL_OUT_OF_POVERTY, R.MEDICAL_OTHER):
        return text(
            N_("%(y)s年合规自付医疗支出%(v)s元，超过%(t)s元。"),
            y=c.period,
            v=_money(c.value),
            t=_money(c.reference),
        )
    with translation.override(None):  # the label's msgid (the source language)
        rule = str(R(c.rule).label)
    return text(N_("农户信息显示：%(rule)s。"), rule={"m": rule})


def _insert(kept: list[Candidate], rules: dict, *, today: dt.date, now: dt.datetime, actor) -> list[int]:
    """Insert the clues, their risk types and their audit rows in bulk; returns the clue ids."""
    with translation.override(settings.LANGUAGE_CODE):
        clues = [
            Clue(
                channel=Channel.SYSTEM,
                found_date=today,
                description=render_text(described := describe(c)),
                description_text=described,
                amount=c.value.quantize(CENT, ROUND_HALF_UP) if c.value is not None else None,
                name=c.name,
                person_id=c.person_id,
                household_id=c.household_id,
                area_code=c.area_code,
                status=transitions.target(CLUES, "receive"),
                rule_code=c.rule,
                period=c.period,
                reporter_name=str(_("系统风险复核")),
            )
            for c in kept
        ]
    ids: list[int] = []
    for batch, cands in zip(_chunks(clues), _chunks(kept), strict=True):
        Clue.objects.bulk_create(batch)
        through = Clue.risk_types.through
        through.objects.bulk_create(
            [
                through(clue_id=clue.pk, risktype_id=rules[c.rule].risk_type_id)
                for clue, c in zip(batch, cands, strict=True)
            ]
        )
        record_bulk(
            CLUES,
            "receive",
            batch,
            object_type="clue",
            from_status=transitions.NEW,
            actor=actor,
            now=now,
            data=lambda clue: {"channel": Channel.SYSTEM, "rule": clue.rule_code, "period": clue.period},
        )
        ids.extend(clue.pk for clue in batch)
    return ids


def review_county(county_code: str, *, prefix: str | None = None, now: dt.datetime, actor=None) -> dict:
    """Review one county (or the area of it under ``prefix``)."""
    prefix = prefix or county_code[:6]
    today = deadlines.local_date(now)
    rules = rules_for(county_code)
    thresholds = {}
    for year in range(today.year - REVIEW_YEARS + 1, today.year + 1):
        row = threshold_for(county_code, year)
        if row is not None:
            thresholds[year] = row.amount
    # The candidates are read from the read replica when there is one (config/db_router.py),
    # in a transaction of their own there; deciding which are new is done on the primary.
    with reading_from_replica():
        alias = read_alias()
        with transaction.atomic(using=alias):
            if connections[alias].vendor == "postgresql":
                # the plan's cost estimate crosses the JIT threshold; compiling costs more than it saves
                with connections[alias].cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            candidates = income_candidates(prefix, rules, thresholds, today) + guarantee_candidates(
                prefix, rules, today
            )
    with transaction.atomic():
        # one review of a county at a time: the second waits, then finds the first's clues
        # among those already raised (new_candidates reads the primary)
        Area.objects.select_for_update().filter(code=county_code).first()
        kept, raised, open_case = new_candidates(candidates, rules)
        ids = _insert(kept, rules, today=today, now=now, actor=actor)
        by_rule: dict[str, int] = {}
        for c in kept:
            by_rule[str(c.rule)] = by_rule.get(str(c.rule), 0) + 1
        if ids:
            _notify(county_code, prefix, len(ids), first_id=ids[0], today=today, now=now)
    counts = {
        "households": Household.objects.filter(area_code__startswith=prefix).count(),
        "candidates": len(candidates),
        "clues": len(ids),
        "already_raised": raised,
        "under_open_case": open_case,
        "by_rule": by_rule,
    }
    missing = [y for y in range(today.year - REVIEW_YEARS + 1, today.year + 1) if y not in thresholds]
    if missing and (R.INCOME_BELOW in rules or R.INCOME_NEAR in rules):
        # the operator must enter the province's line: until then those years are not compared
        counts["no_line_years"] = missing
    return counts


NEW_CLUES = N_("风险复核发现%(n)s条新的系统预警线索，请研判")


def _notify(county_code: str, prefix: str, count: int, *, first_id: int, today, now) -> None:
    approvers = users_at(Role.COUNTY_APPROVER, [county_code]).get(county_code, [])
    msg = Message(
        key=f"risk_review:{prefix}:{first_id}",
        kind=NotificationKind.RISK_REVIEW,
        title=text(NEW_CLUES, NEW_CLUES, count),
        body=text(N_("%(d)s风险复核：收入、支出或保障情况触发预警规则。"), d=today.isoformat()),
        url=reverse("monitoring:clue_list") + f"?channel={Channel.SYSTEM}&status={ClueStatus.PENDING}",
        area_code=county_code,
    )
    notify(((uid, msg) for uid in approvers), now=now)


def risk_review(*, area_code: str = "", now: dt.datetime | None = None, actor=None) -> dict:
    """Review one area (a county, township or village code), or every county when empty."""
    now = now or timezone.now()
    if area_code:
        county, prefix = _scope(area_code)
        return review_county(county, prefix=prefix, now=now, actor=actor)
    totals: dict = {
        "counties": 0,
        "households": 0,
        "candidates": 0,
        "clues": 0,
        "already_raised": 0,
        "under_open_case": 0,
        "by_rule": {},
    }
    counties = Area.objects.filter(level=AreaLevel.COUNTY).values_list("code", flat=True).order_by("code")
    for county in counties:
        if not Household.objects.filter(area_code__startswith=county[:6]).exists():
            continue
        counts = review_county(county, now=now, actor=actor)
        totals["counties"] += 1
        for k in ("households", "candidates", "clues", "already_raised", "under_open_case"):
            totals[k] += counts[k]
        for rule, n in counts["by_rule"].items():
            totals["by_rule"][rule] = totals["by_rule"].get(rule, 0) + n
        for year in counts.get("no_line_years", []):
            totals.setdefault("no_line", []).append(f"{county}:{year}")
    return totals
