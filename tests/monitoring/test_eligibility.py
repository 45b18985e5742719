"""Risk-elimination eligibility (monitoring.rules.eligibility)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from households import services as household_services
from monitoring.models import (
    AssistanceMeasure,
    Channel,
    Clue,
    ClueStatus,
    IncomeThreshold,
    MeasureStatus,
    Visit,
)
from monitoring.rules import eligibility
from monitoring.rules.deadlines import add_months, months_between
from monitoring.rules.eligibility import ExitFacts, check_exit
from tests.households import factories as hf
from tests.monitoring import factories as mf

GOOD = ExitFacts(
    mode="assistance",
    today=dt.date(2026, 11, 22),
    identified_on=dt.date(2026, 1, 10),
    min_months=6,
    income_year=2026,
    per_capita_income=Decimal("12000"),
    threshold=Decimal("8800"),
    threshold_year=2026,
    previous_per_capita=Decimal("11000"),
    guarantees={k: True for k in eligibility.GUARANTEE_FIELDS},
    open_risks=(),
    development_measures_implemented=1,
    monitoring_contact="张三",
    monitoring_contact_phone="13900000000",
    no_labour_safety_net=False,
)


def codes(result):
    return [c.code for c in result.criteria]


def test_all_criteria_hold():
    result = check_exit(GOOD)
    assert result.eligible
    assert result.failed == []
    assert codes(result) == [
        "secured_tracking",
        "min_months",
        "income_above_threshold",
        "income_stable",
        "guarantees",
        "no_open_risk",
        "development_measures",
        "monitoring_contact",
    ]
    assert all(c.label for c in result.criteria)
    assert result.get("min_months").detail == "识别于2026-01-10，已监测10个月"


@pytest.mark.parametrize(
    ("change", "code", "detail"),
    [
        (
            {"identified_on": dt.date(2026, 8, 20)},
            "min_months",
            "识别后仅3个月，须满6个月（2027-02-20起符合）",
        ),
        ({"identified_on": None}, "min_months", "尚未完成识别纳入，没有识别监测日期。"),
        (
            {"per_capita_income": Decimal("8799.99"), "previous_per_capita": Decimal("8700")},
            "income_above_threshold",
            "2026年人均纯收入8,799.99元，低于监测线8,800.00元",
        ),
        ({"threshold": None}, "income_above_threshold", "未设置2026年的监测线。"),
        (
            {"previous_per_capita": Decimal("20000")},
            "income_stable",
            "人均纯收入12,000.00元，较上年20,000.00元下降40%，超过20%",
        ),
        (
            {"previous_per_capita": None},
            "income_stable",
            "缺少上年（2025年）收入记录，无法判断收入是否稳定。",
        ),
        (
            {"guarantees": {**GOOD.guarantees, "housing_secure": False, "drinking_water_secure": False}},
            "guarantees",
            "未达到：住房安全有保障、饮水安全有保障",
        ),
        (
            {"open_risks": ("2026-11-01发现的风险线索（因病）待研判",)},
            "no_open_risk",
            "尚有1项风险未处理：2026-11-01发现的风险线索（因病）待研判",
        ),
        (
            {"development_measures_implemented": 0},
            "development_measures",
            "尚未落实任何开发式帮扶措施（产业、就业、金融、公益岗位）。",
        ),
        ({"monitoring_contact": ""}, "monitoring_contact", "未登记：监测联系人"),
        ({"monitoring_contact_phone": " "}, "monitoring_contact", "未登记：监测联系人电话"),
        (
            {"no_labour_safety_net": True},
            "secured_tracking",
            "整户无劳动能力兜底保障户不标记风险消除，应转为兜底保障跟踪。",
        ),
    ],
)
def test_each_criterion_failing_alone(change, code, detail):
    result = check_exit(dataclasses.replace(GOOD, **change))
    assert not result.eligible
    assert [c.code for c in result.failed] == [code]
    (failed,) = result.failed
    assert failed.detail == detail
    assert failed.label


def test_missing_income_fails_both_income_criteria():
    result = check_exit(dataclasses.replace(GOOD, per_capita_income=None, income_year=None))
    assert [c.code for c in result.failed] == ["income_above_threshold", "income_stable"]
    assert result.get("income_above_threshold").detail == "没有可用的家庭人均纯收入记录。"


def test_labels_name_the_rule():
    labels = {c.code: c.label for c in check_exit(GOOD).criteria}
    assert labels["min_months"] == "识别后监测满6个月"
    assert labels["income_above_threshold"] == "人均纯收入不低于当年监测线"
    assert labels["secured_tracking"] == "非整户无劳动能力兜底保障户"


def test_income_drop_boundary():
    exactly = check_exit(
        dataclasses.replace(GOOD, per_capita_income=Decimal("9600"), previous_per_capita=Decimal("12000"))
    )
    assert exactly.get("income_stable").ok  # 20% down: still stable
    assert exactly.get("income_stable").detail == "人均纯收入9,600.00元，较上年12,000.00元下降20%，未超过20%"
    more = check_exit(
        dataclasses.replace(GOOD, per_capita_income=Decimal("9599"), previous_per_capita=Decimal("12000"))
    )
    assert not more.get("income_stable").ok
    stricter = dataclasses.replace(
        GOOD,
        per_capita_income=Decimal("10000"),
        previous_per_capita=Decimal("11000"),
        max_income_drop=Decimal("0.05"),
    )
    assert not check_exit(stricter).get("income_stable").ok


def test_income_at_the_threshold_is_enough():
    assert check_exit(
        dataclasses.replace(GOOD, per_capita_income=Decimal("8800"), previous_per_capita=Decimal("8800"))
    ).eligible


def test_guarantee_source_is_shown():
    result = check_exit(
        dataclasses.replace(
            GOOD,
            guarantees={**GOOD.guarantees, "housing_secure": False},
            guarantee_source="最近一次走访2026-11-01记录",
        )
    )
    assert result.get("guarantees").detail == "未达到：住房安全有保障（最近一次走访2026-11-01记录）"


def test_secured_tracking_is_its_own_criterion():
    result = check_exit(dataclasses.replace(GOOD, no_labour_safety_net=True))
    assert result.secured_tracking
    assert not check_exit(GOOD).secured_tracking
    natural = check_exit(dataclasses.replace(GOOD, mode="natural", no_labour_safety_net=True))
    assert natural.secured_tracking


def test_six_month_boundary():
    facts = dataclasses.replace(GOOD, identified_on=dt.date(2026, 1, 31))
    assert eligibility.earliest_exit_date(dt.date(2026, 1, 31), 6) == add_months(dt.date(2026, 1, 31), 6)
    before = check_exit(dataclasses.replace(facts, today=dt.date(2026, 7, 30)))
    assert [c.code for c in before.failed] == ["min_months"]
    assert before.get("min_months").detail == "识别后仅5个月，须满6个月（2026-07-31起符合）"
    assert months_between(dt.date(2026, 1, 31), dt.date(2026, 7, 30)) == 5
    on = check_exit(dataclasses.replace(facts, today=dt.date(2026, 7, 31)))
    assert on.eligible
    assert months_between(dt.date(2026, 1, 31), dt.date(2026, 7, 31)) == 6
    assert check_exit(dataclasses.replace(facts, today=dt.date(2026, 8, 1))).eligible


def test_six_months_from_a_month_end_clamps_to_the_shorter_month():
    facts = dataclasses.replace(GOOD, identified_on=dt.date(2025, 8, 31))
    assert not check_exit(dataclasses.replace(facts, today=dt.date(2026, 2, 27))).eligible
    assert check_exit(dataclasses.replace(facts, today=dt.date(2026, 2, 28))).eligible


def test_county_minimum_months():
    facts = dataclasses.replace(GOOD, identified_on=dt.date(2026, 8, 22), min_months=3)
    assert check_exit(facts).eligible
    assert check_exit(dataclasses.replace(facts, today=dt.date(2026, 11, 21))).failed[0].detail == (
        "识别后仅2个月，须满3个月（2026-11-22起符合）"
    )


def test_natural_mode_skips_the_six_month_and_development_rules():
    facts = dataclasses.replace(
        GOOD, mode="natural", identified_on=dt.date(2026, 10, 30), development_measures_implemented=0
    )
    result = check_exit(facts)
    assert result.eligible
    assert "min_months" not in codes(result)
    assert "development_measures" not in codes(result)
    # the other rules still apply
    assert not check_exit(dataclasses.replace(facts, monitoring_contact="")).eligible


def test_unknown_mode():
    with pytest.raises(ValueError):
        check_exit(dataclasses.replace(GOOD, mode="whatever"))


def test_as_list_for_the_assessment_row():
    rows = check_exit(dataclasses.replace(GOOD, development_measures_implemented=0)).as_list()
    assert rows[6] == {
        "code": "development_measures",
        "label": "已落实开发式帮扶措施",
        "ok": False,
        "detail": "尚未落实任何开发式帮扶措施（产业、就业、金融、公益岗位）。",
    }


# --- from the database --------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def ready_case(areas):
    hh = hf.household(
        areas["v11"],
        labour=("normal", "none"),
        monitoring_contact="张三",
        monitoring_contact_phone="13900000000",
        registered=dt.date(2025, 6, 1),
    )
    household_services.income_record_set(actor=None, household=hh, year=2025, wages=20000)
    household_services.income_record_set(actor=None, household=hh, year=2026, wages=22000, business=2000)
    case = mf.case(hh, risks=("01",), identified_on=dt.date(2026, 1, 10))
    for code, status in (("M0504", MeasureStatus.IMPLEMENTED), ("M0101", MeasureStatus.IMPLEMENTED)):
        AssistanceMeasure.objects.create(case=case, measure=mf.measure(code), status=status)
    return case


def test_eligibility_for_case_gathers_the_facts(ready_case):
    facts = eligibility.exit_facts_for_case(ready_case, today=TODAY)
    assert (facts.income_year, facts.per_capita_income, facts.previous_per_capita) == (
        2026,
        Decimal("12000.00"),
        Decimal("10000.00"),
    )
    assert facts.threshold == Decimal("8800.00")
    assert facts.development_measures_implemented == 1
    assert facts.min_months == 6
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert result.eligible, result.failed


def test_for_case_too_early(ready_case):
    result = eligibility.eligibility_for_case(ready_case, today=dt.date(2026, 7, 9))
    assert [c.code for c in result.failed] == ["min_months"]


def test_for_case_development_measure_must_be_implemented(ready_case):
    ready_case.measures.filter(measure__code="M0101").update(status=MeasureStatus.IN_PROGRESS)
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert [c.code for c in result.failed] == ["development_measures"]
    natural = eligibility.eligibility_for_case(ready_case, today=TODAY, mode="natural")
    assert natural.eligible


def test_for_case_pending_clue_is_an_open_risk(ready_case):
    clue = Clue.objects.create(
        channel=Channel.CADRE_SCREENING,
        found_date=dt.date(2026, 11, 1),
        household=ready_case.household,
        area_code=ready_case.area_code,
        status=ClueStatus.PENDING,
    )
    clue.risk_types.set(ready_case.risk_types.all())
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert [c.code for c in result.failed] == ["no_open_risk"]
    assert result.failed[0].detail == "尚有1项风险未处理：2026-11-01发现的风险线索（因病）待研判"


def test_for_case_last_visit_finding_a_problem_blocks(ready_case):
    hh = ready_case.household
    Visit.objects.create(household=hh, area_code=hh.area_code, visited_on=dt.date(2026, 10, 1))
    Visit.objects.create(
        household=hh, area_code=hh.area_code, visited_on=dt.date(2026, 11, 1), drinking_water_secure=False
    )
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert [c.code for c in result.failed] == ["guarantees"]
    assert result.failed[0].detail == "未达到：饮水安全有保障（最近一次走访2026-11-01记录）"
    # a later visit that finds it fixed clears it
    Visit.objects.create(household=hh, area_code=hh.area_code, visited_on=dt.date(2026, 11, 15))
    assert eligibility.eligibility_for_case(ready_case, today=TODAY).eligible


def test_for_case_registry_flags_count(ready_case):
    household_services.household_update(actor=None, household=ready_case.household, housing_secure=False)
    ready_case.household.refresh_from_db()
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert [c.code for c in result.failed] == ["guarantees"]


def test_for_case_safety_net_household(ready_case):
    household_services.household_update(actor=None, household=ready_case.household, no_labour_safety_net=True)
    ready_case.household.refresh_from_db()
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert result.secured_tracking
    assert [c.code for c in result.failed] == ["secured_tracking"]


def test_for_case_threshold_of_the_county(ready_case, areas):
    IncomeThreshold.objects.create(area=areas["province"], year=2026, amount=Decimal("12500"))
    result = eligibility.eligibility_for_case(ready_case, today=TODAY)
    assert [c.code for c in result.failed] == ["income_above_threshold"]
    assert result.failed[0].detail == "2026年人均纯收入12,000.00元，低于监测线12,500.00元"


def test_for_case_without_income_records(areas):
    hh = hf.household(
        areas["v11"], labour=("none",), monitoring_contact="张三", monitoring_contact_phone="13900000001"
    )
    case = mf.case(hh, identified_on=dt.date(2026, 1, 10))
    result = eligibility.eligibility_for_case(case, today=TODAY, mode="natural")
    assert [c.code for c in result.failed] == ["income_above_threshold", "income_stable"]
