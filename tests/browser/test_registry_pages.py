"""A village cadre registers a household and its members on a phone (Chromium, live server)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from households.models import Household
from tests.accounts import factories as af
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)

BAD_CHECK_DIGIT = "公民身份号码校验位错误，请核对。"


@pytest.fixture
def village(transactional_db):
    restore_reference_data()  # emptied by the previous transactional test
    areas = af.county_tree()
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre", full_name="张村干")
    for _ in range(3):
        hf.household(areas["v11"], members=2, actor=cadre)
    hf.household(areas["v12"], members=1)  # another village: not listed
    return {"areas": areas, "cadre": cadre}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_register_a_household_and_a_member_with_a_wrong_id_number(phone_page, village):
    page = phone_page
    login(page, "cadre")
    page.goto("/households/")
    page.wait_for_selector("#household-list")
    assert page.locator("#household-list .list-group-item").count() == 3
    page.click("text=登记农户")

    page.wait_for_selector("#household-form")
    _no_sideways_scroll(page)
    page.fill("#id_number", "H130727100201999")
    page.fill("#id_address", "一村五组8号")
    page.fill("#id_phone", "13911112222")
    page.select_option("#id_housing_grade", "C")
    page.uncheck("#id_housing_secure")
    shot(page, "household-form-phone")
    page.click("#household-form button[type=submit]")

    hh_url = "**/households/*/members/new/"
    page.wait_for_url(hh_url)
    household = Household.objects.get(number="H130727100201999")
    assert household.housing_grade == "C" and not household.housing_secure
    assert "请添加家庭成员" in page.inner_text(".alert-success")

    # an ID number with a wrong check digit: the Chinese message beside the field, nothing lost
    good = hf.id_number(sex="F")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    page.fill("#id_name", "赵桂兰")
    page.fill("#id_id_number", bad)
    page.select_option("#id_health_status", "serious")
    page.select_option("#id_labour_capacity", "lost")
    page.fill("#id_ethnicity", "满族")
    page.click("#member-form button[name=save]")
    page.wait_for_selector("#id_id_number_error")
    assert page.inner_text("#id_id_number_error") == BAD_CHECK_DIGIT
    error_box = page.locator("#id_id_number_error").bounding_box()
    field_box = page.locator("#id_id_number").bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 20  # right under the field
    assert page.input_value("#id_name") == "赵桂兰"
    assert page.input_value("#id_id_number") == bad
    assert page.input_value("#id_health_status") == "serious"
    assert page.input_value("#id_labour_capacity") == "lost"
    assert page.input_value("#id_ethnicity") == "满族"
    assert page.input_value("#id_relation") == "head"
    _no_sideways_scroll(page)
    page.locator("#id_id_number").scroll_into_view_if_needed()
    shot(page, "member-form-invalid-id-phone")

    page.fill("#id_id_number", good)
    page.click("#member-form button[name=save]")
    page.wait_for_url(f"**/households/{household.pk}/")
    household.refresh_from_db()
    assert household.head.name == "赵桂兰" and household.head.id_number == good
    assert "赵桂兰" in page.inner_text("#members")
    assert "新增家庭成员" in page.inner_text("#history")


def test_search_and_income_at_desk_width(desk_page, village):
    page = desk_page
    cadre = village["cadre"]
    household = Household.objects.for_user(cadre).order_by("number").first()
    head = household.head
    login(page, "cadre")
    page.goto("/households/")
    page.fill("#id_search", head.id_number)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#household-list")
    items = page.locator("#household-list .list-group-item")
    assert items.count() == 1
    assert head.id_number not in items.inner_text()  # masked in the list
    shot(page, "household-list-desk")

    page.goto(f"/households/{household.pk}/income/")
    page.fill("#id_year", "2025")
    page.fill("#id_wages", "9000")
    page.fill("#id_transfer", "1000")
    page.click("#income-form button[type=submit]")
    page.wait_for_url(f"**/households/{household.pk}/#income")
    income = page.inner_text("#income")
    assert "5000.00" in income and "8800" in income and "低于监测线" in income
