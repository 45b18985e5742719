"""The department API under gunicorn with production settings, as deployed: the same alert
batch from five clients at once is stored once, and a web worker killed (SIGKILL) in the middle
of a batch leaves nothing half-written: the client's request fails, the master starts a new
worker, and the retried batch stores every alert exactly once.

PostgreSQL only (the server is another process and must see the test database).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import Department
from accounts.services import api_key_issue
from households import idnumber
from monitoring.models import Clue
from tests.accounts import factories as af
from tests.transactional import reference_data, reference_data_afterwards  # noqa: F401
from tests.worker.workers import MARKS, ROOT, database_url

pytestmark = [*MARKS, pytest.mark.usefixtures("reference_data")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: bytes | None = None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            method,
            path,
            body=body,
            headers={"Host": "127.0.0.1", "X-Forwarded-Proto": "https", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """The static files collected as a deploy does (production serves their hashed names from
    the manifest: without it every page, the sign-in page too, answers 500)."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, **PRODUCTION, "DJANGO_STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    return root


#: production settings, as deployed behind a TLS-terminating proxy
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_ENV": "production",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
}


@pytest.fixture
def gunicorn(tmp_path, static_root):
    """``start(workers) -> (process, port)``: gunicorn with production settings on the test
    database; stopped (the whole process group) afterwards."""
    started: list[subprocess.Popen] = []

    def start(workers: int = 2):
        port = _free_port()
        env = {
            **os.environ,
            **PRODUCTION,
            "DATABASE_URL": database_url(),
            "DJANGO_STATIC_ROOT": str(static_root),
            "CELERY_BROKER_URL": "",
            "NOTIFICATION_EMAIL": "false",
            "DB_CONN_MAX_AGE": "0",
        }
        log = (tmp_path / f"gunicorn-{port}.log").open("a")
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(workers)]
            + ["--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "info"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _request(port, "GET", "/accounts/login/", timeout=5)[0] == 200:
                    return process, port
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer: " + Path(log.name).read_text()[-2000:])

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _workers_of(master: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def _batch(tag: str, n: int) -> bytes:
    today = timezone.localdate()
    items = [
        {
            "external_id": f"{tag}-{i}",
            "id_number": idnumber.make("130727", dt.date(1960, 1, 1) + dt.timedelta(days=i * 7), i % 1000),
            "name": "张三",
            "risk_type": "01",
            "found_date": today.isoformat(),
            "description": "住院自付费用较高",
            "amount": "23000.00",
        }
        for i in range(n)
    ]
    return json.dumps(items).encode()


@pytest.fixture
def key(db):
    areas = af.county_tree()
    medical = Department.objects.get(code="medical_insurance")
    _key, raw = api_key_issue(
        actor=None,
        department=medical,
        name="医保局测试",
        scopes=["alerts:write", "alerts:read"],
        county=areas["county"],
    )
    return medical, {"Authorization": f"Api-Key {raw}", "Content-Type": "application/json"}


def _stored(department, tag: str) -> dict[str, int]:
    rows = (
        Clue.objects.filter(department=department, external_id__startswith=f"{tag}-")
        .values("external_id")
        .annotate(n=Count("pk"))
    )
    return {row["external_id"]: row["n"] for row in rows}


def test_the_same_batch_from_five_clients_at_once_is_stored_once(gunicorn, key):
    department, headers = key
    _process, port = gunicorn(workers=3)
    body = _batch("five", 200)
    barrier = threading.Barrier(5)
    answers: list = []

    def send():
        barrier.wait()
        try:
            answers.append(_request(port, "POST", "/api/v1/alerts/", body, headers))
        except OSError as exc:  # pragma: no cover - reported by the assertion below
            answers.append((None, repr(exc).encode()))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = sorted(status for status, _ in answers)
    assert all(status in (200, 201) for status in statuses), answers
    summaries = [json.loads(content) for _, content in answers]
    # every item was answered created once, and existing to the other four
    assert sum(s["created"] for s in summaries) == 200, summaries
    assert sum(s["existing"] for s in summaries) == 4 * 200, summaries
    stored = _stored(department, "five")
    assert len(stored) == 200 and set(stored.values()) == {1}


def _in_transaction(dbname: str) -> list[int]:
    """Server processes of other connections to the test database inside a transaction."""
    with psycopg.connect(database_url().replace(f"/{dbname}", "/postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND query NOT ILIKE '%%pg_stat_activity%%'",
            (dbname,),
        ).fetchall()
    return [pid for (pid,) in rows]


def test_a_web_worker_killed_mid_batch_writes_nothing_and_the_retry_stores_each_alert_once(
    gunicorn, key, django_db_blocker
):
    from django.db import connection

    department, headers = key
    master, port = gunicorn(workers=1)
    dbname = connection.settings_dict["NAME"]
    body = _batch("killed", 1000)
    outcome: dict = {}

    def send():
        try:
            outcome["answer"] = _request(port, "POST", "/api/v1/alerts/", body, headers)
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc

    before = set(_in_transaction(dbname))
    sender = threading.Thread(target=send)
    sender.start()
    # wait until the worker is inside the batch's transaction, then kill it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (set(_in_transaction(dbname)) - before):
        time.sleep(0.01)
    assert set(_in_transaction(dbname)) - before, "the batch never opened its transaction"
    victims = _workers_of(master)
    assert victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    sender.join(60)

    # the request failed cleanly: the connection closed with no answer (no half answer)
    assert "error" in outcome, outcome.get("answer")
    # the server's transaction was rolled back: nothing of the batch is stored
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(_in_transaction(dbname)) - before:
        time.sleep(0.1)
    assert _stored(department, "killed") == {}

    # the master has started a new worker; the retried batch is stored once, and again is all existing
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not _workers_of(master) or _workers_of(master) == victims):
        time.sleep(0.1)
    status, content = _request(port, "POST", "/api/v1/alerts/", body, headers)
    assert status in (200, 201), content[:500]
    assert json.loads(content)["created"] == 1000
    status, content = _request(port, "POST", "/api/v1/alerts/", body, headers)
    assert json.loads(content)["existing"] == 1000
    stored = _stored(department, "killed")
    assert len(stored) == 1000 and set(stored.values()) == {1}
