"""The dashboard and the printed household card in Chromium (live server).

A county approver opens the dashboard from the menu on a 360 px phone: every figure is drawn
(an ECharts canvas) from the precomputed figures, with its computing time, the table under it
and its CSV; they switch to a township; the page fits the phone, in Chinese and in English. A
village cadre opens the household card from the household page and prints it to an A4 PDF
(no menu on paper)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from households.models import HouseholdType
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    ClueStatus,
    ExitMode,
    MeasureStatus,
    MonitoringCase,
    ProcedureDefinition,
    RiskType,
    StepStatus,
    Visit,
)
from monitoring.services import scoring
from reports import figures, snapshots
from tests.accounts import factories as af
from tests.browser.conftest import DESK, SCREENSHOTS, login, shot
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _open_menu(page) -> None:
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.wait_for_selector("#mainnav.show")


def _county_data(areas) -> None:
    """A few dozen households across the four villages, with cases identified by both
    procedures, clues over several months, measures, visits and exits."""
    today = timezone.localdate()
    procedures = list(ProcedureDefinition.objects.filter(kind="identification").order_by("pk"))
    risks = list(RiskType.objects.filter(code__in=["01", "03", "04", "05"]).values_list("code", flat=True))
    measures = [mf.measure(code) for code in ("M0101", "M0102")]
    villages = [areas[v] for v in ("v11", "v12", "v21", "v22")]
    helpers = []
    for n, name in enumerate(("王帮扶", "刘帮扶", "陈帮扶")):
        user = af.user(Role.HELPER, username=f"dash_helper{n}", full_name=name)
        hf.helper(areas["county"], user, name=name)
        helpers.append(user)
    for i in range(24):
        home = hf.household(
            villages[i % 4],
            members=1 + i % 3,
            household_type=HouseholdType.OUT_OF_POVERTY if i % 3 else HouseholdType.ORDINARY,
        )
        found = today - dt.timedelta(days=20 + 13 * i)
        clue = Clue.objects.create(
            channel=list(Channel.values)[i % 4],
            found_date=found,
            household=home,
            area_code=home.area_code,
            status=ClueStatus.CASE_OPENED,
        )
        clue.risk_types.set(RiskType.objects.filter(code=risks[i % len(risks)]))
        if i % 4 == 3:
            continue
        days = 8 + (i * 5) % 27
        eliminated = i % 6 == 0
        case = mf.case(
            home,
            status=CaseStatus.ELIMINATED if eliminated else CaseStatus.MONITORED,
            found_date=found,
            identified_on=found + dt.timedelta(days=days),
            category=("unstable", "marginal", "sudden")[i % 3],
            eliminated_on=found + dt.timedelta(days=days + 10) if eliminated else None,
            exit_mode=(ExitMode.ASSISTANCE if i % 12 else ExitMode.NATURAL) if eliminated else "",
        )
        procedure = procedures[i % len(procedures)]
        limit = 15 if "叠加" in procedure.name else 30
        MonitoringCase.objects.filter(pk=case.pk).update(
            procedure=procedure, limit_days=limit, due_date=found + dt.timedelta(days=limit)
        )
        for code, name, name_en, limit_days, took in (
            ("village_review", "村级评议", "Village review", 3, 1 + i % 4),
            ("township_review", "乡镇审核", "Township review", 5, 2 + i % 6),
        ):
            CaseStep.objects.create(
                case=case,
                procedure_kind="identification",
                code=code,
                name=name,
                name_en=name_en,
                kind="review",
                actor_role=Role.VILLAGE_CADRE,
                area_level="village",
                time_limit_days=limit_days,
                status=StepStatus.DONE,
                duration_days=took,
            )
        m = measures[i % 2]
        AssistanceMeasure.objects.create(
            case=case, measure=m, department=m.department, status=list(MeasureStatus.values)[i % 3]
        )
        hf.assign(helpers[i % 3], home, today - dt.timedelta(days=300))
        if i % 2:
            Visit.objects.create(household=home, area_code=home.area_code, visited_on=today)
        # the identification score the case was opened with (the score-against-decision figure)
        scoring.case_score(case, actor=None, now=timezone.now())


def test_county_approver_reads_the_dashboard_on_a_phone(phone_page, county):
    page, areas = phone_page, county["areas"]
    _county_data(areas)
    snapshots.dashboard_figures(area_code=areas["county"].code)

    login(page, "approver")
    _open_menu(page)
    page.click("#nav-dashboard")
    page.wait_for_url("**/dashboard/")
    page.wait_for_selector("#computed-at")
    assert "数据计算于" in page.inner_text("#computed-at")
    for figure in figures.FIGURES:
        page.wait_for_selector(f"#chart-{figure.key} canvas")
    assert page.evaluate("window.dashboardCharts.length") == len(figures.FIGURES)
    _no_sideways_scroll(page)
    page.click("#figure-ledger_households summary")
    assert "西城镇" in page.inner_text("#table-ledger_households")
    _no_sideways_scroll(page)
    shot(page, "dashboard-county-phone-zh-hans")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(DOCS / "dashboard-phone.png"))  # the first screen, for the README

    with page.expect_download() as download:
        page.click("#csv-ledger_households")
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert content.splitlines()[0] == "项目,重点监测对象,稳定脱贫户,一般农户,低收入群体"

    page.select_option("#id_area", "130727100")
    page.click("#dashboard-filter button[type=submit]")
    page.wait_for_url("**/dashboard/?area=130727100")
    page.wait_for_selector("#chart-ledger_households canvas")
    page.click("#figure-ledger_households summary")
    assert "一村" in page.inner_text("#table-ledger_households")
    _no_sideways_scroll(page)

    # in English: titles, series and reference names in the reader's language
    page.select_option("#lang-select", "en")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#chart-ledger_households canvas")
    assert "Households per ledger" in page.inner_text("#figure-ledger_households h2")
    page.click("#figure-measures_by_category summary")
    assert mf.measure("M0101").category.name_en in page.inner_text("#table-measures_by_category")
    _no_sideways_scroll(page)
    shot(page, "dashboard-township-phone-en")


def test_dashboard_on_a_desk(desk_page, county):
    page, areas = desk_page, county["areas"]
    _county_data(areas)
    snapshots.dashboard_figures(area_code=areas["county"].code)
    login(page, "approver")
    page.goto("/dashboard/")
    for figure in figures.FIGURES:
        page.wait_for_selector(f"#chart-{figure.key} canvas")
    path = shot(page, "dashboard-county-desk")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS / "dashboard-desk.png")


def test_household_card_prints_to_an_a4_pdf(desk_page, county):
    page, areas = desk_page, county["areas"]
    _county_data(areas)
    home = (
        MonitoringCase.objects.filter(area_code=areas["v11"].code, status=CaseStatus.MONITORED)
        .first()
        .household
    )
    login(page, "cadre")
    page.goto(f"/households/{home.pk}/")
    page.click("#household-card-link")
    page.wait_for_url(f"**/households/{home.pk}/card/")
    card = page.inner_text("#household-card")
    assert "防止返贫监测帮扶一户一卡" in card and home.head.name in card
    path = shot(page, "household-card-desk")

    page.emulate_media(media="print")
    assert not page.is_visible("#topnav") and not page.is_visible("#print-card")
    assert page.is_visible("#household-card")
    pdf = SCREENSHOTS / "household-card.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages")
    assert 1 <= pages <= 2, f"{pages} pages"
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    printed = shot(page, "household-card-print")
    page.set_viewport_size(DESK)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(printed, DOCS / "household-card-print.png")
    assert path.exists()
