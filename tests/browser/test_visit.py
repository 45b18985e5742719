"""A village cadre and a helper record visits on a phone-sized screen (Chromium, live server)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from households import services as household_services
from monitoring.models import Clue, Visit
from tests.accounts import factories as af
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def village(transactional_db):
    restore_reference_data()  # emptied by the previous transactional test
    areas = af.county_tree()
    today = timezone.localdate()
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre", full_name="张村干")
    helper_user = af.user(Role.HELPER, username="helper", full_name="王帮扶")
    helper = hf.helper(areas["county"], helper_user, name="王帮扶")
    first = hf.household(areas["v11"], labour=("normal", "weak"), registered=today - dt.timedelta(days=300))
    second = hf.household(areas["v11"], labour=("none",), registered=today - dt.timedelta(days=300))
    for hh in (first, second):
        household_services.helper_assign(
            actor=None, helper=helper, household=hh, start_date=today - dt.timedelta(days=200)
        )
    mf.case(first, identified_on=today - dt.timedelta(days=50), risks=("01",))  # visit 20 days late
    mf.case(second, identified_on=today - dt.timedelta(days=10), risks=("04",))
    household_services.income_record_set(actor=cadre, household=first, year=today.year - 1, wages=9000)
    return {"areas": areas, "cadre": cadre, "helper": helper_user, "first": first, "second": second}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_village_cadre_records_a_visit_on_a_phone(phone_page, village):
    page, hh = phone_page, village["first"]
    login(page, "cadre")
    page.goto("/households/")
    page.wait_for_selector("#household-list")
    _no_sideways_scroll(page)
    shot(page, "household-list-phone")

    page.click(f"a[href='/households/{hh.pk}/']")
    page.wait_for_selector("#members")
    assert hh.head.id_number in page.inner_text("#members")  # a cadre sees the full number
    assert "已超期" in page.inner_text("#next-visit")
    _no_sideways_scroll(page)
    shot(page, "household-page-phone")

    page.click(f"a[href='/households/{hh.pk}/visit/']")
    page.wait_for_selector("#visit-form")
    _no_sideways_scroll(page)
    assert not page.is_visible("#clue-fields")
    page.fill("#id_wages", "1800")
    page.fill("#id_medical_spending", "650")
    page.uncheck("#id_housing_secure")
    page.fill("#id_needs", "屋顶漏雨，申请危房改造")
    page.fill("#id_notes", "户主腰伤，已复查")
    page.check("#id_raise_clue")
    assert page.is_visible("#clue-fields")
    page.check("#id_risk_type_codes input[value='10']")
    page.fill("#id_description", "房屋出现裂缝")
    shot(page, "visit-form-phone")
    page.click("#visit-form button[type=submit]")
    page.wait_for_url(f"**/households/{hh.pk}/#visits")
    assert "走访记录" in page.inner_text(".alert-success")
    assert "屋顶漏雨，申请危房改造" in page.inner_text("#visits")
    assert "还剩" in page.inner_text("#next-visit")

    visit = Visit.objects.get(household=hh)
    assert visit.visited_by == village["cadre"] and not visit.housing_secure
    clue = Clue.objects.get(household=hh)
    assert visit.raised_clue == clue and list(clue.risk_types.values_list("code", flat=True)) == ["10"]


def test_helper_sees_their_households_and_records_a_visit(phone_page, village):
    page, hh = phone_page, village["first"]
    login(page, "helper")
    page.goto("/households/mine/")
    page.wait_for_selector("#my-households")
    items = page.locator("#my-households .list-group-item")
    assert items.count() == 2
    first_item = items.nth(0).inner_text()
    assert hh.head.name in first_item and "已超期 20 天" in first_item  # the late one comes first
    assert "还剩 20 天" in items.nth(1).inner_text()
    assert page.locator("#my-households .overdue").count() == 1
    _no_sideways_scroll(page)
    shot(page, "my-households-phone")

    items.nth(0).locator("a.btn", has_text="记录走访").click()
    page.wait_for_selector("#visit-form")
    assert "该户尚无走访记录" in page.inner_text("#last-visit")
    # a mistake first: a date in the future is refused and nothing typed is lost
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    page.fill("#id_visited_on", tomorrow)
    page.fill("#id_transfer", "450")
    page.fill("#id_notes", "家中老人住院")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector("#id_visited_on_error")
    assert page.inner_text("#id_visited_on_error") == "走访日期不能晚于今天。"
    assert page.input_value("#id_transfer") == "450"
    assert page.input_value("#id_notes") == "家中老人住院"

    page.fill("#id_visited_on", timezone.localdate().isoformat())
    page.click("#visit-form button[type=submit]")
    page.wait_for_url(f"**/households/{hh.pk}/#visits")
    # the helper sees the household's members masked
    assert hh.head.id_number not in page.inner_text("#members")
    visit = Visit.objects.get(household=hh)
    assert visit.helper.user == village["helper"] and str(visit.transfer) == "450.00"

    page.goto("/households/mine/")
    assert "已超期" not in page.inner_text("#my-households")


def test_visit_form_at_desk_width_shows_the_last_visit_beside_the_form(desk_page, village):
    page, hh = desk_page, village["first"]
    Visit.objects.create(
        household=hh,
        area_code=hh.area_code,
        visited_on=timezone.localdate() - dt.timedelta(days=35),
        wages=1200,
        needs="希望介绍工作",
        notes="上次走访：身体好转",
    )
    login(page, "cadre")
    page.goto(f"/households/{hh.pk}/visit/")
    page.wait_for_selector("#visit-form")
    form_box = page.locator("#visit-form").bounding_box()
    aside_box = page.locator("#last-visit").bounding_box()
    assert aside_box["x"] > form_box["x"] + form_box["width"] - 1  # beside, not below
    assert "希望介绍工作" in page.inner_text("#last-visit")
    shot(page, "visit-form-desk")
    page.goto(f"/households/{hh.pk}/")
    page.wait_for_selector("#history")
    shot(page, "household-page-desk")


def test_on_a_phone_the_last_visit_is_below_the_form(phone_page, village):
    page, hh = phone_page, village["first"]
    Visit.objects.create(
        household=hh,
        area_code=hh.area_code,
        visited_on=timezone.localdate() - dt.timedelta(days=3),
        notes="上次",
    )
    login(page, "cadre")
    page.goto(f"/households/{hh.pk}/visit/")
    page.wait_for_selector("#visit-form")
    form_box = page.locator("#visit-form").bounding_box()
    aside_box = page.locator("#last-visit").bounding_box()
    assert aside_box["y"] >= form_box["y"] + form_box["height"]
    _no_sideways_scroll(page)
