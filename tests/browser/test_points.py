"""A village cadre records the panel's points award and a redemption on a phone (Chromium,
live server), then opens the village's printable ledger."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accounts.models import Role
from monitoring.models import PointsAccount, PointsEntry
from tests.accounts import factories as af
from tests.browser.conftest import DESK, SCREENSHOTS, login, shot
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def village(transactional_db):
    restore_reference_data()  # emptied by the previous transactional test
    areas = af.county_tree()
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre", full_name="张村干")
    household = hf.household(areas["v11"], members=3)
    hf.household(areas["v11"], members=1)
    return {"areas": areas, "cadre": cadre, "household": household}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_cadre_awards_points_and_redeems_them_on_a_phone(phone_page, village):
    page, hh = phone_page, village["household"]
    login(page, "cadre")
    page.goto(f"/households/{hh.pk}/")
    page.click("#household-points-link")
    page.wait_for_selector("#points-award-form")
    assert page.inner_text("#points-balance-value").strip() == "0"

    # the panel's award: every error at once first (no panel, no reason)
    page.select_option("#id_award-conduct", "C02")
    page.click("#points-award-form button[type=submit]")
    page.wait_for_selector("#points-award-form .field-error")
    errors = page.inner_text("#points-award-form")
    assert "请填写加分事由。" in errors and "评议小组成员" in errors
    assert PointsEntry.objects.count() == 0

    page.select_option("#id_award-conduct", "C02")
    page.fill("#id_award-reason", "在镇蔬菜基地务工满三个月")
    page.fill("#id_award-panel", "刘书记、王主任、村民代表陈大姐")
    _no_sideways_scroll(page)
    shot(page, "points-award-phone")
    page.click("#points-award-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "已登记 10 分，当前余额 10 分。" in page.inner_text(".alert-success")
    assert page.inner_text("#points-balance-value").strip() == "10"
    assert "刘书记、王主任、村民代表陈大姐" in page.inner_text(".points-entries")

    # the point shop: more than the balance is refused, then two bars of soap
    page.select_option("#id_redeem-item", "G02")
    page.click("#points-redeem-form button[type=submit]")
    page.wait_for_selector("#points-redeem-form .field-error")
    assert "积分不足：余额10分，需要30分。" in page.inner_text("#points-redeem-form")
    page.select_option("#id_redeem-item", "G05")
    page.fill("#id_redeem-quantity", "2")
    page.click("#points-redeem-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#points-balance-value").strip() == "4"
    _no_sideways_scroll(page)
    shot(page, "points-household-phone")
    account = PointsAccount.objects.get(household=hh)
    assert (account.balance, account.awarded, account.redeemed) == (4, 10, 6)

    # the village's page and its printable ledger
    page.goto("/points/")
    page.wait_for_selector("#points-households")
    assert hh.number in page.inner_text("#points-households")
    _no_sideways_scroll(page)
    shot(page, "points-village-phone")
    page.click("#points-print")
    page.wait_for_selector("#points-print-entries")
    text = page.inner_text("#points-print-entries")
    assert "在镇蔬菜基地务工满三个月" in text and "+10" in text and "-6" in text
    _no_sideways_scroll(page)  # the tables scroll inside their frame
    page.set_viewport_size(DESK)
    printed = shot(page, "points-ledger-print")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCREENSHOTS / "points-award-phone.png", DOCS / "points-award-phone.png")
    shutil.copy(SCREENSHOTS / "points-household-phone.png", DOCS / "points-household-phone.png")
    shutil.copy(printed, DOCS / "points-ledger-print.png")
