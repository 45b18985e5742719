"""An import's monitoring columns become imported cases: risks 1–5, category, dates, the
elimination and its mode, each status through a StatusChange row; re-import changes nothing, a
newer file changes the case; a household inside the workflow is left to its procedure."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from households.imports import jobs
from households.models import Household, ImportState, MonitoringStatus
from monitoring.models import CaseStatus, MonitoringCase, StatusChange
from tests.households import importfiles as f
from tests.monitoring import factories as mf

RISK1, RISK2 = "致贫/返贫风险1", "致贫/返贫风险2"


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    def run(actor, data: bytes, *, dry_run=False):
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.submit(
                actor=actor,
                upload=SimpleUploadedFile("county.xlsx", data),
                layout="national",
                dry_run=dry_run,
            )
        job.refresh_from_db()
        return job

    return run


def _rows(v):
    rows = f.three_households(v)
    rows[0].update(监测对象类别="边缘易致贫户", 识别监测时间="202403", **{RISK1: "因病", RISK2: "09"})
    for row in rows[1:3]:
        row.update(监测对象类别="脱贫不稳定户", 识别监测时间="202402", **{RISK1: "Illness"})
    return rows


def test_an_identification_in_the_file_becomes_an_imported_case_with_its_risks(areas, operator, run_import):
    v = areas["v11"].code
    job = run_import(operator, f.workbook(_rows(v)))
    assert job.state == ImportState.DONE, job.errors
    assert job.summary["monitoring"]["cases"] == {"created": 2, "changed": 0, "same": 0, "kept": 0}
    one = MonitoringCase.objects.get(household__number=f"{v}0001")
    assert one.imported and one.status == CaseStatus.MONITORED and one.category == "marginal"
    assert str(one.identified_on) == "2024-03-01" and one.next_visit_due is not None
    assert sorted(one.risk_types.values_list("code", flat=True)) == ["01", "09"]
    assert not one.steps.exists()
    change = StatusChange.objects.get(case=one)
    assert (change.action, change.from_status, change.to_status, change.actor) == (
        "import",
        "",
        "monitored",
        operator,
    )
    assert "county.xlsx" in change.reason and change.data["row"] == 2
    # the household's own fields as the file gave them
    assert one.household.monitoring_status == MonitoringStatus.MONITORED


def test_reimport_is_a_no_op_and_a_newer_file_changes_the_case(areas, operator, run_import):
    v = areas["v11"].code
    rows = _rows(v)
    run_import(operator, f.workbook(rows))
    changes = StatusChange.objects.count()
    again = run_import(operator, f.workbook(rows))
    assert again.summary["monitoring"]["cases"] == {"created": 0, "changed": 0, "same": 2, "kept": 0}
    assert StatusChange.objects.count() == changes and MonitoringCase.objects.count() == 2

    rows[0].update(风险是否已消除="是", 风险消除方式="帮扶消除", 消除监测时间="202411", **{RISK2: ""})
    newer = run_import(operator, f.workbook(rows))
    assert newer.summary["monitoring"]["cases"] == {"created": 0, "changed": 1, "same": 1, "kept": 0}
    one = MonitoringCase.objects.get(household__number=f"{v}0001")
    assert (one.status, one.exit_mode, str(one.eliminated_on), one.next_visit_due) == (
        CaseStatus.ELIMINATED,
        "assistance",
        "2024-11-01",
        None,
    )
    assert list(one.risk_types.values_list("code", flat=True)) == ["01"]
    last = StatusChange.objects.filter(case=one).latest("id")
    assert (last.from_status, last.to_status, last.action) == ("monitored", "eliminated", "import")
    assert one.household.monitoring_status == MonitoringStatus.ELIMINATED


def test_a_household_inside_the_workflow_is_left_to_its_procedure(areas, operator, run_import, household):
    running = mf.case(household, status=CaseStatus.IDENTIFYING)
    number, v = household.number, household.area_code
    head = household.members.get(relation="head")
    rows = [
        f.person_row(
            number,
            v,
            head.name,
            head.id_number,
            监测对象类别="突发严重困难户",
            识别监测时间="202401",
            **{RISK1: "因残"},
        )
    ]
    rows += [
        f.person_row(number, v, p.name, p.id_number, "配偶")
        for p in household.members.exclude(relation="head")
    ]
    job = run_import(operator, f.workbook(rows))
    assert job.state == ImportState.DONE, job.errors
    assert job.summary["monitoring"]["cases"]["kept"] == 1
    household.refresh_from_db()
    assert household.monitoring_status == "" and household.monitoring_category == ""
    assert list(MonitoringCase.objects.values_list("pk", flat=True)) == [running.pk]
    assert not StatusChange.objects.filter(action="import").exists()


def test_unknown_risks_and_risks_without_a_category_are_reported(areas, operator, run_import):
    v = areas["v11"].code
    rows = f.three_households(v)
    rows[0].update(监测对象类别="边缘易致贫户", 识别监测时间="202403", **{RISK1: "因穷"})
    rows[1].update(**{RISK2: "因病"})
    job = run_import(operator, f.workbook(rows), dry_run=True)
    assert job.state == ImportState.FAILED
    found = {(e["row"], e["column"]) for e in job.errors}
    assert (2, RISK1) in found and (3, RISK2) in found
    assert any("因穷" in e["message"] for e in job.errors)
    assert Household.objects.count() == 0


def test_an_imported_case_is_a_case_like_any_other_on_the_pages(areas, operator, run_import, client):
    v = areas["v11"].code
    run_import(operator, f.workbook(_rows(v)))
    case = MonitoringCase.objects.get(household__number=f"{v}0001")
    client.force_login(operator)
    for url in (f"/cases/{case.pk}/", f"/households/{case.household_id}/"):
        page = client.get(url)
        assert page.status_code == 200, url
    text = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="case-imported"' in text and "2024-03" in text
    # the workflow goes on from it: its plan page opens
    assert client.get(f"/cases/{case.pk}/plan/").status_code == 200


def test_the_template_offers_the_risk_types(areas):
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(jobs.template()))
    codes = book.worksheets[1]
    headers = [c.value for c in codes[1]]
    column = headers.index("致贫/返贫风险1") + 1
    offered = {codes.cell(row=r, column=column).value for r in range(2, 30)}
    assert {"因病", "因学", "饮水安全"} <= offered
