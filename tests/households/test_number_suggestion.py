"""Registering a household suggests the village's next free number (village code + a 4-digit
running number), updated when the village changes; the service still checks uniqueness."""

import re

import pytest
from django.utils import translation

from accounts.errors import ValidationError
from accounts.models import Role
from households import services
from tests.accounts import factories as af


def _number_value(html: str) -> str:
    found = re.search(r'<input[^>]*name="number"[^>]*>', html)
    assert found, html
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def test_the_first_number_of_a_village(areas):
    assert services.suggest_number(areas["v11"]) == f"{areas['v11'].code}0001"


def test_the_next_number_follows_the_highest_in_use(areas, cadre):
    village = areas["v11"]
    for seq in (1, 2, 7):
        services.household_create(actor=cadre, number=f"{village.code}{seq:04d}", village=village)
    services.household_create(actor=cadre, number="H-other-format", village=village)
    assert services.suggest_number(village) == f"{village.code}0008"
    assert services.suggest_number(areas["v12"]) == f"{areas['v12'].code}0001"


def test_the_service_still_refuses_a_number_in_use(areas, cadre):
    village = areas["v11"]
    services.household_create(actor=cadre, number=services.suggest_number(village), village=village)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number=f"{village.code}0001", village=village)
    assert exc.value.message_dict == {"number": ["户编号已存在。"]}


def test_the_registration_form_opens_with_the_suggestion(client, cadre, areas):
    client.force_login(cadre)
    html = client.get("/households/new/").content.decode()
    assert _number_value(html) == f"{areas['v11'].code}0001"
    assert 'hx-get="/households/new/number/"' in html and 'hx-target="#number-field"' in html
    assert "该村下一个可用编号" in html


def test_changing_the_village_updates_the_number(client, areas):
    reviewer = af.user(Role.TOWNSHIP_REVIEWER, areas["t1"])
    client.force_login(reviewer)
    html = client.get("/households/new/").content.decode()
    assert _number_value(html) == ""  # several villages: none chosen yet
    first = client.get("/households/new/number/", {"village": areas["v11"].pk, "number": ""})
    assert first.status_code == 200
    suggestion = _number_value(first.content.decode())
    assert suggestion == f"{areas['v11'].code}0001"
    # another village: the previous suggestion is replaced
    second = client.get(
        "/households/new/number/",
        {"village": areas["v12"].pk, "number": suggestion, "suggested_number": suggestion},
    )
    assert _number_value(second.content.decode()) == f"{areas['v12'].code}0001"
    # a number typed by hand is kept; the suggestion is shown as a hint
    typed = client.get(
        "/households/new/number/",
        {"village": areas["v12"].pk, "number": "1307271002020099", "suggested_number": suggestion},
    ).content.decode()
    assert _number_value(typed) == "1307271002020099"
    assert f"{areas['v12'].code}0001" in typed


def test_a_village_outside_the_area_gets_no_suggestion(client, cadre, areas):
    client.force_login(cadre)
    html = client.get("/households/new/number/", {"village": areas["v21"].pk}).content.decode()
    assert areas["v21"].code not in html


def test_roles_outside_the_registry_get_no_suggestion(client, helper_user):
    client.force_login(helper_user)
    assert client.get("/households/new/number/").status_code == 403
