"""Exit eligibility for many cases at once (monitoring.rules.eligibility.exit_facts_for_cases).

The batch must give, for every case, exactly the facts the per-case gatherer gives, in a
number of queries that does not grow with the number of cases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AreaLevel
from households import services as household_services
from households.models import IncomeRecord
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    ClueStatus,
    CountySettings,
    IncomeThreshold,
    MeasureStatus,
    MonitoringCase,
    RiskType,
    StepStatus,
    Visit,
)
from monitoring.rules import eligibility
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

TODAY = dt.date(2026, 11, 22)
#: no threshold is set for 2027 anywhere: each case falls back to its income year's threshold
NEXT_YEAR = dt.date(2027, 2, 1)


@pytest.fixture
def villages(areas):
    """A village of 阳原县 (default settings) and one of 怀安县 (own settings and threshold)."""
    county = af.area("130728000000", "怀安县", AreaLevel.COUNTY, areas["city"])
    town = af.area("130728100000", "柴沟堡镇", AreaLevel.TOWNSHIP, county)
    village = af.area("130728100201", "五村", AreaLevel.VILLAGE, town)
    default = CountySettings.objects.get(county__isnull=True)
    CountySettings.objects.create(
        county=county,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
        min_months_before_exit=3,
        max_income_drop_percent=10,
    )
    IncomeThreshold.objects.create(area=county, year=2026, amount=Decimal("9000"))
    return {"a": areas["v11"], "a2": areas["v21"], "b": village}


# --- situations -------------------------------------------------------------------------------


def _household(village, *, labour=("normal", "none"), **fields):
    fields.setdefault("monitoring_contact", "张三")
    fields.setdefault("monitoring_contact_phone", "13900000000")
    return hf.household(village, labour=labour, **fields)


def _income(hh, year, **amounts):
    household_services.income_record_set(actor=None, household=hh, year=year, **amounts)


def _implemented(case, *codes):
    for code in codes:
        AssistanceMeasure.objects.create(
            case=case, measure=mf.measure(code), status=MeasureStatus.IMPLEMENTED
        )


def _visit(hh, day, **flags):
    return Visit.objects.create(household=hh, area_code=hh.area_code, visited_on=day, **flags)


def _clue(hh, day, status, risks=()):
    clue = Clue.objects.create(
        channel=Channel.CADRE_SCREENING,
        found_date=day,
        household=hh,
        area_code=hh.area_code,
        status=status,
    )
    clue.risk_types.set(RiskType.objects.filter(code__in=risks))
    return clue


def ready(village):
    """Everything holds (under the default settings)."""
    hh = _household(village)
    _income(hh, 2025, wages=20000)
    _income(hh, 2026, wages=22000, business=2000)
    case = mf.case(hh, identified_on=dt.date(2026, 1, 10))
    _implemented(case, "M0504", "M0101")
    return case


def no_income(village):
    hh = _household(village, labour=("none",))
    return mf.case(hh, identified_on=dt.date(2026, 1, 10))


def income_falls(village):
    """Per capita 15,000 in 2025, 10,000 in 2026 (a third less); no development measure."""
    hh = _household(village)
    _income(hh, 2025, wages=30000)
    _income(hh, 2026, wages=20000)
    case = mf.case(hh, identified_on=dt.date(2026, 3, 5))
    _implemented(case, "M0504")
    return case


def slight_fall(village):
    """Down 15 %: stable under the default 20 %, not under 怀安县's 10 %; identified 4 months ago."""
    hh = _household(village, labour=("normal",))
    _income(hh, 2025, wages=20000)
    _income(hh, 2026, wages=17000)
    case = mf.case(hh, identified_on=dt.date(2026, 7, 20))
    _implemented(case, "M0101")
    return case


def insecure_visit(village):
    """The last visit since identification found the water unsafe (two visits that day: the
    later one counts); an older problem before identification does not count."""
    case = ready(village)
    hh = case.household
    _visit(hh, dt.date(2025, 12, 1), housing_secure=False)
    _visit(hh, dt.date(2026, 10, 1))
    _visit(hh, dt.date(2026, 11, 1))
    _visit(hh, dt.date(2026, 11, 1), drinking_water_secure=False, medical_insurance_secure=False)
    return case


def fixed_by_a_later_visit(village):
    case = ready(village)
    _visit(case.household, dt.date(2026, 9, 1), housing_secure=False)
    _visit(case.household, dt.date(2026, 10, 1))
    return case


def registry_insecure(village):
    case = ready(village)
    household_services.household_update(actor=None, household=case.household, housing_secure=False)
    return case


def pending_clue(village):
    """A pending clue with two risk types, an unmatched one without, and a dismissed one."""
    case = ready(village)
    hh = case.household
    _clue(hh, dt.date(2026, 11, 1), ClueStatus.PENDING, risks=("02", "01"))
    _clue(hh, dt.date(2026, 10, 3), ClueStatus.UNMATCHED)
    _clue(hh, dt.date(2026, 9, 1), ClueStatus.DISMISSED, risks=("01",))
    return case


def identifying(village):
    """Not identified yet: two identification steps open, one done, an exit step open."""
    hh = _household(village)
    _income(hh, 2026, wages=5000)
    case = mf.case(hh, status=CaseStatus.IDENTIFYING, found_date=dt.date(2026, 11, 10))
    statuses = [StepStatus.DONE, StepStatus.AVAILABLE, StepStatus.WAITING]
    for n, status in enumerate(statuses):
        _step(case, f"s{n}", status)
    _step(case, "x", StepStatus.AVAILABLE, procedure_kind="exit")
    _visit(hh, dt.date(2026, 11, 5), food_clothing_secure=False)  # before found_date
    _visit(hh, dt.date(2026, 11, 12), compulsory_education_secure=False)
    return case


def _step(case, code, status, procedure_kind="identification"):
    return CaseStep.objects.create(
        case=case,
        procedure_kind=procedure_kind,
        code=code,
        name=code,
        kind="home_verification",
        actor_role="village_cadre",
        area_level=AreaLevel.VILLAGE,
        time_limit_days=5,
        status=status,
    )


def latest_without_per_capita(village):
    """The 2026 record has no per-capita figure: 2025 counts, compared with 2024."""
    hh = _household(village)
    _income(hh, 2024, wages=18000)
    _income(hh, 2025, wages=20000)
    _income(hh, 2026, wages=21000)
    IncomeRecord.objects.filter(household=hh, year=2026).update(per_capita_net_income=None)
    case = mf.case(hh, identified_on=dt.date(2026, 1, 10))
    _implemented(case, "M0101")
    return case


def gap_year(village):
    """Records for 2024 and 2026 only (no year before), and one for next year (ignored)."""
    hh = _household(village)
    _income(hh, 2024, wages=18000)
    _income(hh, 2026, wages=21000)
    _income(hh, 2027, wages=1000)
    return mf.case(hh, identified_on=dt.date(2026, 1, 10))


def safety_net(village):
    case = ready(village)
    household_services.household_update(actor=None, household=case.household, no_labour_safety_net=True)
    return case


def no_contact(village):
    case = ready(village)
    household_services.household_update(actor=None, household=case.household, monitoring_contact_phone="")
    return case


def re_entered(village):
    """An eliminated case and the household's new case: a 2025 visit found bad housing; it
    is the last visit for the old case and before the new one."""
    hh = _household(village)
    _income(hh, 2025, wages=20000)
    _income(hh, 2026, wages=22000)
    old = mf.case(hh, status=CaseStatus.ELIMINATED, identified_on=dt.date(2024, 3, 1))
    _visit(hh, dt.date(2025, 5, 1), housing_secure=False)
    new = mf.case(hh, identified_on=dt.date(2026, 6, 1))
    _implemented(new, "M0101")
    return old, new


SITUATIONS = [
    ready,
    no_income,
    income_falls,
    slight_fall,
    insecure_visit,
    fixed_by_a_later_visit,
    registry_insecure,
    pending_clue,
    identifying,
    latest_without_per_capita,
    gap_year,
    safety_net,
    no_contact,
]


def fresh(cases):
    """The cases as the per-case gatherer would get them: read again, with their households."""
    by_id = MonitoringCase.objects.select_related("household").in_bulk([c.pk for c in cases])
    return [by_id[c.pk] for c in cases]


def one_by_one(cases, today, mode=eligibility.ASSISTANCE):
    return {c.pk: eligibility.exit_facts_for_case(c, today=today, mode=mode) for c in fresh(cases)}


@pytest.fixture
def all_cases(villages):
    """Every situation in both counties, plus a household with two cases."""
    out = {}
    for key in ("a", "b"):
        for make in SITUATIONS:
            out[f"{make.__name__}_{key}"] = make(villages[key])
    out["re_entered_old"], out["re_entered_new"] = re_entered(villages["a2"])
    return out


# --- the batch equals the per-case facts -------------------------------------------------------


@pytest.mark.parametrize("today", [TODAY, NEXT_YEAR], ids=["this_year", "no_threshold_yet"])
@pytest.mark.parametrize("mode", [eligibility.ASSISTANCE, eligibility.NATURAL])
def test_batch_facts_equal_the_per_case_facts(all_cases, today, mode):
    cases = list(all_cases.values())
    expected = one_by_one(cases, today, mode)
    from_queryset = eligibility.exit_facts_for_cases(
        MonitoringCase.objects.filter(pk__in=[c.pk for c in cases]), today=today, mode=mode
    )
    from_list = eligibility.exit_facts_for_cases(cases, today=today, mode=mode)
    for case_id, facts in expected.items():
        assert from_queryset[case_id] == facts, case_id
        assert from_list[case_id] == facts, case_id
    assert from_queryset == expected
    assert list(from_list) == [c.pk for c in cases]  # a list keeps its order


def test_the_situations_are_what_they_claim(all_cases):
    """The comparison above is only worth something if the cases differ as intended."""
    facts = eligibility.exit_facts_for_cases(list(all_cases.values()), today=TODAY)
    result = {name: eligibility.check_exit(facts[case.pk]) for name, case in all_cases.items()}

    def failed(name):
        return [c.code for c in result[name].failed]

    assert failed("ready_a") == []
    assert failed("no_income_a") == ["income_above_threshold", "income_stable", "development_measures"]
    assert facts[all_cases["no_income_a"].pk].per_capita_income is None
    assert failed("income_falls_a") == ["income_stable", "development_measures"]
    assert failed("slight_fall_a") == ["min_months"]  # 6 months in 阳原县; 15 % is stable there
    assert failed("slight_fall_b") == ["income_stable"]  # 3 months enough in 怀安县; 10 % is not
    b = facts[all_cases["slight_fall_b"].pk]
    assert (b.min_months, b.max_income_drop, b.threshold) == (3, Decimal("0.10"), Decimal("9000.00"))
    assert facts[all_cases["ready_a"].pk].threshold == Decimal("8800.00")
    visit = facts[all_cases["insecure_visit_a"].pk]
    assert visit.guarantee_source == "最近一次走访2026-11-01记录"
    assert result["insecure_visit_a"].get("guarantees").detail == (
        "未达到：基本医疗有保障、饮水安全有保障（最近一次走访2026-11-01记录）"
    )
    assert failed("fixed_by_a_later_visit_a") == []
    assert failed("registry_insecure_b") == ["guarantees"]
    assert facts[all_cases["pending_clue_a"].pk].open_risks == (
        "2026-10-03发现的风险线索（未注明）待研判",
        "2026-11-01发现的风险线索（因病、因自然灾害）待研判",
    )
    ident = facts[all_cases["identifying_b"].pk]
    assert ident.identified_on is None
    assert ident.open_risks == ("识别程序尚未办结（2个步骤未完成）",)
    assert ident.guarantees["compulsory_education_secure"] is False
    assert ident.guarantees["food_clothing_secure"] is True
    late = facts[all_cases["latest_without_per_capita_a"].pk]
    assert (late.income_year, late.per_capita_income, late.previous_per_capita) == (
        2025,
        Decimal("10000.00"),
        Decimal("9000.00"),
    )
    gap = facts[all_cases["gap_year_b"].pk]
    assert (gap.income_year, gap.previous_per_capita) == (2026, None)
    assert result["safety_net_a"].secured_tracking
    assert failed("no_contact_b") == ["monitoring_contact"]
    old, new = facts[all_cases["re_entered_old"].pk], facts[all_cases["re_entered_new"].pk]
    assert old.guarantees["housing_secure"] is False
    assert new.guarantees["housing_secure"] is True


def test_without_a_threshold_for_the_year_each_county_falls_back_to_the_income_year(all_cases):
    facts = eligibility.exit_facts_for_cases(list(all_cases.values()), today=NEXT_YEAR)
    a, b = facts[all_cases["ready_a"].pk], facts[all_cases["ready_b"].pk]
    assert (a.threshold_year, a.threshold) == (2026, Decimal("8800.00"))
    assert (b.threshold_year, b.threshold) == (2026, Decimal("9000.00"))
    late = facts[all_cases["latest_without_per_capita_b"].pk]
    assert (late.threshold_year, late.threshold) == (2025, Decimal("8800.00"))  # 怀安县 has no 2025 line
    none = facts[all_cases["no_income_a"].pk]
    assert (none.threshold_year, none.threshold) == (2027, None)


def test_eligibility_for_cases(all_cases):
    cases = fresh(list(all_cases.values()))
    batch = eligibility.eligibility_for_cases(cases, today=TODAY)
    assert batch == {c.pk: eligibility.eligibility_for_case(c, today=TODAY) for c in cases}
    natural = eligibility.eligibility_for_cases(cases, today=TODAY, mode=eligibility.NATURAL)
    assert {r.mode for r in natural.values()} == {eligibility.NATURAL}


def test_no_cases(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert eligibility.exit_facts_for_cases([], today=TODAY) == {}
    with django_assert_num_queries(1):
        assert eligibility.exit_facts_for_cases(MonitoringCase.objects.none(), today=TODAY) == {}
        assert eligibility.exit_facts_for_cases(MonitoringCase.objects.filter(pk=-1), today=TODAY) == {}


def test_a_deleted_case_of_a_list_is_left_out(villages):
    kept, gone = ready(villages["a"]), no_income(villages["b"])
    gone_id = gone.pk
    gone.delete()
    assert list(eligibility.exit_facts_for_cases([kept, gone], today=TODAY)) == [kept.pk]
    assert gone_id not in eligibility.exit_facts_for_cases([kept, gone], today=TODAY)


# --- the number of queries ---------------------------------------------------------------------


def _mixed(villages, n, start=0):
    """``n`` cases, taking the situations in turn, alternating between the two counties."""
    out = []
    for i in range(start, start + n):
        make = SITUATIONS[i % len(SITUATIONS)]
        out.append(make(villages["a" if i % 2 == 0 else "b"]))
    return out


def _count(cases, today):
    qs = MonitoringCase.objects.filter(pk__in=[c.pk for c in cases])
    with CaptureQueriesContext(connection) as ctx:
        facts = eligibility.exit_facts_for_cases(qs, today=today)
    assert len(facts) == len(cases)
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_cases(villages, django_assert_max_num_queries):
    # the first three: a visit that found a problem, a pending clue, a case in the other county
    small = [insecure_visit(villages["a"]), pending_clue(villages["a"]), slight_fall(villages["b"])]
    few = _count(small, TODAY)
    large = small + _mixed(villages, 9)
    assert len(large) == 12
    with django_assert_max_num_queries(few):
        eligibility.exit_facts_for_cases(
            MonitoringCase.objects.filter(pk__in=[c.pk for c in large]), today=TODAY
        )
    assert _count(large, TODAY) == few
    # the cases, their last visits, incomes, measures, open steps, clues and the clues' risk
    # types; the settings of the two counties; this year's line of each county
    assert few == 7 + 2 + 2
    # one by one, the same cases take many more
    with CaptureQueriesContext(connection) as per_case:
        one_by_one(large, TODAY)
    assert len(per_case.captured_queries) > 5 * few


def test_without_this_years_line_one_more_query_per_county_and_income_year(villages):
    """The fallback looks up the line of each (county, income year) once, whatever the number
    of cases."""
    small = [insecure_visit(villages["a"]), pending_clue(villages["a"]), slight_fall(villages["b"])]
    few = _count(small, NEXT_YEAR)
    assert few == 7 + 2 + 2 + 2  # this year's line of each county, then each county's 2026 line
    large = small + _mixed(villages, 9)
    assert _count(large, NEXT_YEAR) == few
    # ``latest_without_per_capita`` in 怀安县 (the tenth situation) needs 怀安县's 2025 line
    larger = large + _mixed(villages, 12, start=9)
    assert _count(larger, NEXT_YEAR) == few + 1


def test_a_list_takes_as_many_queries_as_a_queryset(villages):
    cases = _mixed(villages, 6)
    with CaptureQueriesContext(connection) as listed:
        eligibility.exit_facts_for_cases(cases, today=TODAY)
    assert len(listed.captured_queries) == _count(cases, TODAY)


def test_an_ordered_or_sliced_queryset(villages):
    """A sliced or ordered queryset works too (the slice is read once, then used as a list)."""
    cases = _mixed(villages, 4)
    expected = one_by_one(cases, TODAY)
    ordered = MonitoringCase.objects.filter(pk__in=[c.pk for c in cases]).order_by("-area_code", "pk")
    assert eligibility.exit_facts_for_cases(ordered, today=TODAY) == expected
    assert eligibility.exit_facts_for_cases(ordered[:2], today=TODAY) == {
        c.pk: expected[c.pk] for c in ordered[:2]
    }
