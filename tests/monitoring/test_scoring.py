"""The identification score (识别定量模式): bands at their boundaries, weights, missing data,
the set-based county scoring against the one-household scoring, versioning and rescoring."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from accounts.errors import InvalidTransition, NotAllowed
from households import services as hs
from households.models import Disability, HealthStatus, LabourCapacity, SchoolStatus
from monitoring.models import (
    CaseStatus,
    HouseholdScore,
    IncomeThreshold,
    IndicatorKind,
    ScoringBand,
    ScoringIndicator,
    ScoringModel,
    StatusChange,
)
from monitoring.rules import scoring as rules
from monitoring.services import scoring
from tests.households import factories as hf
from tests.monitoring.helpers import at, d, open_case

TODAY = d(3, 1)
LINE = Decimal("8800")  # the default line of 2026


def _spec(*indicators):
    return rules.ModelSpec(None, 1, tuple(indicators))


INCOME = rules.IndicatorSpec(
    "income",
    Decimal("1.00"),
    (
        rules.Band(None, Decimal("1"), 35),
        rules.Band(Decimal("1"), Decimal("1.5"), 20),
        rules.Band(Decimal("1.5"), Decimal("2"), 8),
    ),
)


@pytest.mark.parametrize(
    ("value", "points"),
    [
        (Fraction(-1), 35),
        (Fraction(0), 35),
        (Fraction(8799, 8800), 35),
        (Fraction(1), 20),  # exactly the line: the upper bound is exclusive
        (Fraction(13199, 8800), 20),
        (Fraction(3, 2), 8),
        (Fraction(17599, 8800), 8),
        (Fraction(2), 0),  # past the last band
        (Fraction(10), 0),
    ],
)
def test_income_bands_at_their_boundaries(value, points):
    total, lines = rules.score(_spec(INCOME), {"income": rules.Fact(value, {"kind": "income"})})
    assert lines[0]["points"] == points
    assert total == Decimal(points)


def test_weight_scales_the_points_and_the_breakdown_says_so():
    half = rules.IndicatorSpec("income", Decimal("0.50"), INCOME.bands)
    total, lines = rules.score(_spec(half), {"income": rules.Fact(Fraction(1, 2))})
    assert total == Decimal("17.50")
    assert lines[0]["weight"] == "0.50"
    assert lines[0]["weighted"] == "17.50"
    assert lines[0]["value"] == "0.5000"
    assert lines[0]["upper"] == "1" and lines[0]["lower"] is None


def test_a_missing_fact_gives_no_points_and_is_named():
    total, lines = rules.score(
        _spec(INCOME), {"income": rules.Fact(None, {"kind": "income", "line_year": 2026}, rules.NO_THRESHOLD)}
    )
    assert total == 0
    assert lines[0]["missing"] == rules.NO_THRESHOLD
    assert "2026" in rules.missing_text(lines[0])
    assert rules.missing_lines(lines) == lines


# --- over the registry ---------------------------------------------------------------------


def _income(household, per_capita: Decimal, *, members: int, medical=Decimal("0"), year=2025):
    """An income record giving exactly ``per_capita`` for ``members`` residents."""
    hs.income_record_set(
        actor=None,
        household=household,
        year=year,
        wages=str(per_capita * members),
        compliant_medical_spending=str(medical),
    )


@pytest.fixture
def model(db):
    return ScoringModel.objects.get(county__isnull=True, version=1)


def test_the_default_model_is_loaded_with_its_indicators(model):
    kinds = list(model.indicators.values_list("kind", flat=True))
    assert kinds == list(IndicatorKind.values)
    assert sum(max(b.points for b in i.bands.all()) for i in model.indicators.all()) == 100


def test_household_facts_read_the_registry(household, areas):
    person = household.members.order_by("id").first()
    hs.person_update(
        actor=None,
        person=person,
        labour_capacity=LabourCapacity.LOST,
        health_status=HealthStatus.SERIOUS,
        school_status=SchoolStatus.NONE,
    )
    second = household.members.order_by("id").last()
    hs.person_update(
        actor=None, person=second, school_status=SchoolStatus.SENIOR, disability=Disability.GENERAL
    )
    hs.household_update(actor=None, household=household, housing_grade="C", drinking_water_secure=False)
    _income(household, LINE, members=2, medical=LINE)
    facts = scoring.household_facts(household, TODAY)
    assert facts["income"].value == 1
    assert facts["medical"].value == Fraction(1, 2)  # 8800 for two people against the line
    assert facts["students"].value == 1
    assert facts["labour"].value == Fraction(1, 2)
    assert facts["health"].value == 2
    assert facts["housing"].value == 3
    assert facts["guarantees"].value == 1
    assert facts["income"].source == {"kind": "income", "income_year": 2025, "line_year": 2026}
    _m, total, lines = scoring.household_score(household, today=TODAY)
    by_kind = {line["kind"]: line["points"] for line in lines}
    assert by_kind == {
        "income": 20,
        "medical": 15,
        "students": 5,
        "labour": 0,
        "health": 10,
        "housing": 8,
        "guarantees": 5,
        "dependants": 0,
    }
    assert total == Decimal("63.00")


def test_missing_income_and_line_are_named_in_the_breakdown(household):
    _m, _total, lines = scoring.household_score(household, today=TODAY)
    missing = {line["kind"]: line["missing"] for line in rules.missing_lines(lines)}
    assert missing == {"income": rules.NO_INCOME, "medical": rules.NO_INCOME}
    IncomeThreshold.objects.filter(area__isnull=True, year=2026).delete()
    _income(household, Decimal("100"), members=2)
    _m, _total, lines = scoring.household_score(household, today=TODAY)
    missing = {line["kind"]: line["missing"] for line in rules.missing_lines(lines)}
    assert missing == {"income": rules.NO_THRESHOLD, "medical": rules.NO_THRESHOLD}


def test_a_household_without_resident_members_names_it(areas):
    empty = hf.household(areas["v11"], members=0)
    _m, _total, lines = scoring.household_score(empty, today=TODAY)
    missing = {line["kind"] for line in rules.missing_lines(lines)}
    assert {"labour", "dependants"} <= missing


def test_county_scoring_in_sql_equals_the_pure_scoring(areas, model):
    """The set-based scoring gives each household what the one-household scoring gives,
    boundaries included (per-capita exactly at the line, 1.5 and 2 times it)."""
    households = []
    for i, (per_capita, medical) in enumerate(
        [
            (LINE, Decimal("0")),
            (LINE - 1, LINE),
            (LINE * Decimal("1.5"), LINE * Decimal("0.4")),
            (LINE * 2, Decimal("0")),
            (Decimal("0"), Decimal("8800")),
            (None, None),
        ]
    ):
        hh = hf.household(areas["v11" if i % 2 else "v21"], labour=["normal", "lost", "none"][: 1 + i % 3])
        if per_capita is not None:
            _income(hh, per_capita, members=len(hh.members.all()), medical=medical)
        if i == 3:
            hs.household_update(actor=None, household=hh, housing_grade="D", food_clothing_secure=False)
        households.append(hh)
    written = scoring.score_households(area_code=areas["county"].code, now=at(TODAY))
    assert written == {"counties": 1, "households": len(households)}
    stored = dict(HouseholdScore.objects.values_list("household_id", "score"))
    for hh in households:
        _m, total, _lines = scoring.household_score(hh, today=TODAY)
        assert stored[hh.pk] == total, hh
    assert len(set(stored.values())) > 3
    assert {row.computed_at for row in HouseholdScore.objects.all()} == {at(TODAY)}
    assert {row.model_id for row in HouseholdScore.objects.all()} == {model.pk}
    # idempotent: a second run replaces the rows
    assert scoring.score_households(now=at(TODAY))["households"] == len(households)
    assert HouseholdScore.objects.count() == len(households)


def test_county_scoring_refuses_a_user_outside(areas, cadre, township_reviewer, county_approver, household):
    with pytest.raises(NotAllowed):
        scoring.score_households(area_code=areas["county"].code, now=at(TODAY), actor=cadre)
    with pytest.raises(NotAllowed):
        scoring.score_households(area_code=areas["county"].code, now=at(TODAY), actor=township_reviewer)
    done = scoring.score_households(area_code=areas["t1"].code, now=at(TODAY), actor=township_reviewer)
    assert done == {"counties": 1, "households": 1}
    done = scoring.score_households(area_code=areas["county"].code, now=at(TODAY), actor=county_approver)
    assert done["households"] == 1


# --- cases: the score kept with its version ---------------------------------------------------


def _new_version(county=None, points=50) -> ScoringModel:
    new = ScoringModel.objects.create(county=county, version=2, name="v2", active=True)
    ind = ScoringIndicator.objects.create(model=new, kind="income", weight=Decimal("1"))
    ScoringBand.objects.create(indicator=ind, lower=None, upper=Decimal("1"), points=points)
    return new


def test_a_case_keeps_its_score_and_a_new_model_leaves_it(household, cadre, model, areas):
    _income(household, Decimal("5000"), members=2)
    case = open_case(household, cadre, d(3, 1))
    case.refresh_from_db()
    assert case.score_model == model
    assert case.score == Decimal("35.00")
    assert case.score_breakdown[0]["kind"] == "income"
    model.refresh_from_db()
    assert model.locked
    log = StatusChange.objects.get(case=case, action="score")
    assert log.data["version"] == 1

    new = _new_version(county=areas["county"])
    case.refresh_from_db()
    assert (case.score, case.score_model_id) == (Decimal("35.00"), model.pk)

    # a case opened now takes the county's newer version
    other = hf.household(areas["v11"], members=1)
    _income(other, Decimal("100"), members=1)
    later = open_case(other, cadre, d(3, 2))
    later.refresh_from_db()
    assert (later.score, later.score_model_id) == (Decimal("50.00"), new.pk)

    # the reviewer recomputes the first case: the new version, the old score in the log
    scoring.case_rescore(actor=cadre, case_id=case.pk, now=at(d(3, 3)))
    case.refresh_from_db()
    assert (case.score, case.score_model_id) == (Decimal("50.00"), new.pk)
    last = StatusChange.objects.filter(case=case, action="score").latest("id")
    assert last.data["previous"] == {"score": "35.00", "model": model.pk}
    assert last.actor == cadre


def test_another_countys_model_is_not_used(household, cadre, model, other_county):
    _new_version(county=other_county["county"], points=99)
    _income(household, Decimal("5000"), members=2)
    case = open_case(household, cadre, d(3, 1))
    case.refresh_from_db()
    assert case.score_model == model


def test_an_inactive_version_is_not_used(household, cadre, model, areas):
    new = _new_version(county=areas["county"])
    new.active = False
    new.save()
    case = open_case(household, cadre, d(3, 1))
    case.refresh_from_db()
    assert case.score_model == model


def test_rescore_is_refused_outside_the_area_and_after_identification(household, cadre, other_county, model):
    case = open_case(household, cadre, d(3, 1))
    with pytest.raises(NotAllowed):
        scoring.case_rescore(actor=other_county["cadre"], case_id=case.pk, now=at(d(3, 2)))
    type(case).objects.filter(pk=case.pk).update(status=CaseStatus.NOT_INCLUDED)
    with pytest.raises(InvalidTransition):
        scoring.case_rescore(actor=cadre, case_id=case.pk, now=at(d(3, 2)))


def test_without_a_model_a_case_opens_unscored(household, cadre):
    ScoringModel.objects.update(active=False)
    case = open_case(household, cadre, d(3, 1))
    case.refresh_from_db()
    assert case.score is None and case.score_breakdown == []
    with pytest.raises(InvalidTransition):
        scoring.case_rescore(actor=cadre, case_id=case.pk, now=at(d(3, 2)))


def test_dependants_count_children_and_elderly(areas):
    hh = hf.household(areas["v11"], members=0)
    today = dt.date(2026, 3, 1)
    for birth in (dt.date(2015, 1, 1), dt.date(1950, 1, 1), dt.date(1990, 1, 1), dt.date(2010, 3, 2)):
        hs.person_add(actor=None, household=hh, id_number=hf.id_number(birth), name="成员")
    facts = scoring.household_facts(hh, today)
    # 2015 (11), 1950 (76) and 2010-03-02 (15 on the day) are dependants; 1990 is not
    assert facts["dependants"].value == Fraction(3, 4)


def test_the_nightly_task_scores_every_county_under_a_run_record(areas, household, other_county):
    from monitoring import tasks
    from monitoring.models import RunStatus, TaskName, TaskRun

    hf.household(other_county["village"], members=1)
    result = tasks.household_scores.delay().get()
    run = TaskRun.objects.get(pk=result["run"])
    assert run.task == TaskName.HOUSEHOLD_SCORES and run.status == RunStatus.SUCCEEDED
    assert run.counts == {"counties": 2, "households": 2}
    assert HouseholdScore.objects.count() == 2
