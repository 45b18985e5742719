"""The exit home check's four parts (听评看算) in the browser: a village cadre on a phone sees the
calculated income, uploads a photo, is refused while a part is missing, completes the check;
the township reviewer reads the four parts beside the criteria on the exit page (Chromium
against the live server, phone and desk widths)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from households import services as household_services
from monitoring.models import StepPhoto, StepStatus
from monitoring.services import exits
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring.helpers import at, run_procedure, step, tiny_png
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_the_four_part_exit_home_check(phone_page, desk_page, county, tmp_path):
    actors, areas = county["actors"], county["areas"]
    today = timezone.localdate()
    household = hf.household(areas["v11"], labour=("normal", "normal"))
    from monitoring.services import clues

    found = today - dt.timedelta(days=30)
    case = clues.clue_create(
        actor=actors.cadre,
        channel="self_report",
        found_date=found,
        risk_type_codes=["07"],
        household=household,
        now=at(found),
    ).case
    run_procedure(case, actors, found + dt.timedelta(days=1))
    household_services.income_record_set(actor=None, household=household, year=today.year - 1, wages="24000")
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="县级研究同意",
        now=at(today, 8),
    )
    check = step(case, "home_verification", "exit")

    page = phone_page
    login(page, "cadre")
    page.goto(f"/cases/{case.pk}/")
    action = page.locator(f".case-action[data-key='complete-s{check.pk}']")
    action.locator("summary").click()
    parts = action.locator(".home-check-parts")
    assert "人均12000.00元" in parts.locator(".calculated-income").inner_text()
    assert "不低于监测线" in parts.inner_text()

    # the visitors type the three parts and complete before any photo: refused, text kept
    form = action.locator("form").last
    form.locator("input[name=visitors]").fill("张村干,王委员")
    form.locator("textarea[name=findings]").fill("同意风险消除")
    form.locator("textarea[name=listen]").fill("两人在县城务工，收入稳定")
    form.locator("textarea[name=assess]").fill("村两委评议：收入稳定，同意消除")
    form.locator("textarea[name=look]").fill("新修院墙，家电齐全")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "请上传至少1张入户所见的照片。" in page.content()
    assert page.locator("textarea[name=listen]").input_value() == "两人在县城务工，收入稳定"

    # upload a photo, then complete
    photo = tmp_path / "look.png"
    photo.write_bytes(tiny_png())
    action = page.locator(f".case-action[data-key='complete-s{check.pk}']")
    if not action.locator("details").evaluate("d => d.open"):
        action.locator("summary").click()
    action.locator("input[name=photo]").set_input_files(str(photo))
    action.locator("input[name=caption]").fill("院落")
    action.locator(".photo-upload button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert StepPhoto.objects.filter(step=check).count() == 1
    action = page.locator(f".case-action[data-key='complete-s{check.pk}']")
    if not action.locator("details").evaluate("d => d.open"):
        action.locator("summary").click()
    assert action.locator(".home-check-photos img").count() == 1
    _no_sideways_scroll(page)
    action.scroll_into_view_if_needed()
    form = action.locator("form").last
    form.locator("input[name=visitors]").fill("张村干,王委员")
    form.locator("textarea[name=findings]").fill("同意风险消除")
    form.locator("textarea[name=listen]").fill("两人在县城务工，收入稳定")
    form.locator("textarea[name=assess]").fill("村两委评议：收入稳定，同意消除")
    form.locator("textarea[name=look]").fill("新修院墙，家电齐全")
    shot(page, "exit-home-check-form-phone")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    check.refresh_from_db()
    assert check.status == StepStatus.DONE
    assert check.data["income"]["per_capita"] == "12000.00" and check.data["photos"] == 1

    # the exit page: the four parts beside the criteria
    page = desk_page
    login(page, "reviewer")
    page.goto(f"/cases/{case.pk}/exit/")
    section = page.locator("#home-check")
    assert "两人在县城务工，收入稳定" in section.locator(".part-listen").inner_text()
    assert "村两委评议" in section.locator(".part-assess").inner_text()
    assert "新修院墙" in section.locator(".part-look").inner_text()
    assert section.locator(".part-look img").count() == 1
    assert "人均12000.00元" in section.locator(".part-income").inner_text()
    checklist = page.locator("#checklist").bounding_box()
    beside = section.bounding_box()
    assert beside["x"] > checklist["x"] + checklist["width"] - 1  # beside, not below, on a desk
    _no_sideways_scroll(page)
    shot(page, "exit-page-home-check-desk")
