"""The import pages and the API: upload, 202 with the job, progress, the error report."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from households.models import Household, ImportJob, ImportState
from tests.households import importfiles as f


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def test_the_api_answers_202_with_the_job_and_shows_its_progress(
    areas, operator_client, django_capture_on_commit_callbacks
):
    data = f.workbook(f.three_households(areas["v11"].code))
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator_client.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("a.xlsx", data), "layout": "national", "dry_run": "false"},
        )
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    shown = operator_client.get(f"/api/v1/imports/{job_id}/").json()
    assert shown["state"] == "done"
    assert shown["progress"] == {"rows_total": 6, "rows_checked": 6, "rows_written": 6, "percent": 100}
    assert shown["summary"]["created"] == {"households": 3, "people": 6, "incomes": 3}
    assert shown["error_report_url"] is None
    assert Household.objects.count() == 3


def test_the_api_refuses_bad_input_in_the_error_shape(areas, operator_client, cadre, client):
    answer = operator_client.post(
        "/api/v1/imports/", {"file": SimpleUploadedFile("a.txt", b"x"), "layout": "national"}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"code", "message", "fields"} and ".xlsx" in body["fields"]["file"]
    assert operator_client.post("/api/v1/imports/", {"layout": "x"}).status_code == 400
    assert operator_client.get("/api/v1/imports/999999/").status_code == 404
    client.force_login(cadre)
    assert client.get("/api/v1/imports/").status_code == 403


def test_the_page_uploads_shows_progress_and_the_error_report(
    areas, operator_client, django_capture_on_commit_callbacks
):
    page = operator_client.get("/households/imports/")
    assert page.status_code == 200 and "import-form" in page.content.decode()
    rows = f.three_households(areas["v11"].code)
    rows[1]["证件号码"] = "123"
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator_client.post(
            "/households/imports/",
            {"file": SimpleUploadedFile("bad.xlsx", f.workbook(rows)), "layout": "national", "dry_run": "on"},
        )
    job = ImportJob.objects.get()
    assert answer.status_code == 302 and answer.url == f"/households/imports/{job.pk}/"
    assert job.state == ImportState.FAILED and job.dry_run
    detail = operator_client.get(answer.url).content.decode()
    assert "import-error-report" in detail and "公民身份号码应为18位" in detail
    partial = operator_client.get(answer.url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('\n<div id="import-progress"') or 'id="import-progress"' in partial
    assert "hx-trigger" not in partial  # finished: the polling stops
    report = operator_client.get(f"/households/imports/{job.pk}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(report.content)).worksheets[0]
    assert sheet.cell(row=2, column=2).value == 3
    template = operator_client.get("/households/imports/template.xlsx")
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    export = operator_client.get("/households/imports/export.xlsx")
    assert export.status_code == 200


def test_a_bad_upload_is_shown_beside_the_field(areas, operator_client):
    answer = operator_client.post(
        "/households/imports/", {"file": SimpleUploadedFile("a.csv", b"a"), "layout": "national"}
    )
    assert answer.status_code == 400 and ".xlsx" in answer.content.decode()


def test_other_roles_get_no_import_page(areas, client, cadre):
    client.force_login(cadre)
    assert client.get("/households/imports/").status_code == 403


def test_a_passed_dry_run_is_imported_from_its_page_and_the_api(
    areas, operator_client, django_capture_on_commit_callbacks
):
    data = f.workbook(f.three_households(areas["v11"].code))
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator_client.post(
            "/api/v1/imports/", {"file": SimpleUploadedFile("a.xlsx", data), "layout": "national"}
        )
    dry = answer.json()["id"]
    page = operator_client.get(f"/households/imports/{dry}/").content.decode()
    assert 'id="import-apply"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/households/imports/{dry}/apply/")
    real = ImportJob.objects.exclude(pk=dry).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/households/imports/{real.pk}/")
    assert real.state == ImportState.DONE and real.checked_from_id == dry
    assert 'id="import-reused"' in operator_client.get(f"/households/imports/{real.pk}/").content.decode()
    # the API: a finished real run cannot be applied again (400 in the error shape), a dry run can
    again = operator_client.post(f"/api/v1/imports/{real.pk}/apply/")
    assert again.status_code == 400 and set(again.json()) == {"code", "message", "fields"}
    with django_capture_on_commit_callbacks(execute=True):
        second = operator_client.post(f"/api/v1/imports/{dry}/apply/")
    assert second.status_code == 202 and second.json()["state"] == "queued"
    assert operator_client.get(f"/api/v1/imports/{second.json()['id']}/").json()["checked_from"] == dry
    assert operator_client.get("/households/imports/999999/apply/").status_code in (404, 405)
