"""The dashboard's precompute (reports/snapshots.py, the periodic task) and its page and
exports (/dashboard/)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook

from accounts.models import Role
from households.models import HouseholdType
from monitoring.models import CaseStatus, RunStatus, TaskName, TaskRun
from monitoring.rules.deadlines import SHANGHAI
from monitoring.services import runs
from reports import dashboard_views, figures, snapshots
from reports.models import FigureSnapshot
from reports.tasks import dashboard_figures as dashboard_task
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def site_language_afterwards():
    """A request in English leaves English active in this thread: restore the site's language."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def homes(areas):
    out = [
        hf.household(areas["v11"], household_type=HouseholdType.OUT_OF_POVERTY),
        hf.household(areas["v12"], household_type=HouseholdType.ORDINARY),
        hf.household(areas["v21"], household_type=HouseholdType.ORDINARY),
    ]
    mf.case(out[0], status=CaseStatus.MONITORED)
    return out


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_precompute_stores_every_figure_of_the_county_and_its_townships(homes):
    counts = snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    assert counts == {"areas": 3, "figures": 3 * len(figures.FIGURES)}
    stored = FigureSnapshot.objects.filter(area_code="130727")
    assert {s.key for s in stored} == set(figures.FIGURES_BY_KEY)
    snap = stored.get(key="ledger_households")
    assert snap.as_of == dt.date(2026, 11, 20)
    assert figures.localize(snap.data, "zh-hans")["rows"] == [["西城镇", 0, 1, 1, 0], ["东城镇", 0, 0, 1, 0]]
    # a township's figures are its villages'
    township = FigureSnapshot.objects.get(area_code="130727100", key="ledger_households")
    assert [r[0] for r in figures.localize(township.data, "zh-hans")["rows"]] == ["一村", "二村"]


def test_precompute_is_idempotent_and_refreshes(homes, areas):
    snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    first = FigureSnapshot.objects.count()
    hf.household(areas["v22"], household_type=HouseholdType.ORDINARY)
    snapshots.dashboard_figures(now=NOW + dt.timedelta(days=1), area_code="130727000000")
    assert FigureSnapshot.objects.count() == first
    snap = FigureSnapshot.objects.get(area_code="130727", key="ledger_households")
    assert snap.as_of == dt.date(2026, 11, 21)
    assert figures.localize(snap.data, "zh-hans")["rows"][1] == ["东城镇", 0, 0, 2, 0]


def test_a_township_run_covers_only_that_township(areas):
    assert snapshots.snapshot_areas("130727100000") == ["130727100"]
    assert snapshots.snapshot_areas("130727100201") == ["130727100"]
    assert snapshots.snapshot_areas("130727000000") == ["130727", "130727100", "130727200"]
    assert snapshots.snapshot_areas("999999999999") == []


def test_the_task_runs_under_a_run_record_and_has_a_nightly_schedule(homes):
    result = dashboard_task.delay(area_code="130727000000").get()
    run = TaskRun.objects.get(pk=result["run"])
    assert run.task == TaskName.DASHBOARD_FIGURES and run.status == RunStatus.SUCCEEDED
    assert run.counts == {"areas": 3, "figures": 3 * len(figures.FIGURES)}
    schedule = PeriodicTask.objects.get(task="reports.tasks.dashboard_figures")
    assert (schedule.crontab.hour, schedule.crontab.minute) == ("4", "0")


def test_run_now_by_a_county_approver(homes, county_approver, django_capture_on_commit_callbacks):
    assert runs.may_start(county_approver, TaskName.DASHBOARD_FIGURES)
    with django_capture_on_commit_callbacks(execute=True):
        runs.run_request(actor=county_approver, task=TaskName.DASHBOARD_FIGURES, area_code="130727000000")
    assert TaskRun.objects.filter(task=TaskName.DASHBOARD_FIGURES, status=RunStatus.SUCCEEDED).exists()
    assert FigureSnapshot.objects.filter(area_code="130727").count() == len(figures.FIGURES)


@pytest.mark.parametrize("role", [Role.VILLAGE_CADRE, Role.HELPER, Role.DEPARTMENT])
def test_other_roles_get_the_403_page(role, areas):
    extra = {"department": mf.department("medical_insurance")} if role == Role.DEPARTMENT else {}
    user = af.user(role, areas["county"] if role == Role.DEPARTMENT else areas["v11"], **extra)
    c = client_for(user)
    assert c.get("/dashboard/").status_code == 403
    assert c.get("/dashboard/export.csv", {"figure": "ledger_households"}).status_code == 403


def test_the_page_reads_the_stored_figures_with_their_time(homes, county_approver):
    snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    page = client_for(county_approver).get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="computed-at"' in html and "数据计算于" in html
    assert page.context["area"] == "130727" and not page.context["live"]
    assert [c["key"] for c in page.context["charts"]] == [f.key for f in figures.FIGURES]
    assert 'id="dashboard-data"' in html and "vendor/echarts/echarts.min.js" in html
    assert [p for p, _n, _l in page.context["choices"]] == ["130727", "130727100", "130727200"]
    assert "西城镇" in html  # the table under the chart


def test_no_snapshot_a_small_area_is_computed_live(homes, township_reviewer):
    page = client_for(township_reviewer).get("/dashboard/")
    assert page.status_code == 200
    assert page.context["area"] == "130727100" and page.context["live"]
    assert "实时计算于" in page.content.decode()
    assert [p for p, _n, _l in page.context["choices"]] == ["130727100"]


def test_no_snapshot_a_large_county_says_how_to_compute(homes, county_approver, monkeypatch):
    monkeypatch.setattr(dashboard_views, "LIVE_HOUSEHOLDS", 1)
    page = client_for(county_approver).get("/dashboard/")
    assert page.status_code == 200
    assert page.context["charts"] == []
    assert 'id="no-figures"' in page.content.decode()
    assert (
        client_for(county_approver).get("/dashboard/export.csv", {"figure": "ledger_households"}).status_code
        == 404
    )


def test_an_area_outside_the_scope_shows_the_default_with_a_message(homes, township_reviewer):
    snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    for bad in ("130727", "130727200", "x' or 1=1", "9" * 40):
        page = client_for(township_reviewer).get("/dashboard/", {"area": bad})
        assert page.status_code == 200
        assert page.context["area"] == "130727100"
        assert 'id="area-warning"' in page.content.decode()


def test_exports_are_the_table_under_the_chart(homes, county_approver):
    snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    c = client_for(county_approver)
    response = c.get("/dashboard/export.csv", {"figure": "ledger_households", "area": "130727"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table == [
        ["项目", "重点监测对象", "稳定脱贫户", "一般农户", "低收入群体"],
        ["西城镇", "0", "1", "1", "0"],
        ["东城镇", "0", "0", "1", "0"],
    ]
    response = c.get("/dashboard/export.xlsx", {"figure": "ledger_households", "area": "130727100"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in sheet[3]] == ["一村", 0, 1, 0, 0]
    assert c.get("/dashboard/export.csv", {"figure": "no_such_figure"}).status_code == 404


def test_english_labels(homes, county_approver):
    snapshots.dashboard_figures(now=NOW, area_code="130727000000")
    c = client_for(county_approver)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = c.get("/dashboard/")
    charts = {ch["key"]: ch for ch in page.context["charts"]}
    assert charts["ledger_households"]["title"] == "Households per ledger"
    assert charts["ledger_households"]["series"][0] == "Key monitored households"
    assert charts["measures_by_category"]["series"] == ["Planned", "In progress", "Implemented", "Stopped"]
