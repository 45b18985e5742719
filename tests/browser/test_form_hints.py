"""In the browser: the household number follows the chosen village, and bulk dismissal waits
for a reason (Chromium, live server, a 360 px phone)."""

from __future__ import annotations

import pytest

from accounts.models import Department, Role
from monitoring.models import Clue
from monitoring.services import clues
from tests.accounts import factories as af
from tests.browser.conftest import login
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def areas(transactional_db):
    restore_reference_data()  # emptied by the previous transactional test
    return af.county_tree()


def test_the_number_follows_the_village_and_a_typed_one_is_kept(phone_page, areas):
    af.user(Role.TOWNSHIP_REVIEWER, areas["t1"], username="reviewer")
    page = phone_page
    login(page, "reviewer")
    page.goto("/households/new/")
    page.wait_for_selector("#household-form")
    assert page.input_value("#id_number") == ""
    page.select_option("#id_village", str(areas["v11"].pk))
    page.wait_for_function(f"document.getElementById('id_number').value === '{areas['v11'].code}0001'")
    page.select_option("#id_village", str(areas["v12"].pk))
    page.wait_for_function(f"document.getElementById('id_number').value === '{areas['v12'].code}0001'")
    page.fill("#id_number", "1307271002020042")
    page.select_option("#id_village", str(areas["v11"].pk))
    page.wait_for_function("document.getElementById('number-field').innerText.includes('0001')")
    assert page.input_value("#id_number") == "1307271002020042"


def test_bulk_dismiss_waits_for_a_reason(phone_page, areas):
    af.user(Role.COUNTY_APPROVER, areas["county"], username="approver")
    import datetime as dt

    from django.utils import timezone

    clue, _created = clues.alert_receive(
        actor=None,
        department=Department.objects.get(code="medical_insurance"),
        external_id="A-1",
        found_date=timezone.localdate() - dt.timedelta(days=2),
        risk_type_codes=["01"],
        name="预警对象",
        description="住院自付费用超过2万元",
    )
    if not clue.area_code:  # not matched to a household: the county's own list
        Clue.objects.filter(pk=clue.pk).update(area_code=areas["county"].code)
    page = phone_page
    login(page, "approver")
    page.goto("/clues/?all=1")
    page.wait_for_selector("#bulk-form")
    assert page.is_disabled("#bulk-dismiss")
    page.select_option("#id_bulk_reason", "duplicate")
    assert page.is_enabled("#bulk-dismiss")
    page.select_option("#id_bulk_reason", "")
    assert page.is_disabled("#bulk-dismiss")
