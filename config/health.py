"""Health and readiness for a load balancer (no sign-in, no session, no redirect).

``GET /healthz``: the process answers (liveness) — 200 ``ok``.
``GET /readyz``: what a request needs answers — the primary database (and the read replica
when one is configured), the cache, and the Celery broker when tasks go to one — 200 with
each check, or 503 naming what failed. A load balancer takes an app host out of rotation on
503 and puts it back when it answers 200 again.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = "readyz:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not keep a value")


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def checks() -> dict:
    """{name: callable} of what this deployment depends on."""
    found = {"database": lambda: _database("default"), "cache": _cache}
    if "replica" in settings.DATABASES:
        found["replica"] = lambda: _database("replica")
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        found["broker"] = _broker
    return found


@never_cache
@require_GET
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def readyz(request):
    results, ready = {}, True
    for name, check in checks().items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure of a dependency is "not ready", never a 500
            ready = False
            results[name] = {"ok": False, "error": type(exc).__name__}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return JsonResponse({"ready": ready, "checks": results}, status=200 if ready else 503)
