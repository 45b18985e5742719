"""The periodic work's pages on a 360 px phone (Chromium, live server): a village cadre sees the
screening notification on the home page and the nav badge, opens it and lands on the screening
page with it marked read; a county approver starts a risk review from the runs page and sees
the finished run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Notification, NotificationKind
from monitoring.models import CountySettings, RunStatus, TaskName, TaskRun, VisitTask
from monitoring.services.screening import screening_campaign
from monitoring.services.year_end import year_end_assessment
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _open_menu(page) -> None:
    """On a phone the nav is collapsed behind the toggler."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.wait_for_selector("#mainnav.show")


def test_village_cadre_opens_a_notification_from_the_home_page(phone_page, county):
    page, areas, cadre = phone_page, county["areas"], county["cadre"]
    households = [hf.household(areas["v11"]) for _ in range(2)]
    today = timezone.localdate()
    # the county's screening starts today: the daily task opens it and tells the village cadre
    CountySettings.objects.update(screening_month=today.month, screening_day=today.day, screening_days=30)
    counts = screening_campaign()
    assert counts["tasks"] == 2
    (notification,) = Notification.objects.filter(recipient=cadre)
    assert notification.kind == NotificationKind.SCREENING and notification.read_at is None

    login(page, "cadre")
    page.wait_for_selector("#home-notifications")
    card = page.inner_text("#home-notifications")
    assert "本村2户待走访" in card
    _open_menu(page)
    assert page.inner_text("#nav-unread-count").startswith("1")
    _no_sideways_scroll(page)
    shot(page, "periodic-home-notification-phone")

    page.click(f"#home-notifications a[href='/notifications/{notification.pk}/go/']")
    page.wait_for_url("**/screening/")
    page.wait_for_selector("#screening-tasks")
    tasks = page.inner_text("#screening-tasks")
    for hh in households:
        assert hh.number in tasks
    assert "已走访0/2户" in page.inner_text("#screening-overall")
    assert page.locator(f"#screening-tasks a[href='/households/{households[0].pk}/visit/']").is_visible()
    _no_sideways_scroll(page)
    shot(page, "periodic-screening-phone")

    notification.refresh_from_db()
    assert notification.read_at is not None
    assert page.locator("#nav-unread-count").count() == 0  # the badge is gone
    page.goto("/")
    assert page.locator("#home-notifications").count() == 0
    assert VisitTask.objects.filter(area_code=areas["v11"].code).count() == 2

    page.goto("/notifications/")
    assert "已读" in page.inner_text(f"#notification-{notification.pk}")
    _no_sideways_scroll(page)
    shot(page, "periodic-notifications-phone")

    # the year-end list: a case identified a month ago is not yet eligible, with the reasons
    case = mf.case(households[0], identified_on=today - dt.timedelta(days=30))
    assert year_end_assessment(area_code=areas["county"].code)["not_eligible"] == 1
    page.goto("/year-end/")
    row = page.locator(f".assessment-row[data-case='{case.pk}']")
    assert "暂不符合" in row.inner_text()
    assert row.locator(".failing-checks li").count() >= 1
    assert row.locator(f"a[href='/cases/{case.pk}/exit/']").first.is_visible()
    _no_sideways_scroll(page)
    shot(page, "periodic-year-end-phone")


def test_county_approver_starts_a_risk_review_and_sees_the_finished_run(phone_page, county):
    page, areas = phone_page, county["areas"]
    hf.household(areas["v12"], housing_secure=False)  # the review raises a housing clue

    login(page, "approver")
    page.goto("/runs/")
    page.wait_for_selector("#run-start-form")
    assert "没有符合条件的运行记录" in page.inner_text("main")
    page.select_option("#id_task", TaskName.RISK_REVIEW)
    page.select_option("#id_area_code", areas["county"].code)
    _no_sideways_scroll(page)
    shot(page, "periodic-runs-form-phone")
    page.click("#run-start-form button[type=submit]")
    page.wait_for_url("**/runs/")
    assert "已提交「风险复核」（阳原县）" in page.inner_text(".alert-success")

    (run,) = TaskRun.objects.all()
    assert run.status == RunStatus.SUCCEEDED and run.counts["clues"] == 1
    row = page.locator(f".run-row[data-run='{run.pk}']")
    text = row.inner_text()
    assert "风险复核" in text and "已完成" in text
    assert "阳原县" in text and "新增线索" in text and "住房安全出现问题 1" in text
    assert "赵县审手动运行" in text
    _no_sideways_scroll(page)
    shot(page, "periodic-runs-finished-phone")

    # the review told the approver about the new clue: the badge and the home card show it
    page.goto("/")
    page.wait_for_selector("#home-notifications")
    assert "风险复核发现1条新的系统预警线索" in page.inner_text("#home-notifications")
    _open_menu(page)
    assert page.inner_text("#nav-unread-count").startswith("1")
