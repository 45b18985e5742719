"""A worker killed (SIGKILL) in the middle of the risk review: its run is taken over once the
lease runs out, and the clues are those of an uninterrupted review, none doubled, none lost.

The review covers two counties, one transaction each. The test holds the second county's
review lock, so the worker finishes (commits) the first county and then waits, with its run
record running and its heartbeat beating, when the whole process group is killed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
import uuid
from urllib.parse import urlparse

import psycopg
import pytest
from celery import Celery
from django.db.models import Count

from households.demo import generate_county
from monitoring.models import Clue, RunStatus, TaskRun
from monitoring.services.review import risk_review
from tests.transactional import reference_data, reference_data_afterwards  # noqa: F401
from tests.worker.workers import BROKER, MARKS, database_url, require_services, start_worker, stop_worker

FIRST, SECOND = "130727000000", "130728000000"
LEASE = 3  # seconds, for the workers (TASK_RUN_LEASE_SECONDS): a heartbeat every 0.75 s

pytestmark = MARKS


def wait_for(what, condition, *, seconds: float, log) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def system_clues(county: str):
    return Clue.objects.filter(channel="system", area_code__startswith=county[:6])


def forget_unacked(message_id: str) -> None:
    """Drop the killed worker's unacknowledged message from Redis, which would otherwise give
    it back to the (by then unused) queue after its visibility timeout."""
    import redis

    url = urlparse(BROKER)
    r = redis.Redis(host=url.hostname or "127.0.0.1", port=url.port or 6379, db=int(url.path.strip("/") or 0))
    for tag, raw in r.hgetall("unacked").items():
        try:
            headers = json.loads(raw)[0]["headers"]
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if headers.get("id") == message_id:
            r.hdel("unacked", tag)
            r.zrem("unacked_index", tag)


@pytest.fixture
def workers(tmp_path):
    started = []
    log = tmp_path / "workers.log"

    def start(queue):
        proc = start_worker(queue, log, TASK_RUN_LEASE_SECONDS=str(LEASE))
        started.append(proc)
        return proc

    try:
        yield start, log
    finally:
        for proc in started:
            stop_worker(proc)


def test_a_killed_review_is_taken_over_after_the_lease_and_no_clue_is_doubled_or_lost(
    reference_data,  # noqa: F811
    workers,
):
    require_services()
    start, log = workers
    generate_county(households=300, county_code=FIRST, history=False)
    generate_county(households=300, county_code=SECOND, history=False, seed=2)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    sender = Celery("fanpin-test", broker=BROKER)

    # the second county's review lock, held by another connection
    blocker = psycopg.connect(database_url())
    blocker.execute("SELECT 1 FROM accounts_area WHERE code = %s FOR UPDATE", [SECOND])
    try:
        first_worker = start(queue)
        sent = sender.send_task("monitoring.tasks.risk_review", kwargs={"area_code": ""}, queue=queue)
        wait_for("the first county's clues", lambda: system_clues(FIRST).exists(), seconds=60, log=log)
        run = TaskRun.objects.get(celery_id=sent.id)
        wait_for(
            "a heartbeat",
            lambda: TaskRun.objects.get(pk=run.pk).heartbeat_at > run.started_at,
            seconds=LEASE * 2,
            log=log,
        )
        first = system_clues(FIRST).count()
        assert not system_clues(SECOND).exists()

        os.killpg(first_worker.pid, signal.SIGKILL)  # the whole group (start_new_session)
        first_worker.wait(10)
        killed_at = time.monotonic()
    finally:
        blocker.rollback()
        blocker.close()

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.finished_at is None
    last_beat = run.heartbeat_at
    time.sleep(1.5)  # nobody beats any more
    run.refresh_from_db()
    assert run.heartbeat_at == last_beat and run.status == RunStatus.RUNNING
    forget_unacked(sent.id)

    # once the lease has run out the next run (a "run now", a schedule) takes over
    time.sleep(max(0.0, LEASE + 0.5 - (time.monotonic() - killed_at)))
    start(queue)
    again = sender.send_task("monitoring.tasks.risk_review", kwargs={"area_code": ""}, queue=queue)
    taker = wait_for(
        "the run that takes over",
        lambda: TaskRun.objects.filter(celery_id=again.id).exclude(status=RunStatus.RUNNING).first(),
        seconds=60,
        log=log,
    )
    taken_over_after = time.monotonic() - killed_at
    assert taker.status == RunStatus.SUCCEEDED, taker.error
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "没有心跳" in run.error
    assert run.finished_at == taker.started_at
    assert taker.started_at - last_beat >= dt.timedelta(seconds=LEASE)
    assert taken_over_after < 45

    # the taker raised the second county's clues and found the first county's already raised
    second = system_clues(SECOND).count()
    assert second > 0
    assert taker.counts["counties"] == 2 and taker.counts["households"] == 600
    assert taker.counts["clues"] == second
    assert taker.counts["already_raised"] == first
    # none doubled: one clue per household, rule and period
    assert not (
        Clue.objects.filter(channel="system")
        .values("household", "rule_code", "period")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    # none lost: an uninterrupted review now finds every clue it would raise already raised
    check = risk_review(area_code="", now=taker.as_of + dt.timedelta(minutes=1))
    assert check["clues"] == 0 and check["already_raised"] == first + second
    print(f"taken over {taken_over_after:.1f} s after the kill (lease {LEASE} s)")
