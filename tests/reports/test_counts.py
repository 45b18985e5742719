"""Ledger counts with people, the year's exits by mode, and the counts page and workbook.

Counties report "N households / M people identified, K households / L people exited": every
figure here is checked against the registry counted independently.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.models import Role
from households.models import Household, HouseholdType, LowIncomeStatus, MonitoringStatus, Person
from monitoring.models import CaseStatus, Channel, Clue, ExitMode
from reports import selectors
from reports.selectors import HOUSEHOLD_LEDGERS, Ledger
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

OUT, ORDINARY = HouseholdType.OUT_OF_POVERTY, HouseholdType.ORDINARY


def make(village, household_type, members, *, status="", low_income="", case=None, **case_fields):
    home = hf.household(village, members=members, household_type=household_type, low_income_status=low_income)
    Household.objects.filter(pk=home.pk).update(monitoring_status=status)
    if case:
        mf.case(home, status=case, **case_fields)
    return home


@pytest.fixture
def county(areas):
    v11, v12, v21 = areas["v11"], areas["v12"], areas["v21"]
    homes = [
        make(v11, OUT, 3, status=MonitoringStatus.MONITORED, case=CaseStatus.MONITORED),
        make(
            v12,
            ORDINARY,
            5,
            status=MonitoringStatus.SECURED_TRACKING,
            low_income=LowIncomeStatus.TEKUN,
            case=CaseStatus.SECURED_TRACKING,
        ),
        make(v21, OUT, 2, case=CaseStatus.EXIT_IN_PROGRESS),
        make(v11, OUT, 4, low_income=LowIncomeStatus.DIBAO),
        make(v11, ORDINARY, 1),
        make(v21, ORDINARY, 6, low_income=LowIncomeStatus.DIBAO_EDGE),
        # eliminated this year: two by assistance, one naturally; one last year
        make(
            v11,
            OUT,
            2,
            status=MonitoringStatus.ELIMINATED,
            case=CaseStatus.ELIMINATED,
            exit_mode=ExitMode.ASSISTANCE,
            eliminated_on=dt.date(2026, 6, 30),
        ),
        make(
            v21,
            ORDINARY,
            3,
            status=MonitoringStatus.ELIMINATED,
            case=CaseStatus.ELIMINATED,
            exit_mode=ExitMode.ASSISTANCE,
            eliminated_on=dt.date(2026, 11, 2),
        ),
        make(
            v12,
            ORDINARY,
            4,
            status=MonitoringStatus.ELIMINATED,
            case=CaseStatus.ELIMINATED,
            exit_mode=ExitMode.NATURAL,
            eliminated_on=dt.date(2026, 1, 1),
        ),
        make(
            v11,
            OUT,
            7,
            status=MonitoringStatus.ELIMINATED,
            case=CaseStatus.ELIMINATED,
            exit_mode=ExitMode.ASSISTANCE,
            eliminated_on=dt.date(2025, 12, 31),
        ),
    ]
    for home in (homes[4], homes[5], homes[5]):  # two clues on one household count it once
        Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=dt.date(2026, 3, 1),
            household=home,
            area_code=home.area_code,
            status="pending",
        )
    Clue.objects.create(
        channel=Channel.DEPARTMENT_ALERT,
        found_date=dt.date(2026, 3, 1),
        area_code="130727000000",
        status="unmatched",
    )
    return homes


def registry_people(household_ids) -> int:
    return Person.objects.filter(household_id__in=list(household_ids)).count()


@pytest.mark.parametrize("who", ["county_approver", "township_reviewer", "cadre"])
def test_people_per_ledger_equal_the_registry(who, request, county):
    user = request.getfixturevalue(who)
    counts = selectors.ledger_counts(user=user)
    for ledger in HOUSEHOLD_LEDGERS:
        ids = selectors.ledger_households(ledger, user=user).values_list("pk", flat=True)
        assert counts[f"{ledger}_people"] == registry_people(ids), ledger
    seen = Household.objects.for_user(user).values_list("pk", flat=True)
    assert counts["people"] == registry_people(seen) == Person.objects.for_user(user).count()
    # the households' member counts, kept by the services, are the registry's
    for home in Household.objects.for_user(user):
        assert home.member_count == home.members.count()
    # ledgers 1-3 partition the people as they do the households
    first_three = (Ledger.KEY_MONITORING, Ledger.STABLE_OUT_OF_POVERTY, Ledger.ORDINARY)
    assert sum(counts[f"{ledger}_people"] for ledger in first_three) == counts["people"]
    named = selectors.ledger_clues(user=user).exclude(household=None).values_list("household_id", flat=True)
    assert counts["early_warning_households"] == len(set(named))
    assert counts["early_warning_people"] == registry_people(set(named))


def test_the_county_figures(county_approver, county):
    counts = selectors.ledger_counts(user=county_approver)
    assert (counts["households"], counts["people"]) == (10, 37)
    assert (counts[Ledger.KEY_MONITORING], counts["key_monitoring_people"]) == (3, 10)
    assert (
        counts[Ledger.EARLY_WARNING],
        counts["early_warning_households"],
        counts["early_warning_people"],
    ) == (
        4,
        2,
        7,
    )


def test_the_year_s_exits_by_mode(county_approver, cadre, county):
    rows = {r["mode"]: r for r in selectors.year_exits(user=county_approver, year=2026)}
    assert set(rows) == set(ExitMode.values)
    assert (rows[ExitMode.ASSISTANCE]["households"], rows[ExitMode.ASSISTANCE]["people"]) == (2, 5)
    assert (rows[ExitMode.NATURAL]["households"], rows[ExitMode.NATURAL]["people"]) == (1, 4)
    last_year = {r["mode"]: r for r in selectors.year_exits(user=county_approver, year=2025)}
    assert (last_year[ExitMode.ASSISTANCE]["households"], last_year[ExitMode.ASSISTANCE]["people"]) == (1, 7)
    # the village cadre sees the village's only
    mine = {r["mode"]: r for r in selectors.year_exits(user=cadre, year=2026)}
    assert (mine[ExitMode.ASSISTANCE]["households"], mine[ExitMode.ASSISTANCE]["people"]) == (1, 2)
    assert mine[ExitMode.NATURAL]["households"] == 0


def test_the_api_gives_people_and_exits(county_approver, county):
    client = APIClient()
    client.force_login(county_approver)
    body = client.get("/api/v1/ledgers/counts/", {"year": 2026}).json()
    assert (body["households"], body["people"]) == (10, 37)
    key = next(r for r in body["ledgers"] if r["ledger"] == "key_monitoring")
    assert (key["count"], key["households"], key["people"]) == (3, 3, 10)
    assert body["exits"]["year"] == 2026 and (body["exits"]["households"], body["exits"]["people"]) == (3, 9)
    assert client.get("/api/v1/ledgers/counts/", {"year": "20x6"}).status_code == 400


def test_the_counts_page_and_its_workbook(client, county_approver, areas, county):
    client.force_login(county_approver)
    page = client.get("/reports/", {"year": 2026})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="ledger-key_monitoring"' in html and ">10<" in html and ">37<" in html
    township = client.get("/reports/", {"area": areas["t2"].prefix, "year": 2026}).context["report"]
    assert township["households"] == 3
    response = client.get("/reports/counts.xlsx", {"year": 2026})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert ("重点监测对象", 3, 10, None) in rows
    assert ("预警信息", 2, 7, 4) in rows
    assert ("合计", 3, 9, None) in rows


def test_a_bad_query_is_reported_not_a_500(client, county_approver, county):
    client.force_login(county_approver)
    page = client.get("/reports/", {"year": "abc", "area": "x"})
    assert page.status_code == 200 and page.context["query"].errors


@pytest.mark.parametrize(
    ("role", "status"), [(Role.HELPER, 403), (Role.DEPARTMENT, 403), (Role.VILLAGE_CADRE, 200)]
)
def test_who_reads_the_counts_page(client, areas, role, status):
    client.force_login(af.user(role, areas["v11"]))
    assert client.get("/reports/").status_code == status


def test_member_counts_follow_adds_and_moves(areas, cadre):
    from households import services

    a = hf.household(areas["v11"], members=2, actor=cadre)
    b = hf.household(areas["v11"], members=1, actor=cadre)
    assert (a.member_count, b.member_count) == (2, 1)
    services.person_add(actor=cadre, household=b, id_number=hf.id_number(), name="新成员", relation="child")
    mover = a.members.exclude(pk=a.head_id).get()
    services.person_move(actor=cadre, person=mover, to_household=b, relation="child", reason="分户")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.member_count, b.member_count) == (1, 3) == (a.members.count(), b.members.count())
