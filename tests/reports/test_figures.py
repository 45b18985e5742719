"""The dashboard's figures (reports/figures.py): each one's rows on a small county set up
directly, scoped like the pages, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from households.models import Household, HouseholdType, LowIncomeStatus, MonitoringStatus
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    ClueStatus,
    ExitMode,
    MeasureStatus,
    MonitoringCase,
    ProcedureDefinition,
    RiskType,
    StepStatus,
    Visit,
)
from reports import figures, selectors
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

TODAY = dt.date(2026, 11, 20)


def rows(data: dict, language: str = "zh-hans") -> dict[str, list]:
    """``{label: values}`` of a figure."""
    return {r[0]: r[1:] for r in figures.localize(data, language)["rows"]}


def clue(home, found: dt.date, channel=Channel.SYSTEM, risks=("01",)) -> Clue:
    c = Clue.objects.create(
        channel=channel, found_date=found, household=home, area_code=home.area_code, status=ClueStatus.PENDING
    )
    c.risk_types.set(RiskType.objects.filter(code__in=risks))
    return c


@pytest.fixture
def homes(areas):
    v11, v12, v21 = areas["v11"], areas["v12"], areas["v21"]
    out = {
        "a": hf.household(v11, household_type=HouseholdType.OUT_OF_POVERTY),
        "b": hf.household(
            v12, household_type=HouseholdType.ORDINARY, low_income_status=LowIncomeStatus.DIBAO
        ),
        "c": hf.household(v21, household_type=HouseholdType.ORDINARY),
        "d": hf.household(v21, household_type=HouseholdType.OUT_OF_POVERTY),
    }
    Household.objects.filter(pk=out["a"].pk).update(monitoring_status=MonitoringStatus.MONITORED)
    return out


def test_households_per_ledger_follow_the_ledger_rule_per_township(homes, county_approver):
    data = figures.ledger_households(user=county_approver, area="130727", today=TODAY)
    assert figures.localize(data, "zh-hans")["series"] == [
        "重点监测对象",
        "稳定脱贫户",
        "一般农户",
        "低收入群体",
    ]
    got = rows(data)
    assert got == {"西城镇": [1, 0, 1, 1], "东城镇": [0, 1, 1, 0]}
    # the township rows add up to the ledgers' own counts
    counts = selectors.ledger_counts(user=county_approver, area="130727")
    for i, ledger in enumerate(selectors.HOUSEHOLD_LEDGERS):
        assert sum(v[i] for v in got.values()) == counts[str(ledger)]
    # a township: its villages
    assert rows(figures.ledger_households(user=county_approver, area="130727100", today=TODAY)) == {
        "一村": [1, 0, 0, 0],
        "二村": [0, 0, 1, 1],
    }


def test_a_township_reviewer_sees_only_the_township(homes, township_reviewer):
    # over everything the reviewer may see: the county's row holds only the township's households
    got = rows(figures.ledger_households(user=township_reviewer, area="", today=TODAY))
    assert got == {"阳原县": [1, 0, 1, 1]}


def test_clues_per_month_by_channel_and_risk_type(homes, township_reviewer, county_approver):
    clue(homes["a"], dt.date(2026, 11, 3), Channel.SELF_REPORT, ("01", "04"))
    clue(homes["a"], dt.date(2026, 10, 31), Channel.SYSTEM)
    clue(homes["c"], dt.date(2026, 10, 1), Channel.SYSTEM)
    clue(homes["c"], dt.date(2025, 11, 30), Channel.SYSTEM)  # before the 12 months
    clue(homes["c"], dt.date(2026, 11, 21), Channel.SYSTEM)  # after today
    data = figures.clues_by_channel(user=county_approver, area="130727", today=TODAY)
    got = rows(data)
    assert list(got)[0] == "2025-12" and list(got)[-1] == "2026-11" and len(got) == 12
    series = figures.localize(data, "zh-hans")["series"]
    assert got["2026-11"][series.index("农户自主申报")] == 1
    assert got["2026-10"][series.index("系统监测预警")] == 2
    assert sum(map(sum, got.values())) == 3
    mine = rows(figures.clues_by_channel(user=township_reviewer, area="", today=TODAY))
    assert sum(map(sum, mine.values())) == 2

    risk = figures.clues_by_risk(user=county_approver, area="130727", today=TODAY)
    series = figures.localize(risk, "zh-hans")["series"]
    assert series == ["因病", list(RiskType.objects.filter(code="04").values_list("name", flat=True))[0]]
    assert figures.localize(risk, "en")["series"][0] == RiskType.objects.get(code="01").name_en
    got = rows(risk)
    assert got["2026-11"] == [1, 1] and got["2026-10"] == [2, 0]


def _identified(home, *, opened: dt.date, identified: dt.date, limit: int, procedure=None) -> MonitoringCase:
    c = mf.case(home, identified_on=identified, found_date=opened, limit_days=limit)
    fields = {"due_date": opened + dt.timedelta(days=limit)}
    if procedure is not None:
        fields["procedure"] = procedure
    MonitoringCase.objects.filter(pk=c.pk).update(**fields)
    return c


@pytest.fixture
def procedures(db):
    return {
        "overlapped": ProcedureDefinition.objects.get(kind="identification", name__contains="叠加"),
        "serial": ProcedureDefinition.objects.get(kind="identification", name__contains="串联"),
    }


def test_identification_durations_against_the_limit_and_per_procedure(homes, county_approver, procedures):
    o, s = procedures["overlapped"], procedures["serial"]
    _identified(
        homes["a"], opened=dt.date(2026, 9, 1), identified=dt.date(2026, 9, 13), limit=15, procedure=o
    )
    _identified(
        homes["b"], opened=dt.date(2026, 9, 1), identified=dt.date(2026, 9, 20), limit=15, procedure=o
    )
    _identified(
        homes["c"], opened=dt.date(2026, 6, 1), identified=dt.date(2026, 6, 29), limit=30, procedure=s
    )
    _identified(
        homes["d"], opened=dt.date(2024, 6, 1), identified=dt.date(2024, 6, 29), limit=30, procedure=s
    )

    dist = rows(figures.identification_duration(user=county_approver, area="130727", today=TODAY))
    assert dist["11–15天"] == [1, 0]  # 12 days, on time
    assert dist["16–20天"] == [0, 1]  # 19 days, late
    assert dist["21–30天"] == [1, 0]  # 28 days of 30
    assert sum(map(sum, dist.values())) == 3  # the 2024 case is outside the 12 months

    share = rows(figures.identification_on_time(user=county_approver, area="130727", today=TODAY))
    assert share["西城镇"] == [2, 1, 50.0, 15.5]
    assert share["东城镇"] == [1, 1, 100.0, 28.0]

    compared = rows(figures.procedure_durations(user=county_approver, area="130727", today=TODAY))
    assert compared[o.name] == [2, 15, 15.5, 12, 50.0]
    assert compared[s.name] == [1, 30, 28.0, 28, 100.0]
    english = rows(figures.procedure_durations(user=county_approver, area="130727", today=TODAY), "en")
    assert o.name_en in english


def test_step_durations_per_procedure_and_step(homes, county_approver, procedures):
    c = _identified(
        homes["a"],
        opened=dt.date(2026, 9, 1),
        identified=dt.date(2026, 9, 13),
        limit=15,
        procedure=procedures["serial"],
    )
    c2 = _identified(
        homes["c"],
        opened=dt.date(2026, 9, 2),
        identified=dt.date(2026, 9, 20),
        limit=15,
        procedure=procedures["serial"],
    )
    for case, days in ((c, 2), (c2, 5)):
        CaseStep.objects.create(
            case=case,
            procedure_kind="identification",
            code="village_review",
            name="村级评议",
            name_en="Village review",
            kind="review",
            actor_role=Role.VILLAGE_CADRE,
            area_level="village",
            time_limit_days=3,
            status=StepStatus.DONE,
            duration_days=days,
        )
    CaseStep.objects.create(  # not done: not counted
        case=c,
        procedure_kind="identification",
        code="county_approval",
        name="县级审定",
        kind="approval",
        actor_role=Role.COUNTY_APPROVER,
        area_level="county",
        time_limit_days=3,
        status=StepStatus.AVAILABLE,
    )
    got = rows(figures.step_durations(user=county_approver, area="130727", today=TODAY), "en")
    assert got == {f"Village review · {procedures['serial'].name_en}": [3.5, 3, 2]}


def test_visits_due_and_done_this_month_per_area_and_helper(homes, areas, county_approver):
    helper_user = af.user(Role.HELPER, username="helper_wang", full_name="王帮扶")
    hf.helper(areas["county"], helper_user)
    for key in ("a", "b", "c"):
        mf.case(homes[key], status=CaseStatus.MONITORED)
        hf.assign(helper_user, homes[key], dt.date(2026, 1, 1))
    mf.case(homes["d"], status=CaseStatus.ELIMINATED, eliminated_on=dt.date(2026, 5, 1))  # owes nothing
    Visit.objects.create(
        household=homes["a"], area_code=homes["a"].area_code, visited_on=dt.date(2026, 11, 2)
    )
    Visit.objects.create(
        household=homes["c"], area_code=homes["c"].area_code, visited_on=dt.date(2026, 10, 30)
    )
    got = rows(figures.visits_by_area(user=county_approver, area="130727", today=TODAY))
    assert got == {"西城镇": [2, 1], "东城镇": [1, 0]}
    by_helper = rows(figures.visits_by_helper(user=county_approver, area="130727", today=TODAY))
    assert by_helper == {"王帮扶": [3, 1]}


def test_measures_by_category_and_status(homes, county_approver):
    case = mf.case(homes["a"])
    m = mf.measure("M0101")
    for status in (MeasureStatus.PLANNED, MeasureStatus.IMPLEMENTED, MeasureStatus.IMPLEMENTED):
        AssistanceMeasure.objects.create(case=case, measure=m, department=m.department, status=status)
    data = figures.measures_by_category(user=county_approver, area="130727", today=TODAY)
    assert rows(data) == {m.category.name: [1, 0, 2, 0]}
    assert rows(data, "en") == {m.category.name_en: [1, 0, 2, 0]}


def test_exits_by_mode_per_month(homes, county_approver):
    mf.case(
        homes["a"],
        status=CaseStatus.ELIMINATED,
        eliminated_on=dt.date(2026, 6, 3),
        exit_mode=ExitMode.ASSISTANCE,
    )
    mf.case(
        homes["c"],
        status=CaseStatus.ELIMINATED,
        eliminated_on=dt.date(2026, 6, 30),
        exit_mode=ExitMode.NATURAL,
    )
    mf.case(
        homes["d"],
        status=CaseStatus.ELIMINATED,
        eliminated_on=dt.date(2025, 6, 30),
        exit_mode=ExitMode.NATURAL,
    )
    got = rows(figures.exits_by_mode(user=county_approver, area="130727", today=TODAY))
    assert got["2026-06"] == [1, 1]
    assert sum(map(sum, got.values())) == 2


def test_monitored_households_by_category_at_each_month_end(homes, county_approver):
    # identified 10 March, eliminated 15 June: monitored at the ends of March, April and May
    mf.case(
        homes["a"],
        status=CaseStatus.ELIMINATED,
        identified_on=dt.date(2026, 3, 10),
        eliminated_on=dt.date(2026, 6, 15),
        category="unstable",
    )
    mf.case(homes["c"], status=CaseStatus.MONITORED, identified_on=dt.date(2026, 5, 31), category="sudden")
    mf.case(homes["d"], status=CaseStatus.IDENTIFYING)  # never identified
    got = rows(figures.monitored_over_time(user=county_approver, area="130727", today=TODAY))
    # columns: unstable, marginal, sudden
    assert got["2026-02"] == [0, 0, 0]
    assert got["2026-03"] == [1, 0, 0]
    assert got["2026-05"] == [1, 0, 1]
    assert got["2026-06"] == [0, 0, 1]
    assert got["2026-11"] == [0, 0, 1]


@pytest.mark.parametrize("figure", figures.FIGURES, ids=lambda f: f.key)
def test_each_figure_is_a_fixed_number_of_queries(figure, homes, county_approver):
    """However many households: one aggregate, plus at most one query for names (made only
    when there is something to name)."""
    for home in homes.values():
        mf.case(home, status=CaseStatus.MONITORED)
        clue(home, dt.date(2026, 10, 5))
    figure.compute(user=county_approver, area="130727", today=TODAY)  # the user's areas, cached
    with CaptureQueriesContext(connection) as few:
        figure.compute(user=county_approver, area="130727", today=TODAY)
    for key in homes:
        for _i in range(3):
            more = hf.household(homes[key].village)
            mf.case(more, status=CaseStatus.MONITORED)
            clue(more, dt.date(2026, 9, 5))
    with CaptureQueriesContext(connection) as many:
        figure.compute(user=county_approver, area="130727", today=TODAY)
    assert len(few) <= len(many) <= min(len(few) + 1, 3)


def test_month_starts_cross_the_year():
    assert figures.month_starts(dt.date(2026, 2, 14), 3) == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert figures.month_end(dt.date(2026, 2, 1), dt.date(2026, 12, 1)) == dt.date(2026, 2, 28)
    assert figures.month_end(dt.date(2026, 12, 1), dt.date(2026, 12, 5)) == dt.date(2026, 12, 5)
