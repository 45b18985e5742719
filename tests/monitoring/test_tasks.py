"""The Celery tasks: thin wrappers that record each run; beat's default schedules."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError
from django_celery_beat.models import PeriodicTask

from config.celery import app
from monitoring import tasks
from monitoring.defaults import SCHEDULES
from monitoring.models import RunStatus, TaskName, TaskRun
from monitoring.services import review

pytestmark = pytest.mark.django_db


def test_every_task_is_registered_and_scheduled_by_default():
    from monitoring.services.runs import celery_task

    # every task has a default schedule (the reports' tasks too, found in reports.tasks)
    names = {t for _name, t, _cron, _desc in SCHEDULES}
    assert names == {celery_task(n).name for n in TaskName.values}
    for name in names:
        assert name in app.tasks
    rows = {p.task: p for p in PeriodicTask.objects.select_related("crontab")}
    assert set(rows) >= names
    for name in names:
        assert rows[name].enabled and rows[name].crontab is not None
        assert str(rows[name].crontab.timezone) == "Asia/Shanghai"
    assert rows["monitoring.tasks.deadline_watch"].crontab.hour == "6"
    assert rows["monitoring.tasks.year_end_assessment"].crontab.month_of_year == "12"


def test_beat_builds_a_shanghai_crontab_entry_for_each_default_schedule():
    from django_celery_beat.schedulers import ModelEntry

    for row in PeriodicTask.objects.filter(task__startswith="monitoring.tasks."):
        entry = ModelEntry(row, app=app)
        assert str(entry.schedule.tz) == "Asia/Shanghai"
        due, next_in = entry.is_due()
        assert 0 < next_in <= 366 * 24 * 3600


def test_a_task_records_its_run(areas):
    result = tasks.deadline_watch.delay().get()
    run = TaskRun.objects.get(pk=result["run"])
    assert run.task == TaskName.DEADLINE_WATCH and run.status == RunStatus.SUCCEEDED
    assert run.area_code == "" and run.finished_at is not None
    assert run.counts == {k: v for k, v in result.items() if k not in ("run", "status")}


def test_a_failed_run_is_recorded_and_retried_safely(areas):
    calls = {"n": 0}
    real = review.risk_review

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    with mock.patch.object(review, "risk_review", side_effect=flaky):
        # eager mode runs the retry at once; a worker would after a backoff
        result = tasks.risk_review.apply(kwargs={"area_code": areas["county"].code}, throw=False)
    assert calls["n"] == 2
    runs = list(TaskRun.objects.filter(task=TaskName.RISK_REVIEW).order_by("pk"))
    assert [r.status for r in runs] == [RunStatus.FAILED, RunStatus.SUCCEEDED]
    assert "OperationalError" in runs[0].error
    assert result.get()["status"] == RunStatus.SUCCEEDED
    assert tasks.risk_review.max_retries == 5 and tasks.risk_review.retry_backoff


def test_a_second_run_while_one_is_running_is_skipped(areas):
    from django.utils import timezone

    now = timezone.now()
    TaskRun.objects.create(
        task=TaskName.VISIT_WATCH, area_code="", status=RunStatus.RUNNING, started_at=now, as_of=now
    )
    result = tasks.visit_watch.delay().get()
    assert result["status"] == RunStatus.SKIPPED


def test_a_run_left_running_by_a_killed_worker_is_taken_over(areas):
    from django.utils import timezone

    long_ago = timezone.now() - dt.timedelta(hours=7)
    stale = TaskRun.objects.create(
        task=TaskName.VISIT_WATCH, area_code="", status=RunStatus.RUNNING, started_at=long_ago, as_of=long_ago
    )
    result = tasks.visit_watch.delay().get()
    assert result["status"] == RunStatus.SUCCEEDED
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "没有心跳" in stale.error


def test_on_demand_run_by_a_county_approver(areas, county_approver, django_capture_on_commit_callbacks):
    from monitoring.services.runs import run_request

    with django_capture_on_commit_callbacks(execute=True):
        run_request(actor=county_approver, task=TaskName.RISK_REVIEW, area_code=areas["county"].code)
    run = TaskRun.objects.get(task=TaskName.RISK_REVIEW)
    assert run.triggered_by == county_approver and run.area_code == areas["county"].code


def test_on_demand_run_is_refused_outside_the_users_scope_or_role(areas, county_approver, cadre):
    from accounts.errors import NotAllowed, ValidationError
    from monitoring.services.runs import run_request

    with pytest.raises(NotAllowed):
        run_request(actor=cadre, task=TaskName.RISK_REVIEW, area_code=areas["v11"].code)
    with pytest.raises(ValidationError):
        run_request(actor=county_approver, task="nope", area_code=areas["county"].code)
    with pytest.raises(ValidationError):
        run_request(actor=county_approver, task=TaskName.RISK_REVIEW, area_code="")
    with pytest.raises(ValidationError):
        run_request(actor=county_approver, task=TaskName.RISK_REVIEW, area_code="999999999999")
    from tests.accounts import factories as af

    other = af.area("130728000000", "怀安县", "county", areas["city"])
    with pytest.raises(NotAllowed):
        run_request(actor=county_approver, task=TaskName.RISK_REVIEW, area_code=other.code)


def test_run_task_command_runs_here_and_records_the_run(areas, capsys):
    from django.core.management import CommandError, call_command

    call_command("run_task", "risk_review", "--area", areas["county"].code, "--now", "2026-11-22T02:00")
    run = TaskRun.objects.get(task=TaskName.RISK_REVIEW)
    assert run.status == RunStatus.SUCCEEDED and run.as_of.isoformat().startswith("2026-11-21T18:00")
    assert '"status": "succeeded"' in capsys.readouterr().out
    with pytest.raises(CommandError, match="请选择县、乡镇或村"):
        call_command("run_task", "risk_review", "--area", "12")
    with pytest.raises(CommandError, match="ISO"):
        call_command("run_task", "deadline_watch", "--now", "yesterday")


def test_every_task_can_be_run_by_hand():
    """``manage.py run_task`` (the demo's setup, an operator's rehearsal) knows every task."""
    from monitoring.management.commands.run_task import SERVICES
    from monitoring.models import TaskName
    from monitoring.tasks import PLUGGED

    assert [t for t in TaskName.values if (SERVICES.get(t) or PLUGGED.get(t)) is None] == []
