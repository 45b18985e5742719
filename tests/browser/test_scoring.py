"""The identification score in the browser: the case page's score with its breakdown, model
version and missing data at phone and desk widths, recomputing it with the county's newer
version, and clue triage sorted by score (Chromium against the live server)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from households import services as hs
from monitoring.models import Channel, Clue, ClueStatus, ScoringBand, ScoringIndicator, ScoringModel
from monitoring.services import clues, scoring
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring.helpers import at
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _open(household, cadre, year: int):
    found = timezone.localdate() - dt.timedelta(days=2)
    hs.income_record_set(
        actor=None, household=household, year=year, wages="6000", compliant_medical_spending="9000"
    )
    return clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=found,
        risk_type_codes=["01"],
        household=household,
        now=at(found),
    ).case


def test_the_score_on_the_case_page_and_recomputing_it(phone_page, desk_page, county):
    areas = county["areas"]
    household = hf.household(areas["v11"], labour=("normal", "lost"), housing_grade="C")
    year = timezone.localdate().year
    case = _open(household, county["cadre"], year - 1)
    case.refresh_from_db()
    assert case.score is not None

    page = phone_page
    login(page, "reviewer")
    page.goto(f"/cases/{case.pk}/#score")
    section = page.locator("#score")
    section.wait_for()
    assert section.locator(".score-total").inner_text() == f"{case.score.normalize():f}"
    assert "第1版" in section.locator(".score-version").inner_text()
    assert section.locator(".score-line").count() == 8
    income = section.locator(".score-line[data-kind=income]").inner_text()
    assert "低于监测线" in income and f"{year - 1}年收支情况" in income
    assert "评分供审核参考" in section.inner_text()
    _no_sideways_scroll(page)
    section.scroll_into_view_if_needed()
    shot(page, "case-score-phone")

    # the county publishes version 2: the page says so, and recomputing uses it
    new = ScoringModel.objects.create(county=areas["county"], version=2, name="胶州定量识别", active=True)
    ind = ScoringIndicator.objects.create(model=new, kind="income", weight=Decimal("2"))
    ScoringBand.objects.create(indicator=ind, lower=None, upper=Decimal("1"), points=30, label="低于监测线")
    page.reload()
    assert "已更新至第2版" in page.locator("#score").inner_text()
    page.click("#rescore")
    page.wait_for_load_state("networkidle")
    assert page.locator("#score .score-total").inner_text() == "60"
    assert "第2版" in page.locator("#score .score-version").inner_text()
    assert page.locator("#score .score-line").count() == 1
    assert "识别评分" in page.locator("#history").inner_text()

    page = desk_page
    login(page, "approver")
    page.goto(f"/cases/{case.pk}/")
    page.locator("#score").wait_for()
    _no_sideways_scroll(page)
    shot(page, "case-score-desk")


def test_missing_data_is_named_on_the_case_page(phone_page, county):
    household = hf.household(county["areas"]["v11"], members=1)
    found = timezone.localdate() - dt.timedelta(days=1)
    case = clues.clue_create(
        actor=county["cadre"],
        channel="self_report",
        found_date=found,
        risk_type_codes=["01"],
        household=household,
        now=at(found),
    ).case
    login(phone_page, "cadre")
    phone_page.goto(f"/cases/{case.pk}/")
    warning = phone_page.locator("#score .score-missing")
    assert "2项指标缺少数据" in warning.inner_text()
    assert "收入记录" in warning.inner_text()


def test_triage_sorted_by_score(desk_page, county):
    areas = county["areas"]
    rows = {}
    for key, wages, day in (("low", "20000", 3), ("high", "1000", 1)):
        home = hf.household(areas["v11"], members=1)
        hs.income_record_set(actor=None, household=home, year=timezone.localdate().year - 1, wages=wages)
        rows[key] = Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=timezone.localdate() - dt.timedelta(days=day),
            household=home,
            area_code=home.area_code,
            status=ClueStatus.PENDING,
        )
    scoring.score_households(now=timezone.now(), area_code=areas["county"].code)
    page = desk_page
    login(page, "approver")
    page.goto("/clues/")
    ids = [int(x) for x in page.locator(".clue-row").evaluate_all("rows => rows.map(r => r.dataset.clue)")]
    assert ids.index(rows["low"].pk) < ids.index(rows["high"].pk)  # by found date: oldest first
    page.goto("/clues/?sort=score")
    ids = [int(x) for x in page.locator(".clue-row").evaluate_all("rows => rows.map(r => r.dataset.clue)")]
    assert ids.index(rows["high"].pk) < ids.index(rows["low"].pk)
    assert "评分 35" in page.locator(f".clue-row[data-clue='{rows['high'].pk}']").inner_text()
    page.goto("/clues/?score_min=30")
    assert page.locator(f".clue-row[data-clue='{rows['low'].pk}']").count() == 0
    assert page.locator(f".clue-row[data-clue='{rows['high'].pk}']").count() == 1
    shot(page, "triage-by-score-desk")
