"""A real Celery worker, against Redis, runs the risk review; the test reads the database.

Needs PostgreSQL (the worker is another process and must see the test database) and Redis at
``CELERY_TEST_BROKER`` (default ``redis://127.0.0.1:6379/15``). Skipped where either is
missing, except under ``CI=true``, where a missing Redis fails the run (CI starts it).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from celery import Celery
from django.db import connection

from households.demo import generate_county
from monitoring.models import Clue, RunStatus, TaskRun
from monitoring.services.review import risk_review
from tests.transactional import reference_data, reference_data_afterwards  # noqa: F401

BROKER = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
COUNTY = "130727000000"


def _redis_up() -> bool:
    url = urlparse(BROKER)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker process needs a shared database: run on PostgreSQL (DATABASE_URL)",
    ),
    # committed data the worker can see; the reference data comes back afterwards
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _require_services():
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {BROKER}; CI must start it")
        pytest.skip(f"Redis is not reachable at {BROKER}")


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A worker process on its own queue (no other worker or test run takes its messages)."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "NOTIFICATION_EMAIL": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield queue, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_worker_runs_the_risk_review_and_the_database_has_the_result(reference_data, worker):  # noqa: F811
    _require_services()
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
