"""The ledger pages and an export on a 360 px phone (Chromium, live server): a county approver
opens a ledger from /reports/, sees its rows and the counts by township and village, filters
and sorts it, asks for the export, watches its progress bar on "My exports" and downloads the
file, which reads back (openpyxl) as the page's rows."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django.utils import timezone

from households.models import HouseholdType
from reports.models import ExportJob, ExportState
from reports.services import exports as export_service
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_a_ledger_page_and_its_export_to_the_downloaded_file(phone_page, county, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page, areas = phone_page, county["areas"]
    homes = [hf.household(areas["v11"], household_type=HouseholdType.ORDINARY, members=2) for _ in range(3)]
    homes += [hf.household(areas["v21"], household_type=HouseholdType.ORDINARY, members=1) for _ in range(2)]

    login(page, "approver")
    page.goto("/reports/")
    page.click("#ledger-ordinary a")
    page.wait_for_url("**/reports/ledgers/ordinary/")
    page.wait_for_selector("#area-counts details, details#area-counts")  # loaded after the page
    assert len(page.locator("#ledger-rows tbody tr").all()) == 5
    page.click("#area-counts summary")
    counts = page.inner_text("#area-counts")
    assert "西城镇" in counts and "东城镇" in counts and "一村" in counts
    _no_sideways_scroll(page)
    shot(page, "ledger-page-phone")

    # filter by township, then sort by the household size
    page.click("#ledger-filters summary")
    page.select_option("#id_township", str(areas["t1"].pk))
    page.click("#ledger-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert len(page.locator("#ledger-rows tbody tr").all()) == 3
    page.click("a[data-sort=member_count]")
    page.wait_for_load_state("networkidle")
    assert "sort=member_count" in page.url

    # ask for the export: it runs at once here (no broker) and the exports page lists it
    page.click("#ledger-export button")
    page.wait_for_url("**/reports/exports/")
    job = ExportJob.objects.get()
    assert job.params == {"township": areas["t1"].pk}
    page.wait_for_selector(f"#export-{job.pk}[data-state=done]")

    # a second, larger export seen while it runs: the bar follows the job (htmx polling)
    now = timezone.now()
    running = ExportJob.objects.create(
        user=county["approver"],
        kind="ordinary",
        params={},
        params_key="browser",
        state=ExportState.RUNNING,
        rows_written=0,
        rows_total=5,
        language="zh-hans",
        created_at=now,
        expires_at=now + dt.timedelta(hours=1),
    )
    page.reload()
    page.wait_for_selector(f"#export-{running.pk} .progress")
    ExportJob.objects.filter(pk=running.pk).update(rows_written=2)
    page.wait_for_selector(f"#export-{running.pk} [aria-valuenow='40']")
    _no_sideways_scroll(page)
    shot(page, "exports-progress-phone")
    ExportJob.objects.filter(pk=running.pk).update(state=ExportState.QUEUED)
    export_service.run_export(running.pk, now=timezone.now())
    page.wait_for_selector(f"#export-{running.pk}[data-state=done] .export-download")
    shot(page, "exports-done-phone")

    with page.expect_download() as download_info:
        page.click(f"#export-{running.pk} .export-download")
    path = tmp_path / "download.xlsx"
    download_info.value.save_as(path)
    book = openpyxl.load_workbook(path)
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in rows) == sorted(h.number for h in homes)
    assert book.worksheets[0]["A1"].value == "户编号"
