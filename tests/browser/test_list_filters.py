"""Picking a township narrows the village list at once (htmx), on a phone, and the pager's
jump goes to the page typed."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.accounts import factories as af
from tests.browser.conftest import login
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county_users(transactional_db):
    restore_reference_data()
    areas = af.county_tree()
    af.user(Role.COUNTY_APPROVER, areas["county"], username="approver", full_name="赵县审")
    for key in ("v11", "v12", "v21", "v22"):
        hf.household(areas[key], members=1)
    for _ in range(50):
        hf.household(areas["v21"], members=1)
    return areas


def test_the_village_list_follows_the_township(phone_page, county_users):
    page = phone_page
    login(page, "approver")
    page.goto("/households/")
    page.click("summary")  # the more-filters panel
    assert page.locator("#id_village option").count() == 5  # "all" and four villages
    with page.expect_response(lambda r: "township=" in r.url):
        page.select_option("#id_township", label="东城镇")
    page.wait_for_function("document.querySelectorAll('#id_village option').length === 3")
    labels = page.locator("#id_village option").all_inner_texts()
    assert [label.strip() for label in labels[1:]] == ["三村", "四村"]
    page.select_option("#id_village", label="三村")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "township=" in page.url and "village=" in page.url
    # 51 households of 三村: two pages; jump to the second
    page.fill("#page-jump-input", "2")
    page.click(".page-jump button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "page=2" in page.url and "village=" in page.url
    assert page.locator("#household-list .list-group-item").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width}px wide"
