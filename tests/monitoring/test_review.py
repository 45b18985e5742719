"""The periodic risk review (风险复核): system clues from the registry's own figures.

Every test passes an explicit ``now`` (Asia/Shanghai); the seeded reference data gives the
default rules (income_near 10 %, income_drop 30 %, medical 5,000 / 20,000 yuan) and the
reference monitoring line of 8,800 yuan for 2025 and 2026.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.errors import ValidationError
from accounts.models import Area, AreaLevel, Notification, NotificationKind, Role
from households import services as household_services
from households.models import HouseholdType, IncomeRecord
from monitoring.models import (
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    IncomeThreshold,
    ReviewRule,
    RiskType,
    RunStatus,
    StatusChange,
    TaskName,
    TaskRun,
)
from monitoring.models import ReviewRuleCode as R
from monitoring.services.review import review_county, risk_review, rules_for
from monitoring.services.runs import task_run
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import SH

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=SH)
TODAY = dt.date(2026, 11, 22)
COUNTY = "130727000000"
LINE = Decimal("8800.00")

GUARANTEES = [
    ("food_clothing_secure", R.GUARANTEE_FOOD_CLOTHING, "99"),
    ("compulsory_education_secure", R.GUARANTEE_EDUCATION, "09"),
    ("medical_insurance_secure", R.GUARANTEE_MEDICAL, "01"),
    ("housing_secure", R.GUARANTEE_HOUSING, "10"),
    ("drinking_water_secure", R.GUARANTEE_WATER, "11"),
]


# --- helpers -------------------------------------------------------------------------------


def household(village, **fields):
    return hf.household(village, **fields)


def income(hh, year: int, per_capita, *, medical="0", members: int = 1) -> IncomeRecord:
    """A record with its computed fields set directly (the year is not checked against the
    real clock, so future years can be written)."""
    pc = Decimal(str(per_capita))
    return IncomeRecord.objects.create(
        household=hh,
        year=year,
        members=members,
        wages=pc * members,
        net_income=pc * members,
        per_capita_net_income=pc,
        compliant_medical_spending=Decimal(str(medical)),
    )


def review(area_code: str = COUNTY, now: dt.datetime = NOW, **kw) -> dict:
    return risk_review(area_code=area_code, now=now, **kw)


def raised(hh=None, rule: str | None = None) -> list[tuple[str, str]]:
    """(rule code, period) of the system clues, of one household and/or rule."""
    qs = Clue.objects.exclude(rule_code="")
    if hh is not None:
        qs = qs.filter(household=hh)
    if rule is not None:
        qs = qs.filter(rule_code=rule)
    return sorted(qs.values_list("rule_code", "period"))


def county_rule(county: Area, code: str, **fields) -> ReviewRule:
    default = ReviewRule.objects.get(county__isnull=True, code=code)
    fields.setdefault("risk_type", default.risk_type)
    fields.setdefault("parameter", default.parameter)
    return ReviewRule.objects.create(county=county, code=code, **fields)


def second_county() -> dict[str, Area]:
    """Another county of Zhangjiakou with one township and one village."""
    city = Area.objects.get(code="130700000000")
    county = af.area("130728000000", "怀安县", AreaLevel.COUNTY, city)
    township = af.area("130728100000", "柴沟堡镇", AreaLevel.TOWNSHIP, county)
    village = af.area("130728100201", "五村", AreaLevel.VILLAGE, township)
    return {"county": county, "township": township, "village": village}


@pytest.fixture
def v11(areas):
    return areas["v11"]


# --- the seeded rules -----------------------------------------------------------------------


def test_the_default_rules_are_seeded(areas):
    rules = rules_for(COUNTY)
    assert set(rules) == set(R.values)
    assert rules[R.INCOME_NEAR].parameter == Decimal("10")
    assert rules[R.INCOME_DROP].parameter == Decimal("30")
    assert rules[R.MEDICAL_OUT_OF_POVERTY].parameter == Decimal("5000")
    assert rules[R.MEDICAL_OTHER].parameter == Decimal("20000")
    assert IncomeThreshold.objects.get(area__isnull=True, year=2026).amount == LINE
    assert IncomeThreshold.objects.get(area__isnull=True, year=2025).amount == LINE


def test_nothing_to_review(areas):
    household(areas["v11"])
    counts = review()
    assert counts == {
        "households": 1,
        "candidates": 0,
        "clues": 0,
        "already_raised": 0,
        "under_open_case": 0,
        "by_rule": {},
    }
    assert not Clue.objects.exists()


# --- income below the line ------------------------------------------------------------------


def test_income_exactly_at_the_line_raises_no_below_clue(v11):
    hh = household(v11)
    income(hh, 2026, "8800.00")
    review()
    assert raised(hh, R.INCOME_BELOW) == []


def test_income_one_cent_below_the_line_raises_a_clue(v11, county_approver):
    hh = household(v11)
    head = hh.head
    income(hh, 2026, "8799.99")

    counts = review(actor=county_approver)

    assert counts["clues"] == 1
    assert counts["candidates"] == 1
    assert counts["by_rule"] == {"income_below": 1}
    clue = Clue.objects.get(household=hh)
    assert clue.rule_code == R.INCOME_BELOW
    assert clue.period == "2026"
    assert clue.channel == Channel.SYSTEM
    assert clue.status == ClueStatus.PENDING
    assert clue.found_date == TODAY
    assert clue.area_code == v11.code
    assert clue.person_id == head.pk
    assert clue.name == head.name
    assert clue.amount == Decimal("8799.99")
    assert clue.case_id is None
    rule = ReviewRule.objects.get(county__isnull=True, code=R.INCOME_BELOW)
    assert list(clue.risk_types.values_list("code", flat=True)) == [rule.risk_type.code] == ["99"]
    assert "2026" in clue.description
    assert "8,799.99" in clue.description
    assert "8,800.00" in clue.description
    assert "低于" in clue.description

    change = StatusChange.objects.get(object_type="clue", object_id=clue.pk)
    assert change.action == "receive"
    assert change.from_status == ""
    assert change.to_status == ClueStatus.PENDING
    assert change.at == NOW
    assert change.actor == county_approver
    assert change.data == {"channel": "system", "rule": "income_below", "period": "2026"}


def test_income_below_through_the_registry_service(v11):
    """Per-capita computed by income_record_set: 17,599.98 yuan for two residents."""
    hh = household(v11, members=2)
    record = household_services.income_record_set(actor=None, household=hh, year=2026, wages="17599.98")
    assert record.per_capita_net_income == Decimal("8799.99")
    review()
    assert raised(hh) == [("income_below", "2026")]
    assert Clue.objects.get(household=hh).amount == Decimal("8799.99")


def test_the_review_runs_without_an_actor(v11):
    income(household(v11), 2026, "100")
    review()
    assert StatusChange.objects.get(object_type="clue").actor is None


def test_a_negative_per_capita_is_below_the_line(v11):
    hh = household(v11)
    income(hh, 2026, "-50.00")
    review()
    assert raised(hh, R.INCOME_BELOW) == [("income_below", "2026")]
    assert Clue.objects.get(household=hh, rule_code=R.INCOME_BELOW).amount == Decimal("-50.00")


def test_a_record_without_a_per_capita_is_not_reviewed(v11):
    hh = household(v11)
    IncomeRecord.objects.create(household=hh, year=2026, members=0, per_capita_net_income=None)
    review()
    assert raised(hh) == []


# --- income near the line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_capita", "expected"),
    [
        ("8799.99", [("income_below", "2026")]),
        ("8800.00", [("income_near", "2026")]),
        ("9000.00", [("income_near", "2026")]),
        ("9679.99", [("income_near", "2026")]),
        ("9680.00", []),  # 8,800 × 1.10 exactly
        ("9680.01", []),
        ("50000.00", []),
    ],
)
def test_income_near_boundaries(v11, per_capita, expected):
    hh = household(v11)
    income(hh, 2026, per_capita)
    review()
    assert raised(hh) == expected


def test_a_near_clue_describes_the_margin(v11):
    hh = household(v11)
    income(hh, 2026, "9000")
    counts = review()
    assert counts["by_rule"] == {"income_near": 1}
    clue = Clue.objects.get(household=hh)
    assert clue.amount == Decimal("9000.00")
    assert list(clue.risk_types.values_list("code", flat=True)) == ["99"]
    assert "9,000.00" in clue.description
    assert "8,800.00" in clue.description
    assert "10%" in clue.description


def test_one_household_is_not_both_below_and_near(v11):
    households = [household(v11) for _ in range(3)]
    for hh, pc in zip(households, ("0.00", "4400", "8799.99"), strict=True):
        income(hh, 2026, pc)
    counts = review()
    assert counts["by_rule"] == {"income_below": 3}
    assert not Clue.objects.filter(rule_code=R.INCOME_NEAR).exists()


# --- income drop ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "dropped"),
    [
        ("10000", "7000.00", False),  # exactly 30 %
        ("10000", "6999.99", True),
        ("10000", "7000.01", False),
        ("20000", "14000.00", False),
        ("20000", "13999.99", True),
        ("0", "5000", False),
        ("-100", "-200", False),
    ],
)
def test_income_drop_boundaries(v11, previous, current, dropped):
    hh = household(v11)
    income(hh, 2025, previous)
    income(hh, 2026, current)
    review()
    assert raised(hh, R.INCOME_DROP) == ([("income_drop", "2026")] if dropped else [])


def test_a_drop_clue_alone_above_the_line(v11):
    hh = household(v11)
    income(hh, 2025, "20000")
    income(hh, 2026, "13999.99")
    counts = review()
    assert raised(hh) == [("income_drop", "2026")]
    assert counts["by_rule"] == {"income_drop": 1}
    clue = Clue.objects.get(household=hh)
    assert clue.amount == Decimal("13999.99")
    assert list(clue.risk_types.values_list("code", flat=True)) == ["99"]
    assert "13,999.99" in clue.description
    assert "20,000.00" in clue.description
    assert "30.0%" in clue.description


def test_a_drop_below_the_line_raises_both_clues(v11):
    hh = household(v11)
    income(hh, 2025, "10000")
    income(hh, 2026, "6999.99")
    review()
    assert raised(hh) == [("income_below", "2026"), ("income_drop", "2026")]


def test_no_drop_without_the_previous_year(v11):
    hh = household(v11)
    income(hh, 2024, "30000")  # two years before: not "the year before"
    income(hh, 2026, "10000")
    review()
    assert raised(hh) == []


def test_no_drop_when_the_previous_per_capita_is_missing(v11):
    hh = household(v11)
    IncomeRecord.objects.create(household=hh, year=2025, members=0, per_capita_net_income=None)
    income(hh, 2026, "10000")
    review()
    assert raised(hh) == []


def test_a_rise_is_no_drop(v11):
    hh = household(v11)
    income(hh, 2025, "10000")
    income(hh, 2026, "30000")
    review()
    assert raised(hh) == []


# --- medical spending -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "spending", "expected"),
    [
        (HouseholdType.OUT_OF_POVERTY, "5000.00", []),
        (HouseholdType.OUT_OF_POVERTY, "5000.01", [("medical_out_of_poverty", "2026")]),
        (HouseholdType.OUT_OF_POVERTY, "20000.01", [("medical_out_of_poverty", "2026")]),
        (HouseholdType.ORDINARY, "6000.00", []),
        (HouseholdType.ORDINARY, "20000.00", []),
        (HouseholdType.ORDINARY, "20000.01", [("medical_other", "2026")]),
        (HouseholdType.ORDINARY, "0", []),
    ],
)
def test_medical_spending_boundaries(v11, kind, spending, expected):
    hh = household(v11, household_type=kind)
    income(hh, 2026, "30000", medical=spending)
    review()
    assert raised(hh) == expected


def test_a_medical_clue(v11):
    hh = household(v11, household_type=HouseholdType.OUT_OF_POVERTY)
    income(hh, 2026, "30000", medical="5000.01")
    counts = review()
    assert counts["by_rule"] == {"medical_out_of_poverty": 1}
    clue = Clue.objects.get(household=hh)
    assert clue.amount == Decimal("5000.01")
    assert list(clue.risk_types.values_list("code", flat=True)) == ["01"]
    assert "5,000.01" in clue.description
    assert "5,000.00" in clue.description


def test_medical_and_income_rules_together(v11):
    hh = household(v11)
    income(hh, 2025, "12000")
    income(hh, 2026, "3000", medical="25000")
    review()
    assert raised(hh) == [("income_below", "2026"), ("income_drop", "2026"), ("medical_other", "2026")]


# --- which income record --------------------------------------------------------------------


def test_only_the_latest_record_counts(v11):
    low_then_high, high_then_low = household(v11), household(v11)
    income(low_then_high, 2025, "5000")
    income(low_then_high, 2026, "15000")
    income(high_then_low, 2025, "15000", medical="30000")
    income(high_then_low, 2026, "8000")
    review()
    assert raised(low_then_high) == []
    # neither the 2025 medical spending nor a 2025 clue: only the 2026 record
    assert raised(high_then_low) == [("income_below", "2026"), ("income_drop", "2026")]


def test_last_year_record_counts_when_there_is_none_this_year(v11):
    hh = household(v11)
    income(hh, 2025, "8000")
    review()
    assert raised(hh) == [("income_below", "2025")]
    assert "2025" in Clue.objects.get(household=hh).description


def test_a_record_older_than_two_years_is_ignored(v11):
    hh = household(v11)
    income(hh, 2024, "100", medical="99999")
    assert review()["candidates"] == 0
    assert raised(hh) == []
    # the same record a year earlier is within the window (line 8,500 for 2024)
    review(now=dt.datetime(2025, 6, 1, 2, 0, tzinfo=SH))
    assert raised(hh) == [("income_below", "2024"), ("medical_other", "2024")]


def test_a_future_year_is_ignored(v11):
    only_future, with_current = household(v11), household(v11)
    income(only_future, 2027, "100")
    income(with_current, 2026, "15000")
    income(with_current, 2027, "100")
    review()
    assert raised(only_future) == []
    assert raised(with_current) == []


def test_the_year_follows_the_shanghai_date(v11):
    """23:30 UTC on 31 December 2026 is already 2027 in Shanghai."""
    hh = household(v11)
    income(hh, 2025, "100")
    review(now=dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC))
    assert raised(hh) == [("income_below", "2025")]
    Clue.objects.all().delete()
    StatusChange.objects.all().delete()
    review(now=dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC))  # 2027-01-01 00:30 in Shanghai
    assert raised(hh) == []  # 2025 is now older than two years


def test_a_naive_now_is_refused(v11):
    with pytest.raises(ValueError, match="naive"):
        review(now=dt.datetime(2026, 11, 22, 2, 0))  # noqa: DTZ001


# --- guarantee flags ------------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "rule", "risk"), GUARANTEES)
def test_a_bad_guarantee_flag_raises_its_clue(v11, flag, rule, risk):
    hh = household(v11, **{flag: False})
    counts = review()
    assert counts["by_rule"] == {rule.value: 1}
    assert raised(hh) == [(rule.value, "2026")]
    clue = Clue.objects.get(household=hh)
    assert clue.status == ClueStatus.PENDING
    assert clue.channel == Channel.SYSTEM
    assert clue.amount is None
    assert str(rule.label) in clue.description
    assert list(clue.risk_types.values_list("code", flat=True)) == [risk]
    assert ReviewRule.objects.get(county__isnull=True, code=rule).risk_type.code == risk
    assert StatusChange.objects.filter(object_type="clue", object_id=clue.pk, action="receive").count() == 1


def test_every_bad_flag_of_one_household(v11):
    hh = household(v11, **{flag: False for flag, _, _ in GUARANTEES})
    counts = review()
    assert counts["clues"] == 5
    assert raised(hh) == sorted((rule.value, "2026") for _, rule, _ in GUARANTEES)


def test_guarantee_clues_take_the_review_year(v11):
    hh = household(v11, housing_secure=False)
    review()
    review(now=dt.datetime(2027, 3, 1, 2, 0, tzinfo=SH))
    assert raised(hh) == [("guarantee_housing", "2026"), ("guarantee_housing", "2027")]


def test_good_flags_raise_nothing(v11):
    household(v11)
    assert review()["candidates"] == 0


# --- idempotency ----------------------------------------------------------------------------


def test_a_second_run_raises_nothing_new(v11, county_approver):
    hh = household(v11, drinking_water_secure=False)
    income(hh, 2026, "8000")
    first = review()
    assert first["clues"] == 2
    ids = sorted(Clue.objects.values_list("id", flat=True))
    changes = StatusChange.objects.count()
    notes = Notification.objects.count()

    second = review()

    assert second["clues"] == 0
    assert second["candidates"] == 2
    assert second["already_raised"] == 2
    assert second["by_rule"] == {}
    assert sorted(Clue.objects.values_list("id", flat=True)) == ids
    assert StatusChange.objects.count() == changes
    assert Notification.objects.count() == notes == 1


def test_a_dismissed_clue_is_not_raised_again(v11):
    hh = household(v11)
    income(hh, 2026, "8000")
    review()
    Clue.objects.filter(household=hh).update(status=ClueStatus.DISMISSED)
    counts = review()
    assert counts["clues"] == 0
    assert counts["already_raised"] == 1
    assert Clue.objects.filter(household=hh).count() == 1


def test_a_new_figure_in_the_same_year_does_not_raise_again(v11):
    hh = household(v11)
    record = income(hh, 2026, "8000")
    review()
    IncomeRecord.objects.filter(pk=record.pk).update(per_capita_net_income=Decimal("7000"))
    assert review()["already_raised"] == 1
    assert Clue.objects.count() == 1


def test_clues_of_other_channels_do_not_count_as_raised(v11):
    hh = household(v11)
    income(hh, 2026, "8000")
    Clue.objects.create(
        channel=Channel.CADRE_SCREENING,
        found_date=TODAY,
        household=hh,
        area_code=hh.area_code,
        status=ClueStatus.DISMISSED,
    )
    assert review()["clues"] == 1


# --- open cases -----------------------------------------------------------------------------


def test_an_open_case_of_the_rule_risk_type_stops_the_clue(v11):
    hh = household(v11)
    income(hh, 2026, "8000")
    mf.case(hh, status=CaseStatus.MONITORED, risks=("99",))
    counts = review()
    assert counts["clues"] == 0
    assert counts["under_open_case"] == 1
    assert counts["candidates"] == 1
    assert raised(hh) == []


@pytest.mark.parametrize(
    "status",
    [
        CaseStatus.IDENTIFYING,
        CaseStatus.PROVISIONAL,
        CaseStatus.SECURED_TRACKING,
        CaseStatus.EXIT_IN_PROGRESS,
    ],
)
def test_every_open_status_stops_the_clue(v11, status):
    hh = household(v11, housing_secure=False)
    mf.case(hh, status=status, risks=("10",))
    assert review()["under_open_case"] == 1
    assert raised(hh) == []


def test_an_open_case_of_another_risk_type_does_not_stop_the_clue(v11):
    hh = household(v11)
    income(hh, 2026, "8000")
    mf.case(hh, status=CaseStatus.MONITORED, risks=("01",))
    counts = review()
    assert counts["clues"] == 1
    assert counts["under_open_case"] == 0
    assert raised(hh) == [("income_below", "2026")]


def test_an_open_case_stops_only_the_rules_of_its_risk_types(v11):
    hh = household(v11, housing_secure=False, drinking_water_secure=False)
    mf.case(hh, status=CaseStatus.MONITORED, risks=("10", "01"))
    counts = review()
    assert counts["under_open_case"] == 1
    assert raised(hh) == [("guarantee_water", "2026")]


@pytest.mark.parametrize("status", [CaseStatus.ELIMINATED, CaseStatus.NOT_INCLUDED])
def test_a_closed_case_does_not_stop_the_clue(v11, status):
    hh = household(v11)
    income(hh, 2026, "8000")
    mf.case(hh, status=status, risks=("99",))
    assert review()["clues"] == 1


# --- county rules ---------------------------------------------------------------------------


def test_a_county_parameter_replaces_the_default(areas, v11):
    county_rule(areas["county"], R.INCOME_NEAR, parameter=Decimal("20"))
    hh = household(v11)
    income(hh, 2026, "10559.99")  # below 8,800 × 1.20 = 10,560
    edge = household(v11)
    income(edge, 2026, "10560.00")
    review()
    assert raised(hh) == [("income_near", "2026")]
    assert raised(edge) == []
    assert "20%" in Clue.objects.get(household=hh).description


def test_a_county_can_switch_a_rule_off(areas, v11):
    county_rule(areas["county"], R.INCOME_BELOW, is_active=False)
    hh = household(v11)
    income(hh, 2026, "8000")
    near = household(v11)
    income(near, 2026, "9000")
    counts = review()
    assert raised(hh) == []  # not turned into a "near" clue either
    assert raised(near) == [("income_near", "2026")]
    assert counts["by_rule"] == {"income_near": 1}


def test_a_county_can_switch_every_income_rule_off(areas, v11):
    for code in (R.INCOME_BELOW, R.INCOME_NEAR, R.INCOME_DROP, R.MEDICAL_OUT_OF_POVERTY, R.MEDICAL_OTHER):
        county_rule(areas["county"], code, is_active=False)
    hh = household(v11, food_clothing_secure=False)
    income(hh, 2025, "50000")
    income(hh, 2026, "100", medical="99999")
    review()
    assert raised(hh) == [("guarantee_food_clothing", "2026")]


def test_a_county_rule_with_only_the_near_rule_off(areas, v11):
    county_rule(areas["county"], R.INCOME_NEAR, is_active=False)
    below, near = household(v11), household(v11)
    income(below, 2026, "8799.99")
    income(near, 2026, "8800")
    review()
    assert raised(below) == [("income_below", "2026")]
    assert raised(near) == []


def test_a_county_guarantee_rule_switched_off(areas, v11):
    county_rule(areas["county"], R.GUARANTEE_HOUSING, is_active=False)
    hh = household(v11, housing_secure=False, drinking_water_secure=False)
    review()
    assert raised(hh) == [("guarantee_water", "2026")]


def test_a_county_medical_amount_and_risk_type(areas, v11):
    county_rule(
        areas["county"],
        R.MEDICAL_OUT_OF_POVERTY,
        parameter=Decimal("3000"),
        risk_type=RiskType.objects.get(code="03"),
    )
    hh = household(v11, household_type=HouseholdType.OUT_OF_POVERTY)
    income(hh, 2026, "30000", medical="3000.01")
    review()
    clue = Clue.objects.get(household=hh)
    assert clue.rule_code == R.MEDICAL_OUT_OF_POVERTY
    assert list(clue.risk_types.values_list("code", flat=True)) == ["03"]


def test_a_county_rule_applies_to_that_county_only(areas, v11):
    other = second_county()
    county_rule(other["county"], R.INCOME_BELOW, is_active=False)
    county_rule(other["county"], R.INCOME_NEAR, parameter=Decimal("50"))
    here, there, there_near = household(v11), household(other["village"]), household(other["village"])
    income(here, 2026, "8000")
    income(there, 2026, "8000")
    income(there_near, 2026, "13000")  # within 50 % there, not within 10 % here
    assert rules_for(COUNTY)[R.INCOME_NEAR].parameter == Decimal("10")
    assert R.INCOME_BELOW not in rules_for(other["county"].code)

    totals = risk_review(now=NOW)

    assert totals["counties"] == 2
    assert totals["clues"] == 2
    assert raised(here) == [("income_below", "2026")]
    assert raised(there) == []
    assert raised(there_near) == [("income_near", "2026")]


def test_a_county_threshold_replaces_the_reference_line(areas, v11):
    IncomeThreshold.objects.create(area=areas["province"], year=2026, amount=Decimal("9500"))
    hh = household(v11)
    income(hh, 2026, "9499.99")
    review()
    assert raised(hh) == [("income_below", "2026")]
    assert "9,500.00" in Clue.objects.get(household=hh).description


# --- scope ----------------------------------------------------------------------------------


@pytest.fixture
def everywhere(areas):
    """A household below the line in each village."""
    out = {}
    for key in ("v11", "v12", "v21", "v22"):
        out[key] = household(areas[key])
        income(out[key], 2026, "8000")
    return out


def _villages_with_clues(everywhere) -> set[str]:
    ids = set(Clue.objects.values_list("household_id", flat=True))
    return {key for key, hh in everywhere.items() if hh.pk in ids}


def test_a_village_review_reviews_that_village_only(areas, everywhere):
    counts = review(areas["v11"].code)
    assert counts["households"] == 1
    assert counts["clues"] == 1
    assert _villages_with_clues(everywhere) == {"v11"}


def test_a_township_review(areas, everywhere):
    counts = review(areas["t2"].code)
    assert counts["households"] == 2
    assert _villages_with_clues(everywhere) == {"v21", "v22"}


def test_a_county_review(everywhere):
    counts = review(COUNTY)
    assert counts["households"] == 4
    assert counts["clues"] == 4
    assert _villages_with_clues(everywhere) == {"v11", "v12", "v21", "v22"}


def test_a_village_review_then_the_county_review(areas, everywhere):
    review(areas["v11"].code)
    counts = review(COUNTY)
    assert counts["clues"] == 3
    assert counts["already_raised"] == 1


def test_review_county_with_a_prefix(areas, everywhere):
    counts = review_county(COUNTY, prefix=areas["t1"].prefix, now=NOW)
    assert counts["clues"] == 2
    assert _villages_with_clues(everywhere) == {"v11", "v12"}


@pytest.mark.parametrize(
    "code",
    [
        "13072710020",  # 11 digits
        "1307271002011",  # 13 digits
        "13072710020x",
        "130727100299",  # well-formed, no such area
        "130000000000",  # a province
        "130700000000",  # a city
    ],
)
def test_an_invalid_area_code_is_refused(areas, everywhere, code):
    with pytest.raises(ValidationError) as exc:
        review(code)
    assert "area_code" in exc.value.message_dict
    assert not Clue.objects.exists()


def test_no_area_reviews_every_county_with_households(areas, everywhere):
    second_county()  # no household there
    totals = risk_review(now=NOW)
    assert totals["counties"] == 1
    assert totals["households"] == 4
    assert totals["clues"] == 4
    assert totals["by_rule"] == {"income_below": 4}


# --- another year ---------------------------------------------------------------------------


def test_the_same_household_in_a_new_period_gets_a_new_clue(v11):
    hh = household(v11)
    income(hh, 2026, "8000")
    review()
    now_2027 = dt.datetime(2027, 11, 22, 2, 0, tzinfo=SH)

    # no 2027 record yet: the 2026 record is still the latest, already raised
    counts = review(now=now_2027)
    assert counts["clues"] == 0
    assert counts["already_raised"] == 1

    IncomeThreshold.objects.create(year=2027, amount=Decimal("9000"))
    income(hh, 2027, "8999.99")
    counts = review(now=now_2027)
    assert counts["clues"] == 1
    assert raised(hh) == [("income_below", "2026"), ("income_below", "2027")]
    clue = Clue.objects.get(household=hh, period="2027")
    assert clue.found_date == dt.date(2027, 11, 22)
    assert "9,000.00" in clue.description


def test_without_a_line_for_the_year_no_income_clue(v11):
    hh = household(v11)
    income(hh, 2026, "15000")
    income(hh, 2027, "100")  # no threshold for 2027
    review(now=dt.datetime(2027, 11, 22, 2, 0, tzinfo=SH))
    assert raised(hh, R.INCOME_BELOW) == []
    assert raised(hh, R.INCOME_NEAR) == []
    # the drop rule needs no line
    assert raised(hh, R.INCOME_DROP) == [("income_drop", "2027")]


def test_with_no_line_for_either_year_only_the_other_rules_apply(v11):
    hh = household(v11)
    income(hh, 2027, "20000")
    income(hh, 2028, "100", medical="25000")  # no threshold for 2027 or 2028
    counts = review(now=dt.datetime(2028, 6, 1, 2, 0, tzinfo=SH))
    assert raised(hh) == [("income_drop", "2028"), ("medical_other", "2028")]
    assert counts["by_rule"] == {"income_drop": 1, "medical_other": 1}


def test_a_latest_record_without_a_per_capita_falls_back_to_the_year_before(v11):
    """Current behaviour: the latest record *with a figure* counts, so a 2026 record without
    resident members leaves the 2025 figure to be reviewed (a 2025 clue)."""
    hh = household(v11)
    income(hh, 2025, "8000")
    IncomeRecord.objects.create(household=hh, year=2026, members=0, per_capita_net_income=None)
    review()
    assert raised(hh) == [("income_below", "2025")]


# --- notifications --------------------------------------------------------------------------


@pytest.fixture
def approver(areas):
    return af.user(Role.COUNTY_APPROVER, areas["county"], username="approver_mail", email="a@example.org")


def test_county_approvers_get_one_notification_per_run(
    areas, v11, approver, county_approver, township_reviewer
):
    af.user(Role.COUNTY_APPROVER, areas["county"], username="gone", is_active=False)
    other = second_county()
    elsewhere = af.user(Role.COUNTY_APPROVER, other["county"], username="approver_elsewhere")
    for pc in ("100", "8000", "9000"):
        income(household(v11), 2026, pc)

    counts = review()

    assert counts["clues"] == 3
    notes = Notification.objects.order_by("recipient_id")
    assert sorted(n.recipient_id for n in notes) == sorted([approver.pk, county_approver.pk])
    note = notes[0]
    assert note.kind == NotificationKind.RISK_REVIEW
    assert "3" in note.title
    assert note.area_code == COUNTY
    assert note.created_at == NOW
    assert "channel=system" in note.url
    assert "status=pending" in note.url
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    assert not Notification.objects.filter(recipient=township_reviewer).exists()

    # nothing new: no notification
    assert review()["clues"] == 0
    assert Notification.objects.count() == 2

    # a new clue: a second notification for each approver
    income(household(v11), 2026, "50")
    assert review()["clues"] == 1
    assert Notification.objects.filter(recipient=approver).count() == 2
    assert Notification.objects.filter(recipient=county_approver).count() == 2


def test_no_notification_when_every_candidate_is_under_an_open_case(v11, approver):
    hh = household(v11)
    income(hh, 2026, "8000")
    mf.case(hh, risks=("99",))
    review()
    assert not Notification.objects.exists()


def test_the_notification_is_emailed_after_commit(
    v11, approver, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.NOTIFICATION_EMAIL = True
    household(v11, housing_secure=False)
    now = timezone.now()  # the digest only takes notifications of the last two days
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = risk_review(area_code=COUNTY, now=now)
        assert mailoutbox == []  # nothing before the commit
    assert counts["clues"] == 1
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["a@example.org"]
    assert "1" in mailoutbox[0].subject
    assert Notification.objects.get(recipient=approver).emailed_at is not None

    # a rerun finds nothing new: no callback, no email
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        risk_review(area_code=COUNTY, now=now)
    assert callbacks == []
    assert len(mailoutbox) == 1


def test_no_email_when_switched_off(v11, approver, django_capture_on_commit_callbacks, mailoutbox, settings):
    settings.NOTIFICATION_EMAIL = False
    household(v11, housing_secure=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        risk_review(area_code=COUNTY, now=timezone.now())
    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.filter(recipient=approver).count() == 1


# --- set-based ------------------------------------------------------------------------------


def _candidates(village, n: int, *, mixed: bool) -> None:
    """``n`` households below the line; every third under an open case of another risk type
    (so still a clue), every fifth under one of the rule's risk type (no clue). ``mixed``:
    a drop, a medical clue and every second a bad housing flag besides."""
    for i in range(n):
        hh = household(village, housing_secure=not (mixed and i % 2))
        if mixed:
            income(hh, 2025, "20000")
        income(hh, 2026, "5000", medical="30000" if mixed else "0")
        if i % 5 == 0:
            mf.case(hh, risks=("99",))
        elif i % 3 == 0:
            mf.case(hh, risks=("01",) if not mixed else ("10",))


def test_the_number_of_queries_does_not_grow_with_households(areas, approver, django_assert_max_num_queries):
    _candidates(areas["v11"], 3, mixed=False)
    _candidates(areas["v12"], 30, mixed=False)

    with CaptureQueriesContext(connection) as few:
        small = review(areas["v11"].code)
    assert small["candidates"] == 3
    assert small["clues"] == 2
    assert small["under_open_case"] == 1
    assert len(few.captured_queries) <= 22  # (the candidates read in a transaction of their own: replica-ready)

    with django_assert_max_num_queries(len(few.captured_queries)):
        large = review(areas["v12"].code)
    assert large["candidates"] == 30
    assert large["clues"] == 24
    assert large["under_open_case"] == 6

    # a rerun over both villages reads and writes nothing per household either
    with django_assert_max_num_queries(len(few.captured_queries)):
        again = review(areas["t1"].code)
    assert again["clues"] == 0
    assert again["already_raised"] == 26


def test_only_the_bulk_insert_batches_grow(areas, approver):
    """With several clues per household, only the bulk inserts split into more statements (the
    backend's limit of parameters per statement: about 47 clues per INSERT on SQLite)."""
    _candidates(areas["v11"], 3, mixed=True)
    _candidates(areas["v12"], 30, mixed=True)

    def run(code):
        with CaptureQueriesContext(connection) as ctx:
            counts = review(code)
        sqls = [q["sql"] for q in ctx.captured_queries]
        inserts = [q for q in sqls if q.startswith("INSERT")]
        return counts, len(sqls) - len(inserts), inserts

    small, small_reads, small_inserts = run(areas["v11"].code)
    large, large_reads, large_inserts = run(areas["v12"].code)
    assert large["clues"] > 80
    assert large_reads == small_reads
    fields = [f for f in Clue._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, list(range(large["clues"])))
    batches = -(-large["clues"] // batch)
    clue_inserts = [q for q in large_inserts if q.startswith('INSERT INTO "monitoring_clue" ')]
    assert len(clue_inserts) == batches
    assert len(large_inserts) <= 3 * batches + 1  # clues, their risk types, audit rows; notification
    assert len(small_inserts) == 4


# --- run records ----------------------------------------------------------------------------


def test_task_run_records_a_successful_run(v11, operator):
    income(household(v11), 2026, "8000")
    run = task_run(
        TaskName.RISK_REVIEW, risk_review, area_code=COUNTY, now=NOW, actor=operator, celery_id="c-1"
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.task == TaskName.RISK_REVIEW
    assert run.area_code == COUNTY
    assert run.as_of == NOW
    assert run.triggered_by == operator
    assert run.celery_id == "c-1"
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.error == ""
    assert run.counts["clues"] == 1
    assert run.counts["by_rule"] == {"income_below": 1}
    assert Clue.objects.count() == 1


def test_task_run_passes_now_and_area_to_the_work(db):
    seen = {}

    def work(*, now, area_code):
        seen.update(now=now, area_code=area_code)
        return {"done": 3}

    run = task_run("visit_watch", work, area_code="130727100000", now=NOW)
    assert seen == {"now": NOW, "area_code": "130727100000"}
    assert TaskRun.objects.get(pk=run.pk).counts == {"done": 3}


def test_task_run_without_now_uses_the_clock(db):
    seen = {}

    def work(*, now, area_code):
        seen["now"] = now
        return None

    before = timezone.now()
    run = task_run("visit_watch", work)
    assert before <= seen["now"] <= timezone.now()
    assert run.area_code == ""
    assert run.counts == {}
    assert run.status == RunStatus.SUCCEEDED


def test_task_run_records_a_failure_and_reraises(db):
    def work(*, now, area_code):
        raise RuntimeError("boom in the review")

    with pytest.raises(RuntimeError, match="boom in the review"):
        task_run(TaskName.RISK_REVIEW, work, area_code=COUNTY, now=NOW)
    run = TaskRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "RuntimeError" in run.error
    assert "boom in the review" in run.error
    assert run.finished_at is not None
    assert run.counts == {}
    # a failed run does not block the next one
    assert task_run(TaskName.RISK_REVIEW, lambda **kw: {}, area_code=COUNTY, now=NOW).status == (
        RunStatus.SUCCEEDED
    )


def test_task_run_records_an_invalid_area_as_a_failure(areas):
    with pytest.raises(ValidationError):
        task_run(TaskName.RISK_REVIEW, risk_review, area_code="130000000000", now=NOW)
    assert TaskRun.objects.get().status == RunStatus.FAILED


def test_task_run_skips_while_the_same_run_is_running(db):
    running = TaskRun.objects.create(
        task=TaskName.RISK_REVIEW,
        area_code=COUNTY,
        status=RunStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=5),
        heartbeat_at=timezone.now() - dt.timedelta(seconds=10),
        as_of=NOW,
    )
    calls = []

    def work(**kw):
        calls.append(kw)
        return {}

    run = task_run(TaskName.RISK_REVIEW, work, area_code=COUNTY, now=NOW)
    assert run.status == RunStatus.SKIPPED
    assert run.pk != running.pk
    assert run.finished_at is not None
    assert calls == []
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING

    # another area, or another task, is not blocked
    assert task_run(TaskName.RISK_REVIEW, work, area_code="130727100000", now=NOW).status == (
        RunStatus.SUCCEEDED
    )
    assert task_run(TaskName.VISIT_WATCH, work, area_code=COUNTY, now=NOW).status == RunStatus.SUCCEEDED
    assert len(calls) == 2


def test_a_run_stuck_for_hours_no_longer_blocks(db):
    stuck = TaskRun.objects.create(
        task=TaskName.RISK_REVIEW,
        area_code=COUNTY,
        status=RunStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=7),
        as_of=NOW,
    )
    run = task_run(TaskName.RISK_REVIEW, lambda **kw: {"clues": 0}, area_code=COUNTY, now=NOW)
    assert run.status == RunStatus.SUCCEEDED
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED
    assert "没有心跳" in stuck.error
    assert stuck.finished_at is not None


def test_the_triage_list_filters_system_clues_by_rule_and_names_the_rule(client, areas, county_approver):
    """County approvers find the review's clues by rule; the list and the clue page say which."""
    from households.models import Household
    from monitoring.models import Clue

    hh = Household.objects.create(
        number="R-1", village=areas["v11"], area_code=areas["v11"].code, housing_secure=False
    )
    hh2 = Household.objects.create(
        number="R-2", village=areas["v11"], area_code=areas["v11"].code, drinking_water_secure=False
    )
    risk_review(area_code=areas["county"].code, now=NOW)
    housing = Clue.objects.get(household=hh)
    client.force_login(county_approver)
    page = client.get("/clues/", {"channel": "system", "rule": "guarantee_housing"})
    assert page.status_code == 200
    shown = [c.pk for c in page.context["page"].object_list]
    assert shown == [housing.pk] and Clue.objects.filter(household=hh2).exists()
    assert "住房安全出现问题" in page.content.decode()
    detail = client.get(f"/clues/{housing.pk}/").content.decode()
    assert "住房安全出现问题（2026）" in detail
    assert client.get("/clues/", {"rule": "nonsense"}).status_code == 200


def test_a_year_without_a_monitoring_line_is_reported_not_silently_skipped(areas):
    """No line for the year: income is not compared, and the run says which years lack one."""
    from households.models import Household
    from monitoring.models import IncomeThreshold

    IncomeThreshold.objects.filter(year=2026).delete()
    Household.objects.create(number="L-1", village=areas["v11"], area_code=areas["v11"].code)
    counts = risk_review(area_code=areas["county"].code, now=NOW)
    assert counts["no_line_years"] == [2026]
    totals = risk_review(now=NOW)
    assert totals["no_line"] == [f"{areas['county'].code}:2026"]
