"""The emergency call in the API: staff raise, acknowledge and close; a call device raises
with its department's key; outsiders get 404s and keys without the scope a 403."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, Scope
from households import services as hs
from households.models import AssignmentKind
from monitoring.models import CallHop, EmergencyCall, HopState
from tests.accounts import factories as af
from tests.api.conftest import key_client
from tests.households import factories as hf


def staff(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def contact(areas, household):
    user = af.user(Role.HELPER, username="contact", full_name="联系人")
    helper = hf.helper(areas["county"], user, name="联系人")
    hs.helper_assign(
        actor=None,
        helper=helper,
        household=household,
        start_date=dt.date(2026, 1, 1),
        kind=AssignmentKind.CONTACT,
    )
    return user


def test_staff_raise_acknowledge_and_close(household, cadre, contact):
    api = staff(cadre)
    created = api.post("/api/v1/calls/", {"household": household.pk, "note": "摔倒"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "open" and body["source"] == "api"
    assert [h["state"] for h in body["hops"]][:1] == ["notified"]
    again = api.post("/api/v1/calls/", {"household": household.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]

    ack = staff(contact).post(f"/api/v1/calls/{body['id']}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert not CallHop.objects.filter(call_id=body["id"], state=HopState.PLANNED).exists()

    bad = api.post(f"/api/v1/calls/{body['id']}/close/", {"outcome": ""}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()["fields"]
    closed = api.post(
        f"/api/v1/calls/{body['id']}/close/",
        {"outcome": "已送医", "raise_clue": {"risk_type_codes": ["01"]}},
        format="json",
    )
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed" and closed.json()["clue"]
    assert api.post(f"/api/v1/calls/{body['id']}/close/", {"outcome": "x"}, format="json").status_code == 409


def test_outsiders_do_not_see_a_call(household, cadre, areas):
    call = staff(cadre).post("/api/v1/calls/", {"household": household.pk}, format="json").json()
    outsider = af.user(Role.VILLAGE_CADRE, areas["v21"], username="far")
    api = staff(outsider)
    assert api.get(f"/api/v1/calls/{call['id']}/").status_code == 404
    assert api.post(f"/api/v1/calls/{call['id']}/acknowledge/").status_code == 404
    assert api.get("/api/v1/calls/").json()["results"] == []
    assert api.post("/api/v1/calls/", {"household": household.pk}, format="json").status_code == 400


def test_a_call_device_raises_by_household_number_or_id_number(household, issue, medical, contact):
    key, raw = issue(medical, scopes=[Scope.CALLS_WRITE])
    device = key_client(raw)
    answer = device.post("/api/v1/device-calls/", {"household_number": household.number}, format="json")
    assert answer.status_code == 201, answer.content
    call = EmergencyCall.objects.get(pk=answer.json()["id"])
    assert call.source == "device" and call.department == medical
    member = household.members.first()
    again = device.post("/api/v1/device-calls/", {"id_number": member.id_number}, format="json")
    assert again.status_code == 200 and again.json() == {**answer.json(), "created": False}
    missing = device.post("/api/v1/device-calls/", {"household_number": "NOPE"}, format="json")
    assert missing.status_code == 400 and "household_number" in missing.json()["fields"]
    nothing = device.post("/api/v1/device-calls/", {}, format="json")
    assert nothing.status_code == 400


def test_a_key_without_the_scope_is_refused(household, issue, medical):
    _key, raw = issue(medical, scopes=[Scope.ALERTS_WRITE])
    answer = key_client(raw).post(
        "/api/v1/device-calls/", {"household_number": household.number}, format="json"
    )
    assert answer.status_code == 403
    assert not EmergencyCall.objects.exists()


def test_a_device_of_another_county_does_not_find_the_household(household, issue, medical, areas):
    other = af.area("130728000000", "邻县", "county", areas["city"])
    _key, raw = issue(medical, scopes=[Scope.CALLS_WRITE], county=other)
    answer = key_client(raw).post(
        "/api/v1/device-calls/", {"household_number": household.number}, format="json"
    )
    assert answer.status_code == 400
    assert not EmergencyCall.objects.exists()
