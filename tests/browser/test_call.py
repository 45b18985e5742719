"""A one-key emergency call on a phone (360 px): a village cadre raises it from the household
page, the household's helper contact sees it on their home page and acknowledges it with one
tap, then closes it with what was done."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from households import services as household_services
from households.models import AssignmentKind
from monitoring.models import CallStatus, EmergencyCall, HopState
from tests.accounts import factories as af
from tests.browser.conftest import PHONE, login, shot
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def village(transactional_db):
    restore_reference_data()  # emptied by the previous transactional test
    areas = af.county_tree()
    today = timezone.localdate()
    af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre", full_name="张村干")
    helper_user = af.user(Role.HELPER, username="contact", full_name="王联系")
    helper = hf.helper(areas["county"], helper_user, name="王联系")
    household = hf.household(areas["v11"], registered=today - dt.timedelta(days=300))
    household_services.helper_assign(
        actor=None,
        helper=helper,
        household=household,
        start_date=today - dt.timedelta(days=30),
        kind=AssignmentKind.CONTACT,
    )
    return {"household": household}


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def test_raise_and_acknowledge_a_call_on_a_phone(browser, live_server, village):
    hh = village["household"]
    cadre_context, page = _phone(browser, live_server)
    login(page, "cadre")
    page.goto(f"/households/{hh.pk}/")
    page.click("#household-call-link")
    page.wait_for_selector("#call-raise-form")
    _no_sideways_scroll(page)
    page.fill("#id_note", "老人在家摔倒，起不来")
    shot(page, "call-raise-phone")
    page.click("#call-raise")
    page.wait_for_selector("#call-hops")
    call = EmergencyCall.objects.get()
    assert page.url.endswith(f"/calls/{call.pk}/")
    assert "待应答" in page.inner_text("#call-status")
    assert "已通知" in page.inner_text("#call-hops")
    _no_sideways_scroll(page)
    cadre_context.close()

    helper_context, page = _phone(browser, live_server)
    login(page, "contact")
    page.wait_for_selector("#home-calls")
    assert hh.head.name in page.inner_text("#home-calls")
    page.click(f"#home-calls a[href='/calls/{call.pk}/']")
    page.wait_for_selector("#call-ack")
    _no_sideways_scroll(page)
    shot(page, "call-open-phone")
    page.click("#call-ack")  # the one tap
    page.wait_for_selector("#call-acknowledged")
    assert "已应答" in page.inner_text("#call-status")
    assert "王联系" in page.inner_text("#call-acknowledged")
    assert not page.is_visible("#call-ack")
    call.refresh_from_db()
    assert call.status == CallStatus.ACKNOWLEDGED
    assert not call.hops.filter(state=HopState.PLANNED).exists()
    shot(page, "call-acknowledged-phone")

    page.fill("#id_outcome", "10分钟到场，扶起后陪同就医，轻微擦伤")
    page.click("#call-close-submit")
    page.wait_for_selector(".alert-success")
    assert "已办结" in page.inner_text("#call-status")
    _no_sideways_scroll(page)
    helper_context.close()
