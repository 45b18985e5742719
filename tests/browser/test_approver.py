"""The county approver: completes an identification, builds a valid assistance plan after a
plan without a development measure is refused with its reason, and triages department alerts (Chromium against
the live server, desk and phone widths)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Department, Role
from monitoring.models import AssistanceMeasure, CaseStatus, Clue, ClueStatus, Measure, MonitoringCase
from monitoring.services import clues
from tests.accounts import factories as af
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring.helpers import Actors, at, run_procedure, step
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _today() -> dt.date:
    return timezone.localdate()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _case_at_approval(household, actors: Actors) -> MonitoringCase:
    """Every step but the county approval done through the services, starting 14 days ago, so
    the notice has run its days."""
    found = _today() - dt.timedelta(days=15)
    clue = clues.clue_create(
        actor=actors.cadre,
        channel="self_report",
        found_date=found,
        risk_type_codes=["07"],  # 因务工就业不稳
        household=household,
        now=at(found),
    )
    run_procedure(clue.case, actors, found + dt.timedelta(days=1), until="county_approval")
    return MonitoringCase.objects.get(pk=clue.case_id)


def _select_measure(page, row: int, code: str) -> None:
    page.select_option(f"#id_items-{row}-measure", str(Measure.objects.get(code=code).pk))


def test_county_approver_identifies_and_plans(desk_page, phone_page, county):
    page, actors = desk_page, county["actors"]
    household = hf.household(county["areas"]["v11"], labour=("normal", "normal"))
    case = _case_at_approval(household, actors)
    approval = step(case, "county_approval")
    key = f"complete-s{approval.pk}"

    login(page, "approver")
    page.goto("/")
    page.wait_for_selector("#todo-steps")
    assert f"#{case.pk}" in page.inner_text("#todo-steps")
    shot(page, "home-approver-desk")
    login(phone_page, "approver")
    phone_page.goto("/")
    phone_page.wait_for_selector("#todo-steps")
    _no_sideways_scroll(phone_page)
    shot(phone_page, "home-approver-phone")

    page.goto("/cases/?queue=approval")
    page.wait_for_selector(".case-list")
    page.click(f"a[href='/cases/{case.pk}/']")
    page.wait_for_selector("#actions")
    page.click(f"[data-key='{key}'] summary")
    page.check(f"#id_{key}_category_1")  # 边缘易致贫户
    page.fill(f"#id_{key}_opinion", "经县级比对审定，同意纳入监测")
    page.click(f"[data-key='{key}'] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "监测帮扶中" in page.inner_text(".case-status")
    case.refresh_from_db()
    assert (case.status, case.category) == (CaseStatus.MONITORED, "marginal")
    shot(page, "case-identified-desk")

    # the notice as printed: no ID number or phone on it
    page.goto(f"/cases/{case.pk}/notice/")
    page.emulate_media(media="print")
    text = page.inner_text("body")
    assert "拟纳入防止返贫致贫监测对象公示" in text
    assert household.head.id_number not in text and "退出" not in text  # no ID, no navigation
    shot(page, "notice-print-desk")
    page.emulate_media(media="screen")
    page.goto(f"/cases/{case.pk}/")

    # the plan: every measure marked for the case's risk; the forbidden one cannot be picked
    page.click("#measures a[href$='/plan/']")
    page.wait_for_selector("#plan-form")
    forbidden = page.inner_text("[data-measure='M0802']")
    assert "特困人员救助供养" in forbidden and "禁选" in forbidden and "因务工就业不稳" in forbidden
    m0802 = Measure.objects.get(code="M0802").pk
    assert page.locator(f"#id_items-0-measure option[value='{m0802}']").is_disabled()
    shot(page, "plan-editor-desk")

    # no development measure for a household able to work: refused with the rule, rows kept
    _select_measure(page, 0, "M1101")  # 社会爱心捐助
    page.fill("#id_items-0-responsible_person", "县人社局王科长")
    page.fill("#id_items-0-planned_end", (_today() + dt.timedelta(days=20)).isoformat())
    _select_measure(page, 1, "M1102")  # 结对帮扶慰问
    page.fill("#id_items-1-responsible_person", "民政所李某")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector(".plan-errors")
    errors = page.inner_text(".plan-errors")
    assert "有劳动能力的户须至少有一项开发式帮扶措施" in errors
    assert page.input_value("#id_items-1-responsible_person") == "民政所李某"
    assert page.input_value("#id_items-0-responsible_person") == "县人社局王科长"
    assert AssistanceMeasure.objects.filter(case=case).count() == 0
    shot(page, "plan-refused-desk")

    # a job referral and a public-welfare post instead, a row added with the "add" button: saved
    _select_measure(page, 0, "M0203")  # 就业岗位推荐
    _select_measure(page, 1, "M0401")  # 乡村公益性岗位
    page.click("#plan-add-row")
    _select_measure(page, 2, "M0202")  # 职业技能培训
    page.fill("#id_items-2-amount", "1200")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "帮扶计划已保存" in page.inner_text(".alert-success")
    saved = sorted(AssistanceMeasure.objects.filter(case=case).values_list("measure__code", flat=True))
    assert saved == ["M0202", "M0203", "M0401"]
    assert "就业岗位推荐" in page.inner_text("#measures")
    shot(page, "case-with-plan-desk")

    # the same editor on a phone
    phone_page.goto(f"/cases/{case.pk}/plan/")
    phone_page.wait_for_selector("#plan-form")
    _no_sideways_scroll(phone_page)
    shot(phone_page, "plan-editor-phone")
    phone_page.goto(f"/cases/{case.pk}/")
    phone_page.wait_for_selector("#measures")
    _no_sideways_scroll(phone_page)
    shot(phone_page, "case-with-plan-phone")


def test_county_approver_triages_alerts_in_bulk(phone_page, desk_page, county):
    medical = Department.objects.get(code="medical_insurance")
    department_user = af.user(Role.DEPARTMENT, county["areas"]["county"], department=medical)
    household = hf.household(county["areas"]["v11"], labour=("normal",))
    found = _today() - dt.timedelta(days=4)
    alerts = []
    for n in range(4):
        clue, _created = clues.alert_receive(
            actor=department_user,
            department=medical,
            external_id=f"YB-2026-{n:04d}",
            found_date=found,
            risk_type_codes=["01"],
            id_number=household.head.id_number if n == 0 else "",
            name=household.head.name if n == 0 else f"参保人{n}",
            description="年度住院自付费用超过2万元",
        )
        alerts.append(clue)
    assert alerts[0].status == ClueStatus.PENDING  # matched by ID number

    page = phone_page
    login(page, "approver")
    page.goto("/")
    page.wait_for_selector("#todo-clues")
    assert "参保人1" in page.inner_text("#todo-clues")
    _no_sideways_scroll(page)
    shot(page, "home-triage-phone")
    page.goto("/clues/")
    page.wait_for_selector(".clue-list")
    assert page.locator(".clue-row").count() == 4
    _no_sideways_scroll(page)
    shot(page, "triage-list-phone")

    # open cases for the matched one and an unmatched one: one done, one refused with the reason
    page.check(f"#clue-{alerts[0].pk}")
    page.check(f"#clue-{alerts[1].pk}")
    page.click("button[value=open_case]")
    page.wait_for_selector("#bulk-results")
    results = page.inner_text("#bulk-results")
    assert "已办理" in results and "未办理" in results
    assert "线索尚未匹配到农户" in results
    assert Clue.objects.get(pk=alerts[0].pk).status == ClueStatus.CASE_OPENED
    _no_sideways_scroll(page)
    shot(page, "triage-results-phone")

    # dismiss the two others as duplicates
    page.check(f"#clue-{alerts[2].pk}")
    page.check(f"#clue-{alerts[3].pk}")
    page.select_option("#id_bulk_reason", "duplicate")
    page.click("button[value=dismiss]")
    page.wait_for_selector("#bulk-results")
    dismissed = Clue.objects.filter(pk__in=[alerts[2].pk, alerts[3].pk], status=ClueStatus.DISMISSED)
    assert dismissed.count() == 2

    login(desk_page, "approver")
    desk_page.goto("/clues/?all=1")
    desk_page.wait_for_selector(".clue-list")
    shot(desk_page, "triage-list-desk")
    # match the last unmatched one by searching its household
    desk_page.goto(f"/clues/{alerts[1].pk}/?q={household.number}")
    desk_page.wait_for_selector("#match .candidate")
    shot(desk_page, "clue-match-desk")
