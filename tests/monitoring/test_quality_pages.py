"""The data-quality page, its export and the findings API."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from monitoring.models import FindingStatus, QualityFinding, TaskName, TaskRun
from monitoring.services import quality
from monitoring.tasks import data_quality
from tests.households import factories as hf
from tests.monitoring.test_quality import NOW


def _two_findings(areas):
    here = hf.household(areas["v11"], cultivated_land_mu=150)
    there = hf.household(areas["v21"], cultivated_land_mu=150)
    quality.data_quality(now=NOW)
    return here, there


def test_the_page_lists_the_users_findings_and_saves_an_explanation(areas, client, cadre):
    here, there = _two_findings(areas)
    client.force_login(cadre)
    page = client.get("/quality/").content.decode()
    assert here.number in page and there.number not in page
    finding = QualityFinding.objects.get(household=here)
    answer = client.post(
        f"/quality/{finding.pk}/resolve/", {"status": "explained", "note": "含林地", "back": "rule=5_14_008"}
    )
    assert answer.status_code == 302 and answer.url == "/quality/?rule=5_14_008"
    finding.refresh_from_db()
    assert finding.status == FindingStatus.EXPLAINED and finding.note == "含林地"
    refused = client.post(f"/quality/{finding.pk}/resolve/", {"status": "explained", "note": ""}, follow=True)
    assert "请填写情况说明" in refused.content.decode()
    other = QualityFinding.objects.get(household=there)
    assert client.post(f"/quality/{other.pk}/resolve/", {"status": "fixed"}).status_code == 404


def test_the_export_has_the_filtered_findings(areas, client, county_approver):
    here, there = _two_findings(areas)
    client.force_login(county_approver)
    answer = client.get("/quality/findings.xlsx?rule=5_14_008&status=open")
    rows = list(load_workbook(io.BytesIO(answer.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "规则编号"
    assert sorted(r[3] for r in rows[1:]) == sorted([here.number, there.number])


def test_the_api_lists_findings_in_the_area(areas, client, cadre):
    here, _there = _two_findings(areas)
    client.force_login(cadre)
    body = client.get("/api/v1/quality/findings/?rule=5_14_008").json()
    assert [r["household_number"] for r in body["results"]] == [here.number]
    assert body["results"][0]["status"] == "open" and body["results"][0]["rule_code"] == "5_14_008"
    assert client.get("/api/v1/quality/findings/?status=nope").status_code == 400


def test_the_task_runs_under_a_run_record(areas):
    hf.household(areas["v11"], cultivated_land_mu=150)
    result = data_quality.delay(area_code=areas["county"].code).get()
    run = TaskRun.objects.get(task=TaskName.DATA_QUALITY)
    assert run.status == "succeeded" and run.counts["new"] == 1 and result["new"] == 1


def test_a_helper_gets_no_quality_page(areas, client, helper_user):
    client.force_login(helper_user)
    assert client.get("/quality/").status_code == 403
