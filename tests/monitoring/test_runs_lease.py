"""A running run record is a lease kept by a heartbeat: a dead run is taken over, a live one
blocks, a finished one never blocks."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from celery.exceptions import Retry
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from monitoring import tasks
from monitoring.models import RunStatus, TaskName, TaskRun
from monitoring.services import runs
from monitoring.services.runs import task_run
from tests.transactional import reference_data_afterwards  # noqa: F401 (autouse: reference data back afterwards)

COUNTY = "130727000000"
LEASE = dt.timedelta(seconds=120)
REASON = "已中断：自%(since)s起没有心跳（进程可能已被终止），由新的运行接管。"


def running(*, heartbeat: dt.timedelta | None, started: dt.timedelta | None = None, **kw) -> TaskRun:
    """A running row whose heartbeat (and start) lie that long in the past."""
    now = timezone.now()
    return TaskRun.objects.create(
        task=kw.pop("task", TaskName.RISK_REVIEW),
        area_code=kw.pop("area_code", COUNTY),
        status=kw.pop("status", RunStatus.RUNNING),
        started_at=now - (started or heartbeat or dt.timedelta(0)),
        heartbeat_at=None if heartbeat is None else now - heartbeat,
        as_of=now,
        **kw,
    )


class Work:
    def __init__(self, result=None, sleep: float = 0):
        self.calls = 0
        self.result = result if result is not None else {"done": 1}
        self.sleep = sleep

    def __call__(self, *, now, area_code):
        self.calls += 1
        time.sleep(self.sleep)
        return self.result


@pytest.fixture(autouse=True)
def lease_of_two_minutes(settings):
    settings.TASK_RUN_LEASE_SECONDS = 120


@pytest.mark.django_db
class TestTheLease:
    def test_a_fresh_heartbeat_blocks(self):
        live = running(heartbeat=LEASE - dt.timedelta(seconds=10), started=dt.timedelta(hours=1))
        work = Work()
        run = task_run(TaskName.RISK_REVIEW, work, area_code=COUNTY)
        assert run.status == RunStatus.SKIPPED and work.calls == 0
        live.refresh_from_db()
        assert live.status == RunStatus.RUNNING and live.error == ""

    def test_a_stale_heartbeat_is_taken_over(self):
        dead = running(heartbeat=LEASE + dt.timedelta(seconds=5), started=dt.timedelta(minutes=40))
        work = Work({"clues": 3})
        run = task_run(TaskName.RISK_REVIEW, work, area_code=COUNTY)
        assert work.calls == 1
        assert run.status == RunStatus.SUCCEEDED and run.counts == {"clues": 3}
        dead.refresh_from_db()
        assert dead.status == RunStatus.FAILED
        since = timezone.localtime(dead.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S")
        assert dead.error == REASON % {"since": since}
        assert dead.finished_at == run.started_at
        assert dead.counts == {}
        # one running row at most, and now none
        assert not TaskRun.objects.filter(status=RunStatus.RUNNING).exists()

    def test_the_reason_is_translated(self):
        with translation.override("en"):
            english = gettext(REASON) % {"since": "2026-12-04 03:00:00"}
        assert english.startswith("abandoned: no heartbeat since 2026-12-04 03:00:00")

    def test_a_row_without_a_heartbeat_counts_from_its_start(self):
        old = running(heartbeat=None, started=LEASE + dt.timedelta(seconds=1))
        young = running(heartbeat=None, started=dt.timedelta(seconds=30), area_code="130727100000")
        assert task_run(TaskName.RISK_REVIEW, Work(), area_code=COUNTY).status == RunStatus.SUCCEEDED
        assert task_run(TaskName.RISK_REVIEW, Work(), area_code="130727100000").status == RunStatus.SKIPPED
        old.refresh_from_db()
        young.refresh_from_db()
        assert old.status == RunStatus.FAILED and young.status == RunStatus.RUNNING

    def test_a_run_hung_for_six_hours_is_taken_over_despite_its_heartbeat(self):
        hung = running(heartbeat=dt.timedelta(seconds=5), started=dt.timedelta(hours=6, minutes=1))
        assert task_run(TaskName.RISK_REVIEW, Work(), area_code=COUNTY).status == RunStatus.SUCCEEDED
        hung.refresh_from_db()
        assert hung.status == RunStatus.FAILED and "没有心跳" in hung.error

    @pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED])
    def test_a_finished_run_never_blocks_and_is_left_alone(self, status):
        for age in (dt.timedelta(seconds=1), dt.timedelta(days=2)):
            running(heartbeat=age, status=status, error="as it was")
        run = task_run(TaskName.RISK_REVIEW, Work(), area_code=COUNTY)
        assert run.status == RunStatus.SUCCEEDED
        assert set(TaskRun.objects.exclude(pk=run.pk).values_list("status", "error")) == {
            (status, "as it was")
        }

    def test_only_the_same_task_and_area_is_taken_over(self):
        other_area = running(heartbeat=dt.timedelta(hours=1), area_code="130727100000")
        other_task = running(heartbeat=dt.timedelta(hours=1), task=TaskName.VISIT_WATCH)
        assert task_run(TaskName.RISK_REVIEW, Work(), area_code=COUNTY).status == RunStatus.SUCCEEDED
        for row in (other_area, other_task):
            row.refresh_from_db()
            assert row.status == RunStatus.RUNNING

    def test_a_new_run_starts_with_its_heartbeat(self):
        seen = {}

        def work(*, now, area_code):
            seen["row"] = TaskRun.objects.get(status=RunStatus.RUNNING)
            return {}

        task_run(TaskName.VISIT_WATCH, work)
        assert seen["row"].heartbeat_at == seen["row"].started_at

    def test_a_run_taken_over_while_it_worked_stays_failed(self):
        def work(*, now, area_code):
            TaskRun.objects.filter(status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED, error="taken over"
            )
            return {"clues": 2}

        run = task_run(TaskName.RISK_REVIEW, work, area_code=COUNTY)
        assert run.status == RunStatus.FAILED and run.error == "taken over"
        row = TaskRun.objects.get(pk=run.pk)
        assert row.status == RunStatus.FAILED and row.error == "taken over"


def heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("taskrun-heartbeat-")]


@pytest.mark.django_db(transaction=True)
@override_settings(TASK_RUN_LEASE_SECONDS=1)
def test_the_heartbeat_keeps_the_row_fresh_while_the_work_runs_and_stops_after():
    beats = []

    def work(*, now, area_code):
        (row,) = TaskRun.objects.filter(status=RunStatus.RUNNING)
        for _ in range(8):
            time.sleep(0.25)
            beats.append(TaskRun.objects.get(pk=row.pk).heartbeat_at)
        assert len(heartbeat_threads()) == 1
        # two seconds of work with a one-second lease: another run is still refused
        assert task_run(TaskName.VISIT_WATCH, Work()).status == RunStatus.SKIPPED
        return {"slept": 2}

    run = task_run(TaskName.VISIT_WATCH, work)
    assert run.status == RunStatus.SUCCEEDED
    assert len(set(beats)) >= 4, beats  # stamped about every quarter of a second
    assert beats == sorted(beats)
    assert timezone.now() - beats[-1] < dt.timedelta(seconds=1)
    assert not heartbeat_threads()
    last = TaskRun.objects.get(pk=run.pk).heartbeat_at
    time.sleep(0.6)
    assert TaskRun.objects.get(pk=run.pk).heartbeat_at == last


@pytest.mark.django_db(transaction=True)
@override_settings(TASK_RUN_LEASE_SECONDS=1)
def test_the_heartbeat_stops_when_the_work_fails():
    def work(*, now, area_code):
        time.sleep(0.6)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        task_run(TaskName.VISIT_WATCH, work)
    assert not heartbeat_threads()
    assert TaskRun.objects.get().status == RunStatus.FAILED


@pytest.mark.django_db
def test_inside_a_transaction_no_heartbeat_is_started():
    seen = {}

    def work(*, now, area_code):
        seen["threads"] = heartbeat_threads()
        return {}

    task_run(TaskName.VISIT_WATCH, work)
    assert seen["threads"] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections taking over at once")
@pytest.mark.django_db(transaction=True)
def test_two_takers_at_once_one_runs_and_the_other_is_skipped():
    dead = running(heartbeat=dt.timedelta(minutes=10))
    barrier = threading.Barrier(2)
    statuses = []

    def take():
        try:
            barrier.wait()
            statuses.append(task_run(TaskName.RISK_REVIEW, Work(sleep=0.5), area_code=COUNTY).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert TaskRun.objects.filter(status=RunStatus.FAILED).count() == 1


# --- the Celery task: a message delivered again ------------------------------------------------


@pytest.mark.django_db
def test_a_message_delivered_again_after_its_run_finished_answers_that_run(areas):
    first = tasks.visit_watch.apply(task_id="m-1").get()
    again = tasks.visit_watch.apply(task_id="m-1").get()
    assert again == first
    assert TaskRun.objects.count() == 1


@pytest.mark.django_db
def test_a_message_delivered_again_while_its_dead_run_holds_the_lease_retries_after_the_lease(areas):
    running(heartbeat=dt.timedelta(seconds=20), task=TaskName.VISIT_WATCH, area_code="", celery_id="m-2")
    with pytest.raises(Retry) as retry:
        tasks.visit_watch.apply(task_id="m-2")
    assert retry.value.when == runs.lease().total_seconds() + 5
    # its retries spent, it answers skipped like any other run that finds the lease held
    last = tasks.visit_watch.apply(task_id="m-2", retries=tasks.visit_watch.max_retries).get()
    assert last["status"] == RunStatus.SKIPPED


@pytest.mark.django_db
def test_another_message_blocked_by_a_live_run_is_skipped_at_once(areas):
    running(heartbeat=dt.timedelta(seconds=20), task=TaskName.VISIT_WATCH, area_code="", celery_id="m-3")
    assert tasks.visit_watch.apply(task_id="m-4").get()["status"] == RunStatus.SKIPPED
