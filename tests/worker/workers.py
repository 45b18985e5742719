"""Starting a real Celery worker against Redis for the tests in this package.

Needs PostgreSQL (the worker is another process and must see the test database) and Redis at
``CELERY_TEST_BROKER`` (default ``redis://127.0.0.1:6379/15``). The tests are skipped where
either is missing, except under ``CI=true``, where a missing Redis fails the run (CI starts it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection

BROKER = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]

#: the marks of a module that starts workers
MARKS = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker process needs a shared database: run on PostgreSQL (DATABASE_URL)",
    ),
    # committed data the worker can see; the reference data comes back afterwards
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def redis_up() -> bool:
    url = urlparse(BROKER)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_services() -> None:
    if not redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {BROKER}; CI must start it")
        pytest.skip(f"Redis is not reachable at {BROKER}")


def database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def start_worker(queue: str, log: Path, **env: str) -> subprocess.Popen:
    """A solo-pool worker consuming only ``queue`` (no other worker or test run takes its
    messages), in a process group of its own, writing to ``log``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "NOTIFICATION_EMAIL": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    with log.open("a") as out:
        return subprocess.Popen(
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
                f"{queue}-{os.urandom(3).hex()}@%h",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
