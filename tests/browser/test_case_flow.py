"""A self-report becomes a case (village cadre, phone), and a township reviewer returns one
case and approves another (Chromium against the live server)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from monitoring.models import CaseStatus, Clue, MonitoringCase, StepStatus
from monitoring.services import cases, clues
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring.helpers import at, step, step_data
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _today() -> dt.date:
    return timezone.localdate()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _open_case(household, cadre, days_ago: int) -> MonitoringCase:
    found = _today() - dt.timedelta(days=days_ago)
    clue = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=found,
        risk_type_codes=["07"],
        household=household,
        now=at(found),
    )
    return clue.case


def test_a_self_report_becomes_a_case_on_a_phone(phone_page, desk_page, county):
    page = phone_page
    household = hf.household(county["areas"]["v11"], labour=("normal", "normal"))
    _open_case(hf.household(county["areas"]["v11"]), county["cadre"], 6)  # an older one, already late
    login(page, "cadre")
    page.goto(f"/households/{household.pk}/clue/")
    page.wait_for_selector("form.clue-form")
    _no_sideways_scroll(page)

    # nothing chosen: refused, the description kept
    page.fill("#id_description", "户主突发脑梗住院，自付费用约3万元")
    page.click("form.clue-form button[type=submit]")
    page.wait_for_selector(".field-error")
    assert "至少选择一种风险类型" in page.inner_text(".field-risk_type_codes")
    assert page.input_value("#id_description") == "户主突发脑梗住院，自付费用约3万元"

    page.check("input[name=risk_type_codes][value='01']")
    page.fill("#id_found_date", (_today() - dt.timedelta(days=1)).isoformat())
    page.fill("#id_reporter_name", "王大妈")
    shot(page, "clue-form-phone")
    page.click("form.clue-form button[type=submit]")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = MonitoringCase.objects.get(household=household)
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert "线索已登记，已启动识别程序" in page.inner_text(".alert-success")
    assert "识别中" in page.inner_text(".case-status")
    assert Clue.objects.get(household=household).channel == "self_report"
    _no_sideways_scroll(page)
    shot(page, "case-page-phone")

    page.goto("/")
    page.wait_for_selector("#todo-steps")
    assert page.locator("#todo-steps .overdue").count() >= 1  # the older case is late, in red
    _no_sideways_scroll(page)
    shot(page, "home-cadre-phone")

    login(desk_page, "cadre")
    desk_page.goto("/")
    desk_page.wait_for_selector("#todo-steps")
    shot(desk_page, "home-cadre-desk")
    desk_page.goto(f"/cases/{case.pk}/")
    desk_page.wait_for_selector("#steps")
    shot(desk_page, "case-page-desk")

    # the cadre does the home verification from the phone
    hv = step(case, "home_verification")
    key = f"complete-s{hv.pk}"
    page.goto(f"/cases/{case.pk}/")
    page.click(f"[data-key='{key}'] summary")
    page.fill(f"#id_{key}_visitors", "张村干，刘网格")
    page.fill(f"#id_{key}_findings", "户主住院，家庭收入骤减")
    page.check(f"#id_{key}_authorization_signed")
    page.click(f"[data-key='{key}'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    hv.refresh_from_db()
    assert hv.status == StepStatus.DONE
    assert hv.data["visitors"] == ["张村干", "刘网格"]


def test_township_reviewer_returns_one_case_and_approves_another(phone_page, county):
    page = phone_page
    cadre = county["cadre"]
    first = _open_case(hf.household(county["areas"]["v11"]), cadre, 3)
    second = _open_case(hf.household(county["areas"]["v12"], labour=("normal",)), None, 3)
    yesterday = _today() - dt.timedelta(days=1)
    for case in (first, second):
        s = step(case, "home_verification")
        cases.step_complete(actor=None, step=s, data=step_data(s, yesterday), now=at(yesterday))

    login(page, "reviewer")
    page.goto("/cases/?queue=township")
    page.wait_for_selector(".case-list")
    assert page.locator(".case-list a").count() == 2
    _no_sideways_scroll(page)
    shot(page, "case-queue-township-phone")

    # return the first, with a reason
    t1 = step(first, "township_review")
    key = f"return-s{t1.pk}"
    page.goto(f"/cases/{first.pk}/")
    page.click(f"[data-key='{key}'] summary")
    page.click(f"[data-key='{key}'] button[type=submit]")  # no reason: refused, said next to the field
    page.wait_for_selector(f"[data-key='{key}'] .field-error")
    assert "请填写原因" in page.inner_text(f"[data-key='{key}']")
    page.fill(f"#id_{key}_reason", "入户核查未附承诺授权书扫描件，请补充")
    page.click(f"[data-key='{key}'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "已退回" in page.inner_text(".alert-success")
    assert "入户核查未附承诺授权书扫描件" in page.inner_text("#history")
    t1.refresh_from_db()
    assert t1.status == StepStatus.WAITING
    assert step(first, "home_verification").status == StepStatus.AVAILABLE

    # approve the second (complete its township review)
    t2 = step(second, "township_review")
    key = f"complete-s{t2.pk}"
    page.goto(f"/cases/{second.pk}/")
    page.click(f"[data-key='{key}'] summary")
    page.fill(f"#id_{key}_opinion", "经乡镇核查，情况属实，同意")
    _no_sideways_scroll(page)
    page.click(f"[data-key='{key}'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    t2.refresh_from_db()
    assert (t2.status, t2.completed_by.username) == (StepStatus.DONE, "reviewer")
    assert MonitoringCase.objects.get(pk=second.pk).status == CaseStatus.IDENTIFYING
    shot(page, "case-after-township-review-phone")
