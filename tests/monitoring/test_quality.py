"""The data-quality rules, one test each (a household the rule finds beside one it must not),
and the run's screen → correct → screen again cycle."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import NotAllowed, ValidationError
from households import services as hs
from households.models import Household
from monitoring.models import AssistanceMeasure, CaseStatus, ExitMode
from monitoring.models.quality import FindingStatus, QualityFinding, QualityRule
from monitoring.services import quality
from tests.households import factories as hf
from tests.monitoring import factories as mf

NOW = dt.datetime(2026, 6, 1, 3, tzinfo=mf.SHANGHAI)


def found(code: str) -> set[int]:
    return set(
        QualityFinding.objects.filter(rule__code=code, status=FindingStatus.OPEN).values_list(
            "household_id", flat=True
        )
    )


def run(area_code: str = "") -> dict:
    return quality.data_quality(now=NOW, area_code=area_code)


def monitored(village, **fields) -> Household:
    hh = hf.household(village, members=fields.pop("members", 1), labour=fields.pop("labour", None))
    values = {
        "monitoring_status": "monitored",
        "identified_on": dt.date(2025, 3, 1),
        "monitoring_category": "marginal",
    }
    values.update(fields)
    Household.objects.filter(pk=hh.pk).update(**values)
    hh.refresh_from_db()
    return hh


def income(hh, year, **amounts):
    return hs.income_record_set(actor=None, household=hh, year=year, **amounts)


def test_the_defaults_are_loaded(db):
    codes = set(QualityRule.objects.filter(county__isnull=True).values_list("code", flat=True))
    assert {
        "1111_18",
        "5_15_023",
        "3_11_010",
        "5_14_008",
        "Q01",
        "Q02",
        "Q03",
        "Q04",
        "Q05",
        "Q06",
        "Q07",
    } <= codes


def test_1111_18_per_capita_above_20000_at_entry(areas):
    high = monitored(areas["v11"], identified_on=dt.date(2025, 3, 1))
    income(high, 2025, wages=25000)
    earlier = monitored(areas["v11"], identified_on=dt.date(2022, 3, 1))  # before 2023: not the rule's
    income(earlier, 2022, wages=25000)
    low = monitored(areas["v11"], identified_on=dt.date(2025, 3, 1))
    income(low, 2025, wages=15000)
    run()
    assert found("1111_18") == {high.pk}


def test_5_15_023_wages_between_1_and_99(areas):
    odd, fine, none = (hf.household(areas["v11"]) for _ in range(3))
    income(odd, 2025, wages=50, business=9000)
    income(fine, 2025, wages=100, business=9000)
    income(none, 2025, wages=0, business=9000)
    income(fine, 2024, wages=50)  # an older year does not count
    run()
    assert found("5_15_023") == {odd.pk}


def test_3_11_010_per_capita_below_4000_not_monitored(areas):
    poor, fine = hf.household(areas["v11"]), hf.household(areas["v11"])
    watched = monitored(areas["v11"])
    for hh, wages in ((poor, 3000), (fine, 9000), (watched, 3000)):
        income(hh, 2025, wages=wages)
    run()
    assert found("3_11_010") == {poor.pk}


def test_5_14_008_land_outside_0_to_100_mu(areas):
    big = hf.household(areas["v11"], cultivated_land_mu=150)
    edge = hf.household(areas["v11"], cultivated_land_mu=100)
    run()
    assert big.pk in found("5_14_008") and edge.pk not in found("5_14_008")


def test_q01_no_labour_not_flagged(areas):
    unflagged = monitored(areas["v11"], labour=["none", "lost"])
    flagged = monitored(areas["v11"], labour=["none"], no_labour_safety_net=True)
    working = monitored(areas["v11"], labour=["none", "normal"])
    run()
    assert found("Q01") == {unflagged.pk}
    assert flagged.pk and working.pk


def test_q02_water_risk_without_water_measure(areas):
    missing, covered = monitored(areas["v11"]), monitored(areas["v11"])
    mf.case(missing, risks=("11",))
    case = mf.case(covered, risks=("11",))
    AssistanceMeasure.objects.create(case=case, measure=mf.measure("M1001"))
    run()
    assert found("Q02") == {missing.pk}


def test_q03_assistance_exit_within_two_months(areas):
    early, late, natural = (monitored(areas["v11"], monitoring_status="eliminated") for _ in range(3))
    mf.case(
        early,
        status=CaseStatus.ELIMINATED,
        identified_on=dt.date(2025, 3, 1),
        exit_mode=ExitMode.ASSISTANCE,
        eliminated_on=dt.date(2025, 4, 15),
    )
    mf.case(
        late,
        status=CaseStatus.ELIMINATED,
        identified_on=dt.date(2025, 3, 1),
        exit_mode=ExitMode.ASSISTANCE,
        eliminated_on=dt.date(2025, 9, 1),
    )
    mf.case(
        natural,
        status=CaseStatus.ELIMINATED,
        identified_on=dt.date(2025, 3, 1),
        exit_mode=ExitMode.NATURAL,
        eliminated_on=dt.date(2025, 4, 1),
    )
    run()
    assert found("Q03") == {early.pk}


def test_q04_identification_or_exit_dates_missing(areas):
    no_entry = monitored(areas["v11"], identified_on=None)
    no_exit = monitored(areas["v11"], monitoring_status="eliminated", eliminated_on=None)
    complete = monitored(areas["v11"], monitoring_status="eliminated", eliminated_on=dt.date(2025, 12, 1))
    run()
    assert found("Q04") == {no_entry.pk, no_exit.pk}
    assert complete.pk


def test_q05_one_to_five_risks(areas):
    none, six, two = (monitored(areas["v11"]) for _ in range(3))
    mf.case(none, risks=())
    mf.case(six, risks=("01", "02", "03", "04", "05", "06"))
    mf.case(two, risks=("01", "02"))
    run()
    assert found("Q05") == {none.pk, six.pk}


def test_q06_no_measure_within_a_month(areas):
    without, late, prompt, recent = (monitored(areas["v11"]) for _ in range(4))
    mf.case(without, identified_on=dt.date(2026, 3, 1))
    late_case = mf.case(late, identified_on=dt.date(2026, 3, 1))
    prompt_case = mf.case(prompt, identified_on=dt.date(2026, 3, 1))
    mf.case(recent, identified_on=dt.date(2026, 5, 20))  # its month is not over
    for c, day in ((late_case, dt.date(2026, 4, 20)), (prompt_case, dt.date(2026, 3, 10))):
        m = AssistanceMeasure.objects.create(case=c, measure=mf.measure("M1001"))
        AssistanceMeasure.objects.filter(pk=m.pk).update(created_at=mf.at(day))
    run()
    assert found("Q06") == {without.pk, late.pk}


def test_q07_category_against_household_type(areas):
    wrong_unstable = monitored(areas["v11"], monitoring_category="unstable", household_type="ordinary")
    wrong_marginal = monitored(areas["v11"], monitoring_category="marginal", household_type="out_of_poverty")
    right = monitored(areas["v11"], monitoring_category="unstable", household_type="out_of_poverty")
    sudden = monitored(areas["v11"], monitoring_category="sudden", household_type="out_of_poverty")
    run()
    assert found("Q07") == {wrong_unstable.pk, wrong_marginal.pk}
    assert right.pk and sudden.pk


def test_screen_correct_screen_again_and_explained_findings_stay(areas, cadre):
    big = hf.household(areas["v11"], cultivated_land_mu=150)
    other = hf.household(areas["v11"], cultivated_land_mu=300)
    first = run()
    assert first["new"] >= 2 and found("5_14_008") == {big.pk, other.pk}
    assert run()["new"] == 0  # idempotent
    explained = QualityFinding.objects.get(rule__code="5_14_008", household=other)
    with pytest.raises(ValidationError):
        quality.finding_resolve(actor=cadre, finding=explained, status="explained", note="")
    quality.finding_resolve(actor=cadre, finding=explained, status="explained", note="含林地，已核实")
    hs.household_update(actor=None, household=big, cultivated_land_mu=80)
    run()
    fixed = QualityFinding.objects.get(rule__code="5_14_008", household=big)
    assert fixed.status == FindingStatus.FIXED and fixed.resolved_at == NOW
    explained.refresh_from_db()
    assert explained.status == FindingStatus.EXPLAINED and explained.resolved_by == cadre


def test_a_run_over_a_village_leaves_the_others_alone(areas):
    here = hf.household(areas["v11"], cultivated_land_mu=150)
    there = hf.household(areas["v21"], cultivated_land_mu=150)
    run(areas["v11"].code)
    assert found("5_14_008") == {here.pk}
    run(areas["v21"].code)
    assert found("5_14_008") == {here.pk, there.pk}


def test_a_county_row_replaces_the_default(areas):
    QualityRule.objects.create(
        county=areas["county"],
        code="5_14_008",
        columns="耕地面积",
        condition="land_outside",
        params={"min": 0, "max": 200},
        message="耕地面积不在0至200亩之间",
    )
    hf.household(areas["v11"], cultivated_land_mu=150)
    run()
    assert found("5_14_008") == set()


def test_finding_resolve_checks_role_and_area(areas, other_county, helper_user):
    hh = hf.household(areas["v11"], cultivated_land_mu=150)
    run()
    finding = QualityFinding.objects.get(household=hh)
    with pytest.raises(NotAllowed):
        quality.finding_resolve(actor=other_county["cadre"], finding=finding, status="fixed")
    with pytest.raises(NotAllowed):
        quality.finding_resolve(actor=helper_user, finding=finding, status="fixed")
