"""The emergency call's pages: raised from the household page, acknowledged with one tap,
closed with what was done; the household and home pages show the call in progress."""

import datetime as dt

import pytest

from accounts.models import Role
from households import services as hs
from households.models import AssignmentKind
from monitoring.models import CallStatus, EmergencyCall, HopState
from tests.accounts import factories as af
from tests.households import factories as hf


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


def _token(client, url):
    return client.get(url).context["form"]["submit_token"].value()


def test_raise_from_the_household_page_and_acknowledge(client, household, cadre, contact):
    client.force_login(cadre)
    page = client.get(f"/households/{household.pk}/").content.decode()
    assert f"/households/{household.pk}/call/" in page
    url = f"/households/{household.pk}/call/"
    response = client.post(url, {"note": "老人摔倒", "submit_token": _token(client, url)})
    call = EmergencyCall.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}/"
    assert "household-call-active" in client.get(f"/households/{household.pk}/").content.decode()

    client.force_login(contact)
    home = client.get("/").content.decode()
    assert f"/calls/{call.pk}/" in home and "home-calls" in home
    detail = client.get(f"/calls/{call.pk}/").content.decode()
    assert "call-ack-form" in detail and "老人摔倒" in detail
    client.post(f"/calls/{call.pk}/acknowledge/")
    call.refresh_from_db()
    assert call.status == CallStatus.ACKNOWLEDGED and call.acknowledged_by == contact
    assert not call.hops.filter(state=HopState.PLANNED).exists()
    assert "call-ack-form" not in client.get(f"/calls/{call.pk}/").content.decode()


def test_a_second_raise_goes_to_the_call_in_progress(client, household, cadre):
    client.force_login(cadre)
    url = f"/households/{household.pk}/call/"
    client.post(url, {"submit_token": _token(client, url)})
    page = client.get(url).content.decode()
    assert "call-active" in page and "call-raise-form" not in page
    assert EmergencyCall.objects.count() == 1


def test_close_shows_every_error_at_once_and_then_closes(client, household, cadre):
    client.force_login(cadre)
    url = f"/households/{household.pk}/call/"
    client.post(url, {"submit_token": _token(client, url)})
    call = EmergencyCall.objects.get()
    bad = client.post(f"/calls/{call.pk}/close/", {"outcome": "", "raise_clue": "on"})
    assert bad.status_code == 400
    errors = bad.context["close_form"].errors
    assert {"outcome", "risk_type_codes"} <= set(errors)
    token = client.get(f"/calls/{call.pk}/").context["close_form"]["submit_token"].value()
    done = client.post(f"/calls/{call.pk}/close/", {"outcome": "已送医", "submit_token": token})
    assert done.status_code == 302
    call.refresh_from_db()
    assert call.status == CallStatus.CLOSED and call.outcome == "已送医"
    listing = client.get("/calls/?status=closed").content.decode()
    assert f"/calls/{call.pk}/" in listing
    assert f"/calls/{call.pk}/" not in client.get("/calls/").content.decode()


def test_an_operator_sees_the_call_but_cannot_raise(client, household, operator):
    client.force_login(operator)
    page = client.get(f"/households/{household.pk}/call/").content.decode()
    assert "call-raise-form" not in page
    response = client.post(f"/households/{household.pk}/call/", {"note": "x"})
    assert response.status_code == 200 and not EmergencyCall.objects.exists()
