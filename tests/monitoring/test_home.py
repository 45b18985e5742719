"""The home page: each role's work for today, most urgent first, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Department, Role
from households import services as household_services
from monitoring.models import CaseStatus, Channel, MonitoringCase
from monitoring.rules import deadlines
from monitoring.services import assistance, clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import at

TODAY = deadlines.local_date(timezone.now())


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def report(household, actor, found: dt.date) -> MonitoringCase:
    clue = clues.clue_create(
        actor=actor,
        channel=Channel.SELF_REPORT,
        found_date=found,
        risk_type_codes=["07"],
        household=household,
        now=at(found),
    )
    return clue.case


@pytest.fixture
def civil_affairs(areas):
    department = Department.objects.get(code="civil_affairs")
    return af.user(Role.DEPARTMENT, areas["county"], department=department, username="civil")


def alert(n: int, actor):
    clue, _created = clues.alert_receive(
        actor=actor,
        department=actor.department,
        external_id=f"A-{n}",
        found_date=ago(2),
        risk_type_codes=["01"],
        name=f"对象{n}",
    )
    return clue


def test_anonymous_goes_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_cadre_sees_the_steps_waiting_on_them_sorted_by_deadline_late_in_red(client, areas, cadre):
    late = report(hf.household(areas["v11"]), cadre, ago(9))  # home verification due 3 days after
    fresh = report(hf.household(areas["v11"]), cadre, TODAY)
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v21"])
    report(hf.household(areas["v21"]), other_cadre, ago(1))
    client.force_login(cadre)
    response = client.get("/")
    assert response.status_code == 200
    rows = response.context["steps"]["rows"]
    assert [s.case_id for s in rows] == [late.pk, fresh.pk]
    assert rows[0].due_info.overdue
    html = response.content.decode()
    assert 'class="deadline deadline-overdue overdue"' in html
    assert "已超期" in html
    assert "clues" not in response.context  # triage is the county's


def test_township_reviewer_sees_nothing_until_home_verification_is_done(
    client, areas, cadre, township_reviewer
):
    report(hf.household(areas["v11"]), cadre, ago(1))
    client.force_login(township_reviewer)
    response = client.get("/")
    assert response.context["steps"]["rows"] == []
    assert "暂无待办理的案件" in response.content.decode()


def test_helper_sees_the_visits_due_of_their_households(client, areas):
    user = af.user(Role.HELPER)
    helper = hf.helper(areas["county"], user)
    mine = hf.household(areas["v11"])
    household_services.helper_assign(actor=None, helper=helper, household=mine, start_date=ago(60))
    due_case = mf.case(mine, identified_on=ago(40), next_visit_due=ago(2))
    mf.case(hf.household(areas["v11"]), identified_on=ago(40), next_visit_due=ago(5))  # not theirs
    client.force_login(user)
    response = client.get("/")
    assert [c.pk for c in response.context["visits"]["rows"]] == [due_case.pk]
    assert response.context["visits"]["rows"][0].due_info.overdue
    assert "steps" not in response.context
    assert f"/households/{mine.pk}/visit/" in response.content.decode()


def test_county_approver_sees_clues_to_triage_and_measures_overdue(
    client, areas, county_approver, civil_affairs
):
    alert(1, civil_affairs)
    alert(2, civil_affairs)
    no_measure = mf.case(hf.household(areas["v11"]), identified_on=ago(45))
    planned = mf.case(hf.household(areas["v12"]), identified_on=ago(10), risks=("07",))
    (late,) = assistance.plan_set(
        actor=county_approver,
        case=planned,
        items=[{"measure": "M0203", "responsible_person": "王", "planned_end": ago(3)}],
        now=at(ago(9)),
    )
    client.force_login(county_approver)
    response = client.get("/")
    assert response.context["clues"]["total"] == 2
    measures = response.context["measures"]
    assert [c.pk for c in measures["without"]] == [no_measure.pk]
    assert [m.pk for m in measures["late"]] == [late.pk]
    html = response.content.decode()
    assert "待研判线索" in html and "帮扶措施超期" in html


def test_department_users_are_told_to_use_the_api(client, areas):
    user = af.user(Role.DEPARTMENT, areas["county"], department=Department.objects.get(code="education"))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "通过接口" in response.content.decode()


@pytest.mark.parametrize("role", [Role.VILLAGE_CADRE, Role.COUNTY_APPROVER, Role.HELPER])
def test_home_makes_the_same_number_of_queries_for_5_and_30_items(
    client, areas, role, cadre, county_approver, civil_affairs
):
    user = {Role.VILLAGE_CADRE: cadre, Role.COUNTY_APPROVER: county_approver}.get(role)
    helper = None
    if role == Role.HELPER:
        user = af.user(Role.HELPER)
        helper = hf.helper(areas["county"], user)

    def make(n: int, start: int) -> None:
        for i in range(start, start + n):
            hh = hf.household(areas["v11"])
            report(hh, cadre, ago(i % 10))
            if helper is not None:
                household_services.helper_assign(actor=None, helper=helper, household=hh, start_date=ago(60))
            alert(i, civil_affairs)
            late = mf.case(hf.household(areas["v12"]), identified_on=ago(40), next_visit_due=ago(1))
            if helper is not None:
                household_services.helper_assign(
                    actor=None, helper=helper, household=late.household, start_date=ago(60)
                )

    client.force_login(user)
    make(5, 0)
    client.get("/")
    with CaptureQueriesContext(connection) as five:
        client.get("/")
    make(25, 5)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get("/")
    assert len(thirty) == len(five), [q["sql"] for q in thirty.captured_queries]
    assert len(five) <= 18  # the to-do cards, the calls in progress and the unassigned households: one query each
    if role == Role.COUNTY_APPROVER:
        assert response.context["clues"]["total"] == 30
        assert response.context["steps"]["total"] == 0
    elif role == Role.VILLAGE_CADRE:
        assert response.context["steps"]["total"] == 30
        assert len(response.context["steps"]["rows"]) == 20
    else:
        assert response.context["visits"]["total"] == 30
    assert MonitoringCase.objects.filter(status=CaseStatus.MONITORED).count() == 30
