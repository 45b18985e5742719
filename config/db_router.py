"""The read replica: heavy reads go to it, everything else to the primary.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database (a PostgreSQL streaming
replica of the primary) and this router. Reads go to the replica **only** inside
:func:`reading_from_replica` (a context manager and a decorator), which the read-only heavy
paths use: the ledger lists and counts, the dashboard, the export jobs' workbooks and the
risk review's candidate query. Everything else — every write, every read of a page that
writes, every read inside a transaction on the primary (a read after a write in the same
request sees it) — goes to the primary. Without a replica the context changes nothing, so the
same code runs on one database.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_reading = contextvars.ContextVar("reading_from_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextlib.contextmanager
def reading_from_replica():
    """Send this block's reads to the replica (when there is one and no transaction is open
    on the primary)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_reads(view):
    """Decorator form of :func:`reading_from_replica` for read-only views and tasks."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with reading_from_replica():
            return view(*args, **kwargs)

    return wrapped


def read_alias() -> str:
    """Where a read made now goes."""
    if not _reading.get() or not replica_configured():
        return "default"
    if connections["default"].in_atomic_block:
        return "default"  # inside a transaction on the primary: read what it wrote
    return REPLICA


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # a physical replica follows the primary's schema
