"""The five ledgers (reports/selectors.py) and their counts over the API.

Registry and case rows are set up directly: how a household comes to be monitored is the
subject of the workflow tests; here it is which ledger its data puts it in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Role
from households import services as household_services
from households.models import Household, HouseholdType, LowIncomeStatus, MonitoringStatus
from monitoring.models import CaseStatus, Channel, Clue, ClueStatus
from reports import selectors
from reports.selectors import Ledger
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

OUT, ORDINARY = HouseholdType.OUT_OF_POVERTY, HouseholdType.ORDINARY


def make(village, household_type, monitoring_status="", low_income="", case_status=None) -> Household:
    home = hf.household(village, members=1, household_type=household_type, low_income_status=low_income)
    Household.objects.filter(pk=home.pk).update(monitoring_status=monitoring_status)
    if case_status:
        mf.case(home, status=case_status, identified_on=dt.date(2026, 1, 10))
    return Household.objects.get(pk=home.pk)


@pytest.fixture
def county(areas):
    """Households of every kind in v11, v12 and v21, and clues in v11, v21 and the county."""
    v11, v12, v21 = areas["v11"], areas["v12"], areas["v21"]
    homes = {
        # ledger 1: monitored / secured tracking / exit in progress, whatever the type
        "monitored_out": make(v11, OUT, MonitoringStatus.MONITORED, case_status=CaseStatus.MONITORED),
        "tracked_ordinary": make(
            v11,
            ORDINARY,
            MonitoringStatus.SECURED_TRACKING,
            LowIncomeStatus.TEKUN,
            CaseStatus.SECURED_TRACKING,
        ),
        "exiting": make(v12, ORDINARY, MonitoringStatus.MONITORED, case_status=CaseStatus.EXIT_IN_PROGRESS),
        # an exit in progress counts even if the household row lags behind
        "exiting_lagging": make(v21, OUT, "", case_status=CaseStatus.EXIT_IN_PROGRESS),
        # ledger 2: 脱贫户 not monitored (never, eliminated, or only being identified)
        "stable": make(v11, OUT, low_income=LowIncomeStatus.DIBAO),
        "stable_eliminated": make(v12, OUT, MonitoringStatus.ELIMINATED, case_status=CaseStatus.ELIMINATED),
        "stable_identifying": make(
            v21, OUT, MonitoringStatus.IDENTIFYING, case_status=CaseStatus.IDENTIFYING
        ),
        # ledger 3: 一般农户 not monitored
        "ordinary": make(v11, ORDINARY, low_income=LowIncomeStatus.DIBAO_EDGE),
        "ordinary_rejected": make(v11, ORDINARY, case_status=CaseStatus.NOT_INCLUDED),
        "ordinary_hardship": make(v21, ORDINARY, low_income=LowIncomeStatus.EXPENDITURE_HARDSHIP),
    }
    for key, status in (("ordinary", ClueStatus.PENDING), ("stable_identifying", ClueStatus.CASE_OPENED)):
        home = homes[key]
        Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=dt.date(2026, 3, 1),
            household=home,
            area_code=home.area_code,
            status=status,
        )
    Clue.objects.create(
        channel=Channel.DEPARTMENT_ALERT,
        found_date=dt.date(2026, 3, 1),
        area_code="130727000000",
        status="unmatched",
    )
    return homes


EXPECTED_COUNTY = {
    "households": 10,
    Ledger.KEY_MONITORING: 4,
    Ledger.STABLE_OUT_OF_POVERTY: 3,
    Ledger.ORDINARY: 3,
    Ledger.LOW_INCOME: 4,
    Ledger.EARLY_WARNING: 3,
}


def households_only(counts: dict) -> dict:
    """The household (and, for ledger 5, clue) counts of ``ledger_counts``, without people."""
    return {k: v for k, v in counts.items() if k == "households" or k in set(Ledger)}


def test_each_ledger_is_counted(county_approver, county):
    assert households_only(selectors.ledger_counts(user=county_approver)) == EXPECTED_COUNTY


def test_the_ledgers_rows_are_the_expected_households(county_approver, county):
    def keys(ledger):
        pks = set(selectors.ledger_households(ledger, user=county_approver).values_list("pk", flat=True))
        return {k for k, h in county.items() if h.pk in pks}

    assert keys(Ledger.KEY_MONITORING) == {"monitored_out", "tracked_ordinary", "exiting", "exiting_lagging"}
    assert keys(Ledger.STABLE_OUT_OF_POVERTY) == {"stable", "stable_eliminated", "stable_identifying"}
    assert keys(Ledger.ORDINARY) == {"ordinary", "ordinary_rejected", "ordinary_hardship"}
    assert keys(Ledger.LOW_INCOME) == {"tracked_ordinary", "stable", "ordinary", "ordinary_hardship"}
    assert selectors.ledger_clues(user=county_approver).count() == 3


def test_no_household_is_in_two_of_the_first_three_ledgers(county_approver, county):
    seen: dict[int, str] = {}
    for ledger in (Ledger.KEY_MONITORING, Ledger.STABLE_OUT_OF_POVERTY, Ledger.ORDINARY):
        for pk in selectors.ledger_households(ledger, user=county_approver).values_list("pk", flat=True):
            assert pk not in seen, f"household {pk} is in {seen[pk]} and {ledger}"
            seen[pk] = ledger
    assert set(seen) == {h.pk for h in county.values()}


def test_counts_follow_the_callers_scope_and_the_area_filter(
    areas, cadre, township_reviewer, county_approver, county
):
    assert households_only(selectors.ledger_counts(user=cadre)) == {
        "households": 5,
        Ledger.KEY_MONITORING: 2,
        Ledger.STABLE_OUT_OF_POVERTY: 1,
        Ledger.ORDINARY: 2,
        Ledger.LOW_INCOME: 3,
        Ledger.EARLY_WARNING: 1,
    }
    township = selectors.ledger_counts(user=township_reviewer)
    assert township["households"] == 7 and township[Ledger.KEY_MONITORING] == 3
    # the county's unmatched alert is not the township's
    assert township[Ledger.EARLY_WARNING] == 1
    assert households_only(selectors.ledger_counts(user=county_approver, area="130727200")) == {
        "households": 3,
        Ledger.KEY_MONITORING: 1,
        Ledger.STABLE_OUT_OF_POVERTY: 1,
        Ledger.ORDINARY: 1,
        Ledger.LOW_INCOME: 1,
        Ledger.EARLY_WARNING: 1,
    }
    # an area outside the caller's scope narrows to nothing, it never widens
    assert selectors.ledger_counts(user=cadre, area="130727200")["households"] == 0


def test_a_helper_counts_the_households_assigned(areas, county):
    user = af.user(Role.HELPER)
    household_services.helper_assign(
        actor=None,
        helper=hf.helper(areas["county"], user),
        household=county["stable"],
        start_date=dt.date(2026, 1, 1),
    )
    counts = selectors.ledger_counts(user=user)
    assert counts["households"] == 1 and counts[Ledger.STABLE_OUT_OF_POVERTY] == 1
    assert counts[Ledger.LOW_INCOME] == 1


def test_counting_is_two_queries(county_approver, county):
    county_approver.scope_prefixes()  # the user's areas are read once per request
    with CaptureQueriesContext(connection) as queries:
        selectors.ledger_counts(user=county_approver, area="130727100")
    # households and people per ledger (and those the clues name) in one aggregate, the clues
    assert len(queries) == 2


# --- the API -------------------------------------------------------------------------------------


def test_the_api_answers_the_same_counts(county_approver, areas, county):
    client = APIClient()
    client.force_login(county_approver)
    body = client.get("/api/v1/ledgers/counts/").json()
    assert body["area"] == "" and body["households"] == 10
    assert [(row["ledger"], row["count"]) for row in body["ledgers"]] == [
        (str(ledger), EXPECTED_COUNTY[ledger]) for ledger in Ledger
    ]
    assert [row["label"] for row in body["ledgers"]] == [
        "重点监测对象",
        "稳定脱贫户",
        "一般农户",
        "低收入群体",
        "预警信息",
    ]
    # a 12-digit township code means the township
    body = client.get("/api/v1/ledgers/counts/", {"area": areas["t2"].code}).json()
    assert body["area"] == "130727200" and body["households"] == 3


@pytest.mark.parametrize("area", ["13x", "1", "1307271002010"])
def test_a_bad_area_is_400(area, county_approver, county):
    client = APIClient()
    client.force_login(county_approver)
    response = client.get("/api/v1/ledgers/counts/", {"area": area})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "fields"} and "area" in response.json()["fields"]


def test_the_counts_need_a_staff_login(db):
    assert APIClient().get("/api/v1/ledgers/counts/").status_code == 401
