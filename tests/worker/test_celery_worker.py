"""A real Celery worker, against Redis, runs the risk review; the test reads the database.

Needs PostgreSQL (the worker is another process and must see the test database) and Redis at
``CELERY_TEST_BROKER`` (default ``redis://127.0.0.1:6379/15``). Skipped where either is
missing, except under ``CI=true``, where a missing Redis fails the run (CI starts it).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from celery import Celery

from households.demo import generate_county
from monitoring.models import Clue, RunStatus, TaskRun
from monitoring.services.review import risk_review
from tests.transactional import reference_data, reference_data_afterwards  # noqa: F401
from tests.worker.workers import BROKER, MARKS, require_services, start_worker, stop_worker

COUNTY = "130727000000"

pytestmark = MARKS


@pytest.fixture
def worker(tmp_path):
    """A worker process on its own queue."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    proc = start_worker(queue, log)
    try:
        yield queue, proc, log
    finally:
        stop_worker(proc)


def test_worker_runs_the_risk_review_and_the_database_has_the_result(reference_data, worker):  # noqa: F811
    require_services()
    queue, proc, log = worker
    generate_county(households=300, county_code=COUNTY, history=False)
    assert not Clue.objects.exists()

    sender = Celery("fanpin-test", broker=BROKER)
    sent = sender.send_task("monitoring.tasks.risk_review", kwargs={"area_code": COUNTY}, queue=queue)

    deadline = time.monotonic() + 90
    run = None
    while time.monotonic() < deadline:
        run = TaskRun.objects.filter(celery_id=sent.id).exclude(status=RunStatus.RUNNING).first()
        if run is not None or proc.poll() is not None:
            break
        time.sleep(0.5)
    assert run is not None, f"the worker did not finish the task:\n{log.read_text()[-3000:]}"
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.task == "risk_review" and run.area_code == COUNTY
    assert run.counts["households"] == 300
    system = Clue.objects.filter(channel="system", area_code__startswith=COUNTY[:6])
    assert run.counts["clues"] == system.count() > 0
    assert sum(run.counts["by_rule"].values()) == run.counts["clues"]
    assert run.finished_at >= run.started_at

    # the worker's clues are the ones this process would have raised: a second review here finds
    # every one of them already raised and adds nothing
    again = risk_review(area_code=COUNTY, now=run.as_of + dt.timedelta(minutes=1))
    assert again["clues"] == 0
    assert again["already_raised"] == run.counts["clues"]
