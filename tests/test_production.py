"""Production pieces: health and readiness for a load balancer, request ids in the logs, the
read replica's router (which read goes where)."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import transaction

from config import db_router, health, request_id


def test_healthz_and_readyz(client, db):
    assert client.get("/healthz").content == b"ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert ready["Cache-Control"].startswith("max-age=0")


def test_readyz_names_what_is_down(client, db, monkeypatch):
    def down():
        raise ConnectionError("no route")

    monkeypatch.setattr(health, "checks", lambda: {"database": down, "cache": lambda: None})
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == {"ok": False, "error": "ConnectionError"}


def test_probes_are_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_a_request_id_is_given_kept_and_answered(client, db):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21")["X-Request-ID"] == "lb-7f3a9c21"
    # a header that is not a short token is replaced, never echoed
    assert client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"] != "<script>"


def test_log_lines_carry_the_request_id_and_json_masks_id_numbers(rf):
    seen = {}

    def view(request):
        record = logging.LogRecord("x", logging.WARNING, __file__, 1, "id 130727199001010012 seen", None, None)
        request_id.RequestIdFilter().filter(record)
        from accounts.logging import MaskIdNumbers

        MaskIdNumbers().filter(record)
        seen["line"] = request_id.JsonFormatter().format(record)
        from django.http import HttpResponse

        return HttpResponse()

    request_id.RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-12345678"))
    line = json.loads(seen["line"])
    assert line["request_id"] == "req-12345678" and line["level"] == "WARNING"
    assert "130727********0012" in line["message"] and "199001010" not in line["message"]
    assert request_id.current.get() == "-"  # outside the request again


def test_the_router_sends_only_the_marked_reads_to_the_replica(monkeypatch):
    router = db_router.PrimaryReplicaRouter()
    assert router.db_for_read(None) == "default"  # no replica configured here
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    assert router.db_for_read(None) == "default"  # not a marked read
    with db_router.reading_from_replica():
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) == "default"
    assert router.db_for_read(None) == "default"
    assert router.allow_migrate("replica", "households") is False
    assert router.allow_migrate("default", "households") is True


def test_a_read_after_a_write_in_a_transaction_stays_on_the_primary(db, monkeypatch):
    """(The test itself runs inside a transaction on the primary, as a request that wrote does.)"""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    with db_router.reading_from_replica(), transaction.atomic():
        assert db_router.read_alias() == "default"


@pytest.mark.parametrize(
    "url",
    ["/reports/", "/reports/ledgers/key_monitoring/", "/dashboard/", "/api/v1/ledgers/key_monitoring/"],
)
def test_ledger_pages_the_dashboard_and_the_ledger_api_read_through_the_replica(
    url, client, county_approver, household, monkeypatch
):
    marked = []
    original = db_router.PrimaryReplicaRouter.db_for_read

    def spy(self, model, **hints):
        marked.append((model._meta.label, db_router._reading.get()))
        return original(self, model, **hints)

    monkeypatch.setattr(db_router.PrimaryReplicaRouter, "db_for_read", spy)
    client.force_login(county_approver)
    assert client.get(url).status_code == 200
    assert any(flag for _label, flag in marked), marked
    # signing in (the session and the user) is read from the primary
    assert not any(flag for label, flag in marked if label in ("sessions.Session", "accounts.User"))


def test_tasks_are_routed_by_kind_of_work():
    from config.celery import app

    route = app.amqp.router.route
    queue = lambda name: route({}, name)["queue"].name  # noqa: E731
    assert queue("monitoring.tasks.risk_review") == "periodic"
    assert queue("reports.tasks.dashboard_figures") == "periodic"
    assert queue("reports.write_export") == "bulk" and queue("households.run_import") == "bulk"
    assert queue("accounts.tasks.notifications_email") == "email"
    assert queue("monitoring.something_a_person_waits_for") == "interactive"
    assert app.conf.task_acks_late and app.conf.worker_prefetch_multiplier == 1
