"""The staff API's reads and creates: scoping (404 outside the area), masking by role, search,
filters, ordering, pagination, fixed query counts, clue and visit creation, clue triage,
and the error shape for every refusal.

The API runs on the real clock, so dates here are relative to ``timezone.localdate()``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Department, Role
from accounts.tokens import token_issue
from households import idnumber
from households.models import Household, LowIncomeStatus, MonitoringStatus, Person
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    Measure,
    MeasureStatus,
    MonitoringCase,
    Visit,
)
from monitoring.services import clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

TODAY = timezone.localdate()
PHONE = "13912345678"


# --- fixtures --------------------------------------------------------------------------------


def client_for(user, *, token: bool = False) -> APIClient:
    client = APIClient()
    if token:
        _token, key = token_issue(actor=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    else:
        client.force_login(user)
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


def hh(village, *, phone: str = PHONE, members: int = 2, **fields) -> Household:
    return hf.household(village, members=members, phone=phone, **fields)


@pytest.fixture
def world(areas):
    """Two households in v11, one each in v12 and v21, each with a case, a clue and a visit."""
    homes = {
        "a": hh(areas["v11"], low_income_status=LowIncomeStatus.DIBAO),
        "b": hh(areas["v11"], household_type="out_of_poverty"),
        "c": hh(areas["v12"]),
        "d": hh(areas["v21"]),
    }
    for home in homes.values():
        Household.objects.filter(pk=home.pk).update(created_at=mf.at(TODAY - dt.timedelta(days=400)))
    cases = {key: mf.case(home, identified_on=TODAY - dt.timedelta(days=30)) for key, home in homes.items()}
    Household.objects.filter(pk__in=[h.pk for h in homes.values()]).update(
        monitoring_status=MonitoringStatus.MONITORED
    )
    clue_rows = {
        key: Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=TODAY - dt.timedelta(days=2),
            household=home,
            area_code=home.area_code,
            status=ClueStatus.ATTACHED,
            case=cases[key],
            name=home.head.name,
            id_number=home.head.id_number,
        )
        for key, home in homes.items()
    }
    visit_rows = {
        key: Visit.objects.create(
            household=home, area_code=home.area_code, case=cases[key], visited_on=TODAY - dt.timedelta(days=3)
        )
        for key, home in homes.items()
    }
    measure = Measure.objects.get(code="M0504")
    measure_rows = {
        key: AssistanceMeasure.objects.create(
            case=case,
            measure=measure,
            department=measure.department,
            status=MeasureStatus.PLANNED if key != "b" else MeasureStatus.IMPLEMENTED,
        )
        for key, case in cases.items()
    }
    return {
        "households": homes,
        "cases": cases,
        "clues": clue_rows,
        "visits": visit_rows,
        "measures": measure_rows,
    }


@pytest.fixture
def helper_user(helper_user, world):
    """The helper, responsible for household "a" for the last 60 days."""
    hf.assign(helper_user, world["households"]["a"], TODAY - dt.timedelta(days=60))
    return helper_user


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- authentication ---------------------------------------------------------------------------


def test_anonymous_callers_get_401_with_the_error_shape(world):
    body = assert_error(APIClient().get("/api/v1/households/"), 401, "not_authenticated")
    assert body["fields"] == {}


def test_department_accounts_cannot_use_the_staff_api(areas, world):
    dept = af.user(Role.DEPARTMENT, areas["county"], department=Department.objects.get(code="health"))
    assert_error(client_for(dept).get("/api/v1/cases/"), 403)


def test_token_and_session_auth_both_work(cadre, world):
    assert client_for(cadre, token=True).get("/api/v1/households/").status_code == 200
    assert client_for(cadre).get("/api/v1/households/").status_code == 200


# --- scoping -----------------------------------------------------------------------------------

ENDPOINTS = {
    "households": ("households", "households"),
    "cases": ("cases", "cases"),
    "clues": ("clues", "clues"),
    "visits": ("visits", "visits"),
    "measures": ("measures", "measures"),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_village_cadre_sees_only_their_village(endpoint, cadre, world):
    rows = world[ENDPOINTS[endpoint][1]]
    client = client_for(cadre)
    assert ids(client.get(f"/api/v1/{endpoint}/")) == {rows["a"].pk, rows["b"].pk}
    for key in ("c", "d"):
        assert_error(client.get(f"/api/v1/{endpoint}/{rows[key].pk}/"), 404, "not_found")
    assert client.get(f"/api/v1/{endpoint}/{rows['a'].pk}/").status_code == 200


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_township_reviewer_sees_its_villages(endpoint, township_reviewer, world):
    rows = world[ENDPOINTS[endpoint][1]]
    client = client_for(township_reviewer)
    assert ids(client.get(f"/api/v1/{endpoint}/")) == {rows["a"].pk, rows["b"].pk, rows["c"].pk}
    assert_error(client.get(f"/api/v1/{endpoint}/{rows['d'].pk}/"), 404)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_user_of_two_villages_sees_both(endpoint, areas, world):
    user = af.user(Role.VILLAGE_CADRE, areas["v12"], areas["v21"])
    rows = world[ENDPOINTS[endpoint][1]]
    assert ids(client_for(user).get(f"/api/v1/{endpoint}/")) == {rows["c"].pk, rows["d"].pk}


def test_a_county_approver_sees_the_county(county_approver, world):
    assert len(ids(client_for(county_approver).get("/api/v1/households/"))) == 4


def test_people_are_scoped_too(cadre, world):
    client = client_for(cadre)
    mine = set(
        Person.objects.filter(household__area_code=world["households"]["a"].area_code).values_list(
            "pk", flat=True
        )
    )
    assert ids(client.get("/api/v1/people/")) == mine
    other = world["households"]["d"].head
    assert_error(client.get(f"/api/v1/people/{other.pk}/"), 404)


def test_actions_on_another_area_are_404(cadre, world):
    client = client_for(cadre)
    case = world["cases"]["d"]
    assert_error(
        client.post(f"/api/v1/cases/{case.pk}/actions/", {"action": "green_channel"}, format="json"), 404
    )
    clue = world["clues"]["d"]
    assert_error(
        client.post(f"/api/v1/clues/{clue.pk}/dismiss/", {"reason": "duplicate"}, format="json"), 404
    )


def test_odd_ids_are_404_not_500(cadre, world):
    client = client_for(cadre)
    for bad in ("abc", "0", "-1", "99999999999999999999999"):
        assert_error(client.get(f"/api/v1/households/{bad}/"), 404)


def test_huge_ids_are_refused_or_find_nothing(county_approver, world):
    client = client_for(county_approver)
    huge = "9" * 30
    assert "village" in assert_error(client.get("/api/v1/households/", {"village": huge}), 400)["fields"]
    assert "household" in assert_error(client.get("/api/v1/cases/", {"household": huge}), 400)["fields"]
    assert ids(client.get("/api/v1/measures/", {"department": huge})) == set()
    for url, body in (
        ("/api/v1/clues/", {"household": int(huge)}),
        ("/api/v1/visits/", {"household": int(huge), "visited_on": TODAY.isoformat()}),
        (f"/api/v1/clues/{world['clues']['a'].pk}/match/", {"household": int(huge)}),
        (f"/api/v1/cases/{world['cases']['a'].pk}/actions/", {"action": "complete", "step": int(huge)}),
    ):
        assert_error(client.post(url, body, format="json"), 400)


def test_methods_the_api_does_not_offer_are_405_with_the_error_shape(county_approver, world):
    client = client_for(county_approver)
    home = world["households"]["a"]
    assert_error(client.delete(f"/api/v1/households/{home.pk}/"), 405, "method_not_allowed")
    assert_error(client.patch(f"/api/v1/cases/{world['cases']['a'].pk}/", {}, format="json"), 405)
    assert_error(client.get(f"/api/v1/cases/{world['cases']['a'].pk}/actions/"), 405)


# --- masking -----------------------------------------------------------------------------------


def test_lists_mask_id_numbers_and_phones_for_everyone(county_approver, world):
    client = client_for(county_approver)
    row = next(r for r in client.get("/api/v1/households/").json()["results"])
    assert row["phone"] == idnumber.mask_phone(PHONE) and PHONE not in str(row)
    people = client.get("/api/v1/people/").json()["results"]
    for person in people:
        full = Person.objects.get(pk=person["id"]).id_number
        assert person["id_number"] == idnumber.mask(full)
        # the birth date is what the mask hides: a list shows the age only
        assert person["birth_date"] is None and isinstance(person["age"], int)
    clue_rows = client.get("/api/v1/clues/").json()["results"]
    assert all("*" in c["id_number"] for c in clue_rows)


@pytest.mark.parametrize("role", ["cadre", "township_reviewer", "county_approver", "operator"])
def test_a_single_household_shows_identity_to_the_roles_that_need_it(role, request, world):
    user = request.getfixturevalue(role)
    home = world["households"]["a"]
    body = client_for(user).get(f"/api/v1/households/{home.pk}/").json()
    assert body["phone"] == PHONE
    numbers = {m["id_number"] for m in body["members"]}
    assert numbers == set(home.members.values_list("id_number", flat=True))
    assert all(m["birth_date"] for m in body["members"])
    person = home.head
    assert client_for(user).get(f"/api/v1/people/{person.pk}/").json()["id_number"] == person.id_number
    clue = world["clues"]["a"]
    assert client_for(user).get(f"/api/v1/clues/{clue.pk}/").json()["id_number"] == clue.id_number


def test_a_helper_sees_the_assigned_household_masked(helper_user, world):
    client = client_for(helper_user)
    home = world["households"]["a"]
    assert ids(client.get("/api/v1/households/")) == {home.pk}
    body = client.get(f"/api/v1/households/{home.pk}/").json()
    assert body["phone"] == idnumber.mask_phone(PHONE)
    assert all("*" in m["id_number"] and m["birth_date"] is None for m in body["members"])
    assert "*" in client.get(f"/api/v1/people/{home.head.pk}/").json()["id_number"]
    assert_error(client.get(f"/api/v1/households/{world['households']['b'].pk}/"), 404)


# --- search, filters, ordering, pagination ------------------------------------------------------


def test_search_households_by_id_number_number_and_name(county_approver, world):
    client = client_for(county_approver)
    home = world["households"]["c"]
    member = home.members.order_by("-id").first()
    found = client.post("/api/v1/households/search/", {"search": member.id_number}, format="json")
    assert ids(found) == {home.pk}
    lower = client.post("/api/v1/households/search/", {"search": member.id_number.lower()}, format="json")
    assert ids(lower) == {home.pk}
    assert ids(client.get("/api/v1/households/", {"search": home.number})) == {home.pk}
    v11 = {world["households"]["a"].pk, world["households"]["b"].pk}
    assert ids(client.get("/api/v1/households/", {"search": "H130727100201"})) == v11
    assert ids(client.get("/api/v1/households/", {"search": member.name})) == {home.pk}
    assert ids(client.get("/api/v1/households/", {"search": "无此人"})) == set()


def test_search_people_and_cases(county_approver, world):
    client = client_for(county_approver)
    member = world["households"]["d"].head
    assert ids(client.get("/api/v1/people/", {"search": member.name})) == {member.pk}
    by_number = client.post("/api/v1/people/search/", {"id_number": member.id_number}, format="json")
    assert ids(by_number) == {member.pk}
    assert ids(client.post("/api/v1/people/search/", {"search": member.id_number}, format="json")) == {
        member.pk
    }
    assert ids(client.get("/api/v1/cases/", {"search": member.name})) == {world["cases"]["d"].pk}
    by_id = client.post("/api/v1/cases/search/", {"search": member.id_number}, format="json")
    assert ids(by_id) == {world["cases"]["d"].pk}
    assert ids(client.get("/api/v1/cases/", {"search": world["households"]["d"].number})) == {
        world["cases"]["d"].pk
    }


def test_search_stays_inside_the_area(cadre, world):
    member = world["households"]["d"].head
    outside = client_for(cadre).post(
        "/api/v1/households/search/", {"search": member.id_number}, format="json"
    )
    assert ids(outside) == set()


def test_household_filters(county_approver, areas, world):
    client = client_for(county_approver)
    homes = world["households"]
    assert ids(client.get("/api/v1/households/", {"low_income": "true"})) == {homes["a"].pk}
    assert ids(client.get("/api/v1/households/", {"low_income_status": "dibao"})) == {homes["a"].pk}
    assert ids(client.get("/api/v1/households/", {"household_type": "out_of_poverty"})) == {homes["b"].pk}
    assert ids(client.get("/api/v1/households/", {"area": "130727100"})) == {
        homes["a"].pk,
        homes["b"].pk,
        homes["c"].pk,
    }
    # a full 12-digit township code means the township
    assert len(ids(client.get("/api/v1/households/", {"area": areas["t1"].code}))) == 3
    assert ids(client.get("/api/v1/households/", {"village": areas["v21"].pk})) == {homes["d"].pk}
    Household.objects.filter(pk=homes["c"].pk).update(monitoring_status="")
    assert ids(client.get("/api/v1/households/", {"monitoring_status": "none"})) == {homes["c"].pk}
    assert len(ids(client.get("/api/v1/households/", {"monitoring_status": ["none", "monitored"]}))) == 4


def test_an_area_filter_narrows_but_never_widens(cadre, world):
    assert ids(client_for(cadre).get("/api/v1/households/", {"area": "130727200"})) == set()
    assert ids(client_for(cadre).get("/api/v1/households/", {"area": "13"})) == {
        world["households"]["a"].pk,
        world["households"]["b"].pk,
    }


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/households/", {"monitoring_status": "nonsense"}, "monitoring_status"),
        ("/api/v1/households/", {"area": "13x"}, "area"),
        ("/api/v1/households/", {"village": "abc"}, "village"),
        ("/api/v1/cases/", {"due_from": "2026-13-45"}, "due_from"),
        ("/api/v1/cases/", {"status": "flying"}, "status"),
        ("/api/v1/clues/", {"household": "1.5"}, "household"),
        ("/api/v1/visits/", {"visited_from": "yesterday"}, "visited_from"),
        ("/api/v1/measures/", {"status": "done"}, "status"),
    ],
)
def test_bad_filter_values_are_400_with_the_field(url, params, field, county_approver, world):
    body = assert_error(client_for(county_approver).get(url, params), 400, "invalid")
    assert field in body["fields"]


def test_case_filters(county_approver, world):
    client = client_for(county_approver)
    cases = world["cases"]
    MonitoringCase.objects.filter(pk=cases["a"].pk).update(
        status=CaseStatus.IDENTIFYING, due_date=TODAY - dt.timedelta(days=1)
    )
    MonitoringCase.objects.filter(pk=cases["b"].pk).update(status=CaseStatus.IDENTIFYING, due_date=TODAY)
    assert ids(client.get("/api/v1/cases/", {"overdue": "true"})) == {cases["a"].pk}
    assert ids(client.get("/api/v1/cases/", {"status": "identifying"})) == {cases["a"].pk, cases["b"].pk}
    assert ids(client.get("/api/v1/cases/", {"area": "130727200"})) == {cases["d"].pk}
    assert len(ids(client.get("/api/v1/cases/", {"open": "true"}))) == 4


def test_clue_visit_and_measure_filters(county_approver, world):
    client = client_for(county_approver)
    home = world["households"]["c"]
    assert ids(client.get("/api/v1/clues/", {"household": home.pk})) == {world["clues"]["c"].pk}
    assert ids(client.get("/api/v1/clues/", {"status": "pending"})) == set()
    assert ids(client.get("/api/v1/visits/", {"household": home.pk})) == {world["visits"]["c"].pk}
    assert ids(client.get("/api/v1/visits/", {"visited_from": TODAY.isoformat()})) == set()
    measures = world["measures"]
    assert ids(client.get("/api/v1/measures/", {"status": "implemented"})) == {measures["b"].pk}
    health = Department.objects.get(code="health")
    assert len(ids(client.get("/api/v1/measures/", {"department": "health"}))) == 4
    assert len(ids(client.get("/api/v1/measures/", {"department": health.pk}))) == 4
    assert ids(client.get("/api/v1/measures/", {"department": "education"})) == set()
    assert ids(client.get("/api/v1/measures/", {"status": "planned", "area": "130727100201"})) == {
        measures["a"].pk
    }


def test_ordering_and_pagination(county_approver, world):
    client = client_for(county_approver)
    numbers = sorted(h.number for h in world["households"].values())
    page = client.get("/api/v1/households/", {"page_size": 3}).json()
    assert page["count"] == 4 and page["next"] and page["previous"] is None
    assert [r["number"] for r in page["results"]] == numbers[:3]
    second = client.get("/api/v1/households/", {"page_size": 3, "page": 2}).json()
    assert [r["number"] for r in second["results"]] == numbers[3:]
    # within an area, households follow their number in the area's direction (stable pages)
    by_area = client.get("/api/v1/households/", {"ordering": "-area_code"}).json()["results"]
    homes = sorted(world["households"].values(), key=lambda h: (h.area_code, h.number), reverse=True)
    assert [r["id"] for r in by_area] == [h.pk for h in homes]
    # an ordering on a column that is not offered is ignored (the default applies), not an error
    for unoffered in ("address", "-number", "-id"):
        body = client.get("/api/v1/households/", {"ordering": unoffered}).json()
        assert [r["number"] for r in body["results"]] == numbers
    people = client.get("/api/v1/people/", {"ordering": "name"}).json()["results"]
    assert [p["name"] for p in people] == sorted(p["name"] for p in people)
    cases = client.get("/api/v1/cases/", {"ordering": "-due_date"}).json()["results"]
    assert [c["due_date"] for c in cases] == sorted((c["due_date"] for c in cases), reverse=True)
    assert_error(client.get("/api/v1/households/", {"page": 99}), 404)
    visits = client.get("/api/v1/visits/", {"ordering": "id"}).json()["results"]
    assert [v["id"] for v in visits] == sorted(v.pk for v in world["visits"].values())


def test_the_people_list_pages_without_counting(county_approver, world):
    client = client_for(county_approver)
    everyone = list(
        Person.objects.order_by("household__area_code", "household__number", "id").values_list(
            "pk", flat=True
        )
    )
    seen, url = [], "/api/v1/people/?page_size=3"
    while url:
        body = client.get(url).json()
        assert body["count"] is None
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == everyone
    body = client.get("/api/v1/people/", {"page_size": 3, "page": 2}).json()
    assert body["previous"] and "page=" not in body["previous"]
    assert_error(client.get("/api/v1/people/", {"page": 99}), 404)
    # not a page number at all: a 400 naming the parameter; a number past the end: a 404
    for bad in ("x", "0", "-1", "1.5", "last"):
        response = client.get("/api/v1/people/", {"page": bad})
        assert_error(response, 400)
        assert set(response.json()["fields"]) == {"page"}
    assert_error(client.get("/api/v1/people/", {"page": "9" * 30}), 404)
    assert_error(client.get("/api/v1/households/", {"page": "9" * 30}), 404)
    for bad in ("0", "501", "x"):
        assert set(client.get("/api/v1/households/", {"page_size": bad}).json()["fields"]) == {"page_size"}
    twice = client.get("/api/v1/households/?page=1&page=2")
    assert_error(twice, 400)


# --- query counts ------------------------------------------------------------------------------


def _add_rows(areas, n: int) -> None:
    """n more households in v11, each with a case, a clue, a visit and a measure."""
    measure = Measure.objects.get(code="M0504")
    for _ in range(n):
        home = hh(areas["v11"], members=1)
        case = mf.case(home, identified_on=TODAY - dt.timedelta(days=30))
        clue = Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=TODAY,
            household=home,
            area_code=home.area_code,
            status=ClueStatus.ATTACHED,
            case=case,
        )
        clue.risk_types.set(case.risk_types.all())
        Visit.objects.create(
            household=home, area_code=home.area_code, case=case, visited_on=TODAY, visited_by=None
        )
        AssistanceMeasure.objects.create(case=case, measure=measure, department=measure.department)


@pytest.mark.parametrize("endpoint", ["households", "people", "cases", "clues", "visits", "measures"])
@pytest.mark.parametrize("role", ["cadre", "helper_user"])
def test_lists_make_a_fixed_number_of_queries(
    endpoint, role, request, areas, world, django_assert_max_num_queries
):
    user = request.getfixturevalue(role)
    client = client_for(user)
    url = f"/api/v1/{endpoint}/?page_size=100"
    client.get(url)  # warm up (session, content types)
    _add_rows(areas, 3)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    small = len(response.json()["results"])
    _add_rows(areas, 45)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    if role == "cadre":
        assert len(response.json()["results"]) >= small + 45


# --- clues: create and triage ----------------------------------------------------------------


@pytest.fixture
def fresh(areas):
    """A household of v11 without a case."""
    home = hh(areas["v11"])
    Household.objects.filter(pk=home.pk).update(created_at=mf.at(TODAY - dt.timedelta(days=100)))
    return Household.objects.get(pk=home.pk)


def test_a_cadre_reports_a_clue_and_the_identification_starts(cadre, fresh):
    response = client_for(cadre).post(
        "/api/v1/clues/",
        {
            "household": fresh.pk,
            "channel": "self_report",
            "found_date": (TODAY - dt.timedelta(days=1)).isoformat(),
            "risk_type_codes": ["01"],
            "description": "户主住院",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == ClueStatus.CASE_OPENED and body["case"]
    assert body["id_number"] == ""  # no ID number given
    case = MonitoringCase.objects.get(pk=body["case"])
    assert case.household_id == fresh.pk and case.status == CaseStatus.IDENTIFYING


def test_clue_creation_refusals(cadre, fresh, world):
    client = client_for(cadre)
    base = {
        "household": fresh.pk,
        "channel": "cadre_screening",
        "found_date": TODAY.isoformat(),
        "risk_type_codes": ["01"],
    }
    # another village's household is not even a valid choice (no 403 that reveals it)
    body = assert_error(
        client.post("/api/v1/clues/", {**base, "household": world["households"]["d"].pk}, format="json"), 400
    )
    assert "household" in body["fields"]
    body = assert_error(
        client.post(
            "/api/v1/clues/",
            {**base, "found_date": (TODAY + dt.timedelta(days=1)).isoformat()},
            format="json",
        ),
        400,
        "invalid",
    )
    assert "found_date" in body["fields"]
    body = assert_error(
        client.post("/api/v1/clues/", {**base, "risk_type_codes": ["77"]}, format="json"), 400
    )
    assert "risk_type_codes" in body["fields"]
    body = assert_error(
        client.post("/api/v1/clues/", {**base, "channel": "department_alert"}, format="json"), 400
    )
    assert "channel" in body["fields"]
    assert_error(
        client.post("/api/v1/clues/", {"household": "x", "risk_type_codes": "01"}, format="json"), 400
    )
    assert_error(
        client.post("/api/v1/clues/", "not json", content_type="application/json"), 400, "parse_error"
    )
    assert not Clue.objects.filter(household=fresh).exists()


def _alert(areas, id_number: str, external_id: str) -> Clue:
    dept = af.user(Role.DEPARTMENT, areas["county"], department=Department.objects.get(code="civil_affairs"))
    clue, _created = clues.alert_receive(
        actor=dept,
        department=dept.department,
        external_id=external_id,
        found_date=TODAY - dt.timedelta(days=1),
        risk_type_codes=["01"],
        id_number=id_number,
        name="王某",
    )
    return clue


def test_county_triage_match_then_open_a_case(areas, county_approver, township_reviewer, fresh):
    clue = _alert(areas, hf.id_number(), "A-1")
    assert clue.status == ClueStatus.UNMATCHED
    # an unmatched alert waits at the county: the township does not see it
    assert_error(client_for(township_reviewer).get(f"/api/v1/clues/{clue.pk}/"), 404)
    client = client_for(county_approver, token=True)
    person = fresh.members.first()
    response = client.post(
        f"/api/v1/clues/{clue.pk}/match/", {"household": fresh.pk, "person": person.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ClueStatus.PENDING and response.json()["household"] == fresh.pk
    response = client.post(f"/api/v1/clues/{clue.pk}/open-case/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ClueStatus.CASE_OPENED
    # a second open-case is an invalid transition
    assert_error(client.post(f"/api/v1/clues/{clue.pk}/open-case/"), 409, "invalid_transition")


def test_county_triage_dismiss_and_its_refusals(areas, county_approver, cadre, fresh):
    clue = _alert(areas, hf.id_number(), "A-2")
    client = client_for(county_approver)
    body = assert_error(
        client.post(f"/api/v1/clues/{clue.pk}/dismiss/", {"reason": "why"}, format="json"), 400
    )
    assert "reason" in body["fields"]
    body = assert_error(
        client.post(f"/api/v1/clues/{clue.pk}/dismiss/", {"reason": "other"}, format="json"), 400
    )
    assert "note" in body["fields"]
    response = client.post(f"/api/v1/clues/{clue.pk}/dismiss/", {"reason": "not_found"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == ClueStatus.DISMISSED
    assert_error(
        client.post(f"/api/v1/clues/{clue.pk}/dismiss/", {"reason": "not_found"}, format="json"), 409
    )
    # a matched clue of the cadre's village: the cadre sees it but triage is the county's
    pending = clues.clue_create(
        actor=county_approver,
        channel=Channel.OTHER,
        found_date=TODAY,
        risk_type_codes=["01"],
        household=fresh,
        open_case=False,
    )
    assert_error(
        client_for(cadre).post(
            f"/api/v1/clues/{pending.pk}/dismiss/", {"reason": "duplicate"}, format="json"
        ),
        403,
        "not_allowed",
    )


def test_matching_to_a_household_outside_the_area_is_a_field_error(areas, county_approver):
    clue = _alert(areas, hf.id_number(), "A-3")
    body = assert_error(
        client_for(county_approver).post(
            f"/api/v1/clues/{clue.pk}/match/", {"household": 10**6}, format="json"
        ),
        400,
    )
    assert "household" in body["fields"]


# --- visits ------------------------------------------------------------------------------------


def test_a_cadre_records_a_visit(cadre, world):
    home = world["households"]["a"]
    response = client_for(cadre).post(
        "/api/v1/visits/",
        {
            "household": home.pk,
            "visited_on": TODAY.isoformat(),
            "wages": "1200.50",
            "housing_secure": False,
            "needs": "修缮房屋",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["case"] == world["cases"]["a"].pk and body["wages"] == "1200.50"
    assert body["housing_secure"] is False and body["visited_by_name"] == cadre.username
    visit = Visit.objects.get(pk=body["id"])
    assert visit.visited_by == cadre


def test_a_helper_records_a_visit_of_the_assigned_household(helper_user, world):
    home = world["households"]["a"]
    client = client_for(helper_user, token=True)
    response = client.post(
        "/api/v1/visits/", {"household": home.pk, "visited_on": TODAY.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["helper"] is not None
    body = assert_error(
        client.post(
            "/api/v1/visits/",
            {"household": world["households"]["b"].pk, "visited_on": TODAY.isoformat()},
            format="json",
        ),
        400,
    )
    assert "household" in body["fields"]


def test_a_cadre_visit_raising_a_clue(cadre, fresh):
    response = client_for(cadre).post(
        "/api/v1/visits/",
        {
            "household": fresh.pk,
            "visited_on": TODAY.isoformat(),
            "raise_clue": {"risk_type_codes": ["05"], "description": "摔伤"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    clue = Clue.objects.get(pk=response.json()["raised_clue"])
    assert clue.channel == Channel.CADRE_SCREENING and clue.case is not None


def test_a_helper_visit_raising_a_clue(helper_user, world):
    home = world["households"]["a"]
    response = client_for(helper_user).post(
        "/api/v1/visits/",
        {
            "household": home.pk,
            "visited_on": TODAY.isoformat(),
            "raise_clue": {"risk_type_codes": ["05"], "description": "摔伤"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def test_visit_refusals(cadre, township_reviewer, world):
    client = client_for(cadre)
    home = world["households"]["a"]
    body = assert_error(
        client.post(
            "/api/v1/visits/",
            {"household": home.pk, "visited_on": (TODAY + dt.timedelta(days=1)).isoformat()},
            format="json",
        ),
        400,
        "invalid",
    )
    assert "visited_on" in body["fields"]
    body = assert_error(
        client.post(
            "/api/v1/visits/",
            {"household": world["households"]["d"].pk, "visited_on": TODAY.isoformat()},
            format="json",
        ),
        400,
    )
    assert "household" in body["fields"]
    body = assert_error(
        client.post(
            "/api/v1/visits/",
            {
                "household": home.pk,
                "visited_on": TODAY.isoformat(),
                "wages": "lots",
                "raise_clue": {"description": 3},
            },
            format="json",
        ),
        400,
    )
    assert "wages" in body["fields"] and "raise_clue.risk_type_codes" in body["fields"]
    assert_error(
        client_for(township_reviewer).post(
            "/api/v1/visits/", {"household": home.pk, "visited_on": TODAY.isoformat()}, format="json"
        ),
        403,
        "not_allowed",
    )


# --- never a 500 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        [1, 2],
        "text",
        {"household": [1]},
        {"household": {"id": 1}, "visited_on": 5},
        {"visited_on": "2026-02-30", "household": 1},
        {"household": 1, "visited_on": "2026-01-01", "wages": "1e400"},
        {"household": 1, "visited_on": "2026-01-01", "raise_clue": "yes"},
        {"household": 1, "visited_on": "2026-01-01", "raise_clue": {"risk_type_codes": "05", "amount": "-1"}},
    ],
)
def test_bad_visit_payloads_are_4xx(payload, cadre, world):
    response = client_for(cadre).post("/api/v1/visits/", payload, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()) == {"code", "message", "fields"}


def test_form_encoded_bodies_are_refused_cleanly(cadre, world):
    response = client_for(cadre).post("/api/v1/visits/", {"household": 1})  # multipart
    assert_error(response, 415, "unsupported_media_type")


# --- the schema ----------------------------------------------------------------------------------


def test_the_openapi_schema_describes_the_staff_endpoints(client, db):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/households/",
        "/api/v1/people/{id}/",
        "/api/v1/clues/{id}/open-case/",
        "/api/v1/cases/{id}/actions/",
        "/api/v1/visits/",
        "/api/v1/measures/",
        "/api/v1/ledgers/counts/",
    ):
        assert path in paths, path
    action = paths["/api/v1/cases/{id}/actions/"]["post"]
    assert action["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CaseActionRequest"
    )
    assert {"200", "400", "403", "404", "409"} <= set(action["responses"])
    assert action["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("CaseDetail")


def test_unknown_api_url_answers_the_json_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == "not_found"
