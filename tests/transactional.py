"""Shared helpers for tests that need real transactions (live server, two connections)."""

from __future__ import annotations

import threading
import time

import pytest
from django.apps import apps
from django.db import connections, transaction

HOLD = 0.6  # seconds the first transaction stays open after its work


def restore_reference_data() -> None:
    """A transactional test ends by emptying every table, the seeded reference data (risk
    types, procedures, thresholds, catalogue) with them: put the defaults back."""
    from django.db import connection

    from monitoring import defaults
    from monitoring.models import ProcedureDefinition

    if ProcedureDefinition.objects.exists():
        return
    # The serialized copy keeps the original primary keys, so a later ``serialized_rollback``
    # test (which loads the same copy) updates these rows instead of colliding with new ones.
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        # A plain transactional test's flush re-creates the content types and permissions
        # (post_migrate) under new keys; the copy brings back the originals, so clear those
        # first or their natural keys collide.
        from django.contrib.auth.models import Permission
        from django.contrib.contenttypes.models import ContentType

        with transaction.atomic():
            Permission.objects.all().delete()
            ContentType.objects.all().delete()
        ContentType.objects.clear_cache()
        connection.creation.deserialize_db_from_string(contents)
        ContentType.objects.clear_cache()
    else:
        defaults.load(apps)
        defaults.mark_point_to_point(apps)
        defaults.load_review_rules(apps)
        defaults.load_schedules(apps)
        defaults.load_english_names(apps)
        defaults.load_scoring_model(apps)


@pytest.fixture(scope="module", autouse=True)
def reference_data_afterwards(django_db_blocker):
    """Module fixture (autouse where imported): put the reference data back for whatever runs
    after the module."""
    yield
    with django_db_blocker.unblock():
        restore_reference_data()


def race(first, second, *, hold: float = HOLD) -> dict:
    """Run ``first`` in a thread that holds its transaction open for ``hold`` seconds after it
    is done, and ``second`` in another thread started once ``first`` has done its work.
    Returns ``{"first": result or exception, "second": ..., "waited": seconds second took}``."""
    done = threading.Event()
    out: dict = {}

    def run_first():
        try:
            with transaction.atomic():
                out["first"] = first()
                done.set()
                time.sleep(hold)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["first"] = exc
        finally:
            done.set()
            connections.close_all()

    def run_second():
        done.wait(10)
        started = time.monotonic()
        try:
            out["second"] = second()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["second"] = exc
        finally:
            out["waited"] = time.monotonic() - started
            connections.close_all()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return out


@pytest.fixture
def reference_data(transactional_db):
    """The seeded reference data, present at the start of a transactional test whatever ran
    before it in this worker (``serialized_rollback`` restores it only when the database was
    serialized at creation)."""
    restore_reference_data()
