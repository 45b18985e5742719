"""Excel exports as background jobs: requested once, written in batches, read back with openpyxl
to give the page's rows and the API's counts, served only to their owner, expired on time."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import Role, SecurityEvent, SecurityEventKind
from households.models import Household, HouseholdType
from reports import exports
from reports.columns import CLUE_COLUMNS, HOUSEHOLD_COLUMNS, ListKind
from reports.models import ExportJob, ExportState
from reports.selectors import Ledger
from reports.services import exports as export_service
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.reports.test_ledgers import EXPECTED_COUNTY


def rows_of(response) -> list[list]:
    """The values of the page's table (each cell is ``(value, stored data?)``)."""
    return [[value for value, _data in row] for row in response.context["rows"]]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def export(user, kind, django_capture_on_commit_callbacks, **params) -> ExportJob:
    """Request an export and run its task as the commit would (no broker: in-process)."""
    with django_capture_on_commit_callbacks(execute=True):
        job, created = export_service.request_export(user=user, kind=kind, params=params, now=timezone.now())
    assert created
    job.refresh_from_db()
    return job


def workbook(job: ExportJob):
    with job.file.open("rb") as handle:
        return openpyxl.load_workbook(handle)


def data_rows(book) -> list[tuple]:
    sheet = book.worksheets[0]
    return list(sheet.iter_rows(min_row=2, values_only=True))


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("ledger", list(Ledger))
def test_every_ledger_reads_back_as_the_pages_rows_and_the_apis_counts(
    county_approver, county, ledger, client, django_capture_on_commit_callbacks
):
    job = export(county_approver, ledger, django_capture_on_commit_callbacks)
    assert job.state == ExportState.DONE
    assert job.rows_written == job.rows_total == EXPECTED_COUNTY[ledger]
    book = workbook(job)
    columns = CLUE_COLUMNS if ledger == Ledger.EARLY_WARNING else HOUSEHOLD_COLUMNS
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == [str(c.header) for c in columns]
    assert sheet.freeze_panes == "A2"
    rows = data_rows(book)
    counts = {r["ledger"]: r["count"] for r in api(county_approver).get("/api/v1/ledgers/").json()["ledgers"]}
    assert len(rows) == counts[str(ledger)]
    client.force_login(county_approver)
    shown = rows_of(client.get(reverse("reports:ledger", args=[str(ledger)])))
    masked = {i for i, c in enumerate(columns) if c.kind in ("id_number", "phone")}
    for got, want in zip(rows, shown, strict=True):
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            if i in masked:
                continue  # the page masks them; the workbook follows the role (below)
            if isinstance(a, dt.datetime):
                a = a.date()
            assert (a if a is not None else "") == (b if b is not None else ""), (columns[i].key, a, b)


def test_types_masking_and_the_query_sheet(county_approver, county, django_capture_on_commit_callbacks):
    home = county["monitored_out"]
    Household.objects.filter(pk=home.pk).update(identified_on=dt.date(2026, 1, 10), phone="13912345678")
    job = export(
        county_approver, Ledger.KEY_MONITORING, django_capture_on_commit_callbacks, township=None or ""
    )
    book = workbook(job)
    keys = [c.key for c in HOUSEHOLD_COLUMNS]
    row = next(r for r in data_rows(book) if r[0] == home.number)
    assert row[keys.index("identified_on")] == dt.datetime(2026, 1, 10)  # a date cell
    assert row[keys.index("member_count")] == 1  # a number
    # a county approver's role needs ID numbers in full: as text, never a number
    assert row[keys.index("head_id_number")] == home.head.id_number
    assert row[keys.index("phone")] == "13912345678"
    about = {r[0]: r[1] for r in book.worksheets[-1].iter_rows(min_row=2, values_only=True)}
    assert about["台账"] == "重点监测对象"
    assert about["截至日期"] == "当前（实时数据）"
    assert about["身份证号和电话"] == "完整显示"


def test_a_reader_whose_role_does_not_need_them_gets_masked_numbers(county_approver, county, tmp_path):
    path = tmp_path / "masked.xlsx"
    exports.write_list(path, kind=Ledger.KEY_MONITORING, user=county_approver, params={}, reveal=False)
    book = openpyxl.load_workbook(path)
    keys = [c.key for c in HOUSEHOLD_COLUMNS]
    numbers = {r[keys.index("head_id_number")] for r in data_rows(book)}
    assert numbers and all("********" in n for n in numbers)
    about = {r[0]: r[1] for r in book.worksheets[-1].iter_rows(min_row=2, values_only=True)}
    assert about["身份证号和电话"] == "已遮盖"


def test_filters_are_applied_and_written_in_the_file(
    county_approver, areas, county, django_capture_on_commit_callbacks
):
    job = export(
        county_approver,
        Ledger.LOW_INCOME,
        django_capture_on_commit_callbacks,
        township=str(areas["t1"].pk),
        household_type=HouseholdType.ORDINARY,
    )
    book = workbook(job)
    assert {r[0] for r in data_rows(book)} == {county["tracked_ordinary"].number, county["ordinary"].number}
    about = {r[0]: r[1] for r in book.worksheets[-1].iter_rows(min_row=2, values_only=True)}
    assert about["乡镇"] == "西城镇"
    assert about["户类型"] == "一般农户"
    assert job.params == {"household_type": "ordinary", "township": areas["t1"].pk}


def test_english_headers_for_an_english_reader(county_approver, county, django_capture_on_commit_callbacks):
    with translation.override("en"):
        job = export(county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks)
    assert job.language == "en"
    sheet = workbook(job).worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers[0] == "Household number" and "Township" in headers


def test_the_case_list_exports(county_approver, county, django_capture_on_commit_callbacks):
    from monitoring.models import MonitoringCase

    job = export(county_approver, ListKind.CASES, django_capture_on_commit_callbacks, case_status="monitored")
    expected = MonitoringCase.objects.filter(status="monitored").count()
    assert expected and job.state == ExportState.DONE and job.rows_written == expected
    rows = data_rows(workbook(job))
    assert {r[1] for r in rows} == set(
        MonitoringCase.objects.filter(status="monitored").values_list("household__number", flat=True)
    )


def test_a_retry_returns_the_same_job(county_approver, county, django_capture_on_commit_callbacks):
    job = export(
        county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks, household_type="ordinary"
    )
    again, created = export_service.request_export(
        user=county_approver, kind="ordinary", params={"household_type": "ordinary"}, now=timezone.now()
    )
    assert not created and again.pk == job.pk
    other, created = export_service.request_export(
        user=county_approver, kind="ordinary", params={"low_income": "true"}, now=timezone.now()
    )
    assert created and other.pk != job.pk
    # once the first one has expired, the same request writes a new file
    later = job.expires_at + dt.timedelta(minutes=1)
    fresh, created = export_service.request_export(
        user=county_approver, kind="ordinary", params={"household_type": "ordinary"}, now=later
    )
    assert created and fresh.pk != job.pk


def test_a_task_delivered_twice_writes_once(county_approver, county, django_capture_on_commit_callbacks):
    job = export(county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks)
    finished = job.finished_at
    export_service.run_export(job.pk, now=timezone.now())
    job.refresh_from_db()
    assert job.state == ExportState.DONE and job.finished_at == finished


def test_a_failed_job_says_why(county_approver, county):
    now = timezone.now()
    job = ExportJob.objects.create(
        user=county_approver,
        kind="ordinary",
        params={"household_type": "castle"},
        params_key="x",
        created_at=now,
        expires_at=now + dt.timedelta(hours=1),
    )
    export_service.run_export(job.pk, now=now)
    job.refresh_from_db()
    assert job.state == ExportState.FAILED and job.error == "invalid_query"
    assert "户类型" in job.error_detail or job.error_detail
    with translation.override("en"):
        assert export_service.error_message(job).startswith("The query")


def test_bad_requests_and_roles_are_refused(county_approver, helper_user):
    from accounts.errors import NotAllowed, ValidationError

    with pytest.raises(NotAllowed):
        export_service.request_export(user=helper_user, kind="ordinary", params={}, now=timezone.now())
    with pytest.raises(ValidationError):
        export_service.request_export(user=county_approver, kind="nothing", params={}, now=timezone.now())
    with pytest.raises(ValidationError):
        export_service.request_export(
            user=county_approver, kind="ordinary", params={"as_of": "2999-01-01"}, now=timezone.now()
        )
    assert not ExportJob.objects.exists()


def test_large_lists_are_split_into_sheets(county_approver, county, monkeypatch, tmp_path):
    monkeypatch.setattr(exports, "SHEET_ROWS", 2)
    monkeypatch.setattr(exports, "BATCH_SIZE", 2)
    path = tmp_path / "split.xlsx"
    progress = []
    written = exports.write_list(
        path,
        kind=Ledger.KEY_MONITORING,
        user=county_approver,
        params={},
        reveal=True,
        progress=lambda n, total: progress.append((n, total)),
    )
    assert written == 4
    book = openpyxl.load_workbook(path)
    assert len(book.worksheets) == 3  # two data sheets and the query
    assert sum(len(data_rows_of(s)) for s in book.worksheets[:2]) == 4
    assert progress[0] == (0, 4) and progress[-1] == (4, 4)


def data_rows_of(sheet) -> list[tuple]:
    return list(sheet.iter_rows(min_row=2, values_only=True))


def test_expired_files_are_removed(county_approver, county, django_capture_on_commit_callbacks):
    job = export(county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks)
    path = job.file.path
    assert export_service.remove_expired(now=job.expires_at - dt.timedelta(seconds=1)) == {
        "expired": 0,
        "files_removed": 0,
    }
    assert export_service.remove_expired(now=job.expires_at) == {"expired": 1, "files_removed": 1}
    job.refresh_from_db()
    assert job.state == ExportState.EXPIRED and not job.file
    import os

    assert not os.path.exists(path)
    assert export_service.remove_expired(now=job.expires_at) == {"expired": 0, "files_removed": 0}


# --- API ------------------------------------------------------------------------------------


def test_the_api_answers_202_with_the_job_then_its_file(
    county_approver, county, django_capture_on_commit_callbacks
):
    client = api(county_approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/exports/", {"kind": "ordinary", "low_income": "true"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["url"].endswith(f"/api/v1/exports/{body['id']}/")
    job = client.get(body["url"]).json()
    assert job["state"] == "done" and job["progress"] == {"rows_written": 2, "rows_total": 2, "percent": 100}
    download = client.get(job["file"])
    assert download.status_code == 200
    assert download["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert "attachment" in download["Content-Disposition"]
    book = openpyxl.load_workbook(__import__("io").BytesIO(b"".join(download.streaming_content)))
    assert len(data_rows(book)) == 2
    # a retry answers the same job
    again = client.post("/api/v1/exports/", {"kind": "ordinary", "low_income": "true"}, format="json")
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    assert [j["id"] for j in client.get("/api/v1/exports/").json()] == [body["id"]]
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT, user=county_approver).count() == 2


def test_only_the_owner_sees_a_job_and_its_file(
    areas, county_approver, county, django_capture_on_commit_callbacks
):
    job = export(county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks)
    other = af.user(Role.COUNTY_APPROVER, areas["county"])
    client = api(other)
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/file/").status_code == 404
    assert client.get("/api/v1/exports/").json() == []
    from django.test import Client

    browser = Client()
    browser.force_login(other)
    assert browser.get(reverse("reports:export_file", args=[job.pk])).status_code == 404
    browser.force_login(county_approver)
    assert browser.get(reverse("reports:export_file", args=[job.pk])).status_code == 200


def test_the_api_refuses_bad_bodies(county_approver, helper_user):
    client = api(county_approver)
    bad = client.post("/api/v1/exports/", {"kind": "ordinary", "as_of": "2999-01-01"}, format="json")
    assert bad.status_code == 400 and "as_of" in bad.json()["fields"]
    assert client.post("/api/v1/exports/", {"kind": "castle"}, format="json").status_code == 400
    wrong = client.post("/api/v1/exports/", {"kind": "ordinary", "clue_status": "pending"}, format="json")
    assert wrong.status_code == 400 and "clue_status" in wrong.json()["fields"]
    assert api(helper_user).post("/api/v1/exports/", {"kind": "ordinary"}, format="json").status_code == 403


# --- pages ----------------------------------------------------------------------------------


def test_the_export_button_and_the_exports_page(
    client, county_approver, county, areas, django_capture_on_commit_callbacks
):
    client.force_login(county_approver)
    ledger_page = client.get(reverse("reports:ledger", args=["ordinary"]), {"township": areas["t1"].pk})
    assert f'name="township" value="{areas["t1"].pk}"' in ledger_page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(reverse("reports:exports"), {"kind": "ordinary", "township": areas["t1"].pk})
    assert posted.status_code == 302
    response = client.get(posted["Location"])
    job = ExportJob.objects.get(user=county_approver)
    assert job.state == ExportState.DONE and job.params == {"township": areas["t1"].pk}
    html = response.content.decode()
    assert reverse("reports:export_file", args=[job.pk]) in html
    # a running job shows its progress bar and polls for it
    running = ExportJob.objects.create(
        user=county_approver,
        kind="key_monitoring",
        params={},
        params_key="y",
        state=ExportState.RUNNING,
        rows_written=5000,
        rows_total=20000,
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    row = client.get(reverse("reports:export_progress", args=[running.pk])).content.decode()
    assert 'aria-valuenow="25"' in row and "hx-trigger" in row
    failed = ExportJob.objects.create(
        user=county_approver,
        kind="key_monitoring",
        params={},
        params_key="z",
        state=ExportState.FAILED,
        error="write_failed",
        created_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    assert "写入文件时出错" in client.get(reverse("reports:exports")).content.decode()
    assert failed.pk


def test_the_printable_village_ledger(client, cadre, areas, county):
    client.force_login(cadre)
    url = reverse("reports:ledger_print", args=["low_income"])
    assert client.get(url).status_code == 404  # a village must be chosen
    response = client.get(url, {"village": areas["v11"].pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "一村" in html and "@page" in html and "A4" in html
    assert response.context["count"] == 3
    assert county["stable"].head.id_number not in html


def test_a_household_list_page_of_another_village_prints_nothing(client, cadre, areas, county):
    client.force_login(cadre)
    hf.household(areas["v21"])
    response = client.get(reverse("reports:ledger_print", args=["ordinary"]), {"village": areas["v21"].pk})
    assert response.status_code == 404


def test_the_daily_cleanup_runs_under_a_run_record(
    county_approver, county, django_capture_on_commit_callbacks
):
    from django_celery_beat.models import PeriodicTask

    from monitoring.models import TaskName, TaskRun
    from monitoring.services.runs import celery_task

    job = export(county_approver, Ledger.ORDINARY, django_capture_on_commit_callbacks)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    result = celery_task(TaskName.EXPORT_CLEANUP).apply().get()
    assert result["status"] == "succeeded" and result["expired"] == 1 and result["files_removed"] == 1
    run = TaskRun.objects.get(task=TaskName.EXPORT_CLEANUP)
    assert run.counts == {"expired": 1, "files_removed": 1}
    assert PeriodicTask.objects.filter(task="reports.tasks.export_cleanup", enabled=True).exists()


def test_the_case_list_and_the_clue_list_offer_their_export(client, county_approver, county, helper_user):
    client.force_login(county_approver)
    assert 'name="kind" value="cases"' in client.get("/cases/").content.decode()
    assert 'name="kind" value="early_warning"' in client.get("/clues/").content.decode()
    client.force_login(helper_user)
    page = client.get("/cases/")
    assert page.status_code != 200 or 'name="kind" value="cases"' not in page.content.decode()
