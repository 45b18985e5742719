"""One limit per field whoever sends it, and a message that names the real problem.

A clue's description is at most ``CLUE_DESCRIPTION_MAX`` characters from the staff API, a
department's alert and the service every page calls; a NUL character is refused as what it is,
in Chinese and in English, not as Django's "empty strings are not allowed".
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.errors import ValidationError
from monitoring.models import CLUE_DESCRIPTION_MAX, Clue
from monitoring.rules import coerce
from monitoring.services import clues
from tests.households import factories as hf

NUL_ZH = "含有不可见的空字符（NUL），请删除后再提交。"
NUL_EN = "Null characters are not allowed."


@pytest.fixture
def home(areas, cadre):
    return hf.household(areas["v11"], members=1, actor=cadre)


def _staff_post(user, **fields):
    client = APIClient()
    client.force_login(user)
    today = timezone.localdate().isoformat()
    body = {"channel": "self_report", "found_date": today, "risk_type_codes": ["01"], **fields}
    return client.post("/api/v1/clues/", body, format="json")


@pytest.mark.parametrize("length", [CLUE_DESCRIPTION_MAX, CLUE_DESCRIPTION_MAX + 1, 10_000])
def test_the_staff_api_takes_the_same_length_as_the_alerts(cadre, home, length):
    response = _staff_post(cadre, household=home.pk, description="险" * length)
    if length <= CLUE_DESCRIPTION_MAX:
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400 and "description" in response.json()["fields"]
        assert not Clue.objects.exists()


def test_the_service_every_page_calls_refuses_a_longer_description(cadre, home):
    with pytest.raises(ValidationError) as caught:
        clues.clue_create(
            actor=cadre,
            channel="self_report",
            found_date=timezone.localdate() - dt.timedelta(days=1),
            risk_type_codes=["01"],
            household=home,
            description="险" * (CLUE_DESCRIPTION_MAX + 1),
        )
    assert "description" in caught.value.message_dict
    assert not Clue.objects.exists()


def test_a_department_alert_has_the_same_limit():
    from monitoring.services.alerts import MAX_DESCRIPTION

    assert MAX_DESCRIPTION == CLUE_DESCRIPTION_MAX


def test_a_nul_character_is_called_what_it_is(cadre, home):
    response = _staff_post(cadre, household=home.pk, description="住院\x00费用")
    assert response.status_code == 400
    assert response.json()["fields"]["description"] == NUL_ZH
    errors: dict = {}
    with translation.override("zh-hans"):
        coerce.text_field({"x": "a\x00"}, "x", errors)
    assert errors["x"] == NUL_ZH
    with translation.override("en"):
        errors.clear()
        coerce.text_field({"x": "a\x00"}, "x", errors)
    assert errors["x"] == NUL_EN
