"""Notifications: stored once per person and subject (``key``), emailed after commit.

The periodic tasks call :func:`notify` with everything they find on every run; a notification
whose (recipient, key) already exists is left alone, so a rerun adds nothing. Emails go out
from a queued task after the transaction commits (never for a rolled-back run); each
notification records when it was emailed, so a retried send does not repeat it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext

from .models import Notification, Role, User
from .texts import render_text

CHUNK = 2000
EMAIL_WITHIN = dt.timedelta(days=2)  # older unsent notifications are not emailed any more


@dataclass(frozen=True)
class Message:
    """What to tell, about what (``key``), to whom.

    ``title`` and ``body`` are plain text or, better, a stored text (``accounts.texts.text``):
    then each reader sees it in their language, and ``title``/``body`` keep it in the site's.
    """

    key: str
    kind: str
    title: str | dict
    body: str | dict = ""
    url: str = ""
    area_code: str = ""

    def row(self) -> tuple[str, str, dict]:
        """(title, body, texts) to store: the texts rendered in the site's language."""
        texts = {name: v for name, v in (("title", self.title), ("body", self.body)) if isinstance(v, dict)}
        with translation.override(settings.LANGUAGE_CODE):
            title = render_text(self.title) if isinstance(self.title, dict) else self.title
            body = render_text(self.body) if isinstance(self.body, dict) else self.body
        return str(title), str(body), texts


def users_at(role: str, codes: Iterable[str]) -> dict[str, list[int]]:
    """Active users of ``role`` by the area code they work in (one query)."""
    codes = sorted(set(codes))
    out: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(codes), CHUNK):
        rows = (
            User.objects.filter(is_active=True, role=role, areas__code__in=codes[start : start + CHUNK])
            .values_list("areas__code", "id")
            .distinct()
        )
        for code, user_id in rows:
            out[code].append(user_id)
    return out


def notify(pairs: Iterable[tuple[int, Message]], *, now: dt.datetime) -> int:
    """Store a notification for each (recipient id, message) not yet sent; returns how many
    were new. Emails are queued after commit."""
    wanted: dict[tuple[int, str], Message] = {}
    for user_id, msg in pairs:
        wanted.setdefault((user_id, msg.key), msg)
    if not wanted:
        return 0
    keys = sorted({k for _, k in wanted})
    existing: set[tuple[int, str]] = set()
    for start in range(0, len(keys), CHUNK):
        existing.update(
            Notification.objects.filter(key__in=keys[start : start + CHUNK]).values_list(
                "recipient_id", "key"
            )
        )
    rendered: dict[int, tuple[str, str, dict]] = {}
    new = []
    for (user_id, key), msg in wanted.items():
        if (user_id, key) in existing:
            continue
        if id(msg) not in rendered:
            rendered[id(msg)] = msg.row()
        title, body, texts = rendered[id(msg)]
        new.append((user_id, key, msg.kind, title[:200], body, msg.url[:200], msg.area_code, texts))
    for start in range(0, len(new), CHUNK):
        _insert(new[start : start + CHUNK], now)
    if new and settings.NOTIFICATION_EMAIL:
        transaction.on_commit(_queue_email)
    return len(new)


COLUMNS = ("recipient_id", "key", "kind", "title", "body", "url", "area_code", "texts")


def _insert(rows: list[tuple], now: dt.datetime) -> None:
    """Insert notification rows as plain tuples (building model instances for tens of
    thousands of rows costs more than the insert); a row whose (recipient, key) exists
    meanwhile is skipped."""
    table = Notification._meta.db_table
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cols = [list(col) for col in zip(*rows, strict=True)]
            cols[-1] = [json.dumps(t, ensure_ascii=False) for t in cols[-1]]
            cursor.execute(
                f"INSERT INTO {table} ({columns}, created_at) "
                "SELECT c0, c1, c2, c3, c4, c5, c6, c7::jsonb, %s FROM unnest(%s::bigint[], %s::text[], "
                "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) "
                "AS u(c0, c1, c2, c3, c4, c5, c6, c7) ON CONFLICT (recipient_id, key) DO NOTHING",
                [now, *cols],
            )
        else:
            Notification.objects.bulk_create(
                [Notification(**dict(zip(COLUMNS, row, strict=True)), created_at=now) for row in rows],
                ignore_conflicts=True,
            )


#: The Celery task that sends the emails (``accounts.tasks``), queued by name: the tasks
#: module wraps this one, so this one does not import it.
EMAIL_TASK = "accounts.tasks.notifications_email"


def _queue_email() -> None:
    current_app.tasks[EMAIL_TASK].delay()


def notifications_email(*, now: dt.datetime | None = None) -> int:
    """Email each recipient with an address a digest of their unsent notifications; returns
    how many people were emailed. Rows are claimed under lock, so two senders never both
    send the same one."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True, created_at__gte=now - EMAIL_WITHIN)
            .exclude(Q(recipient__email="") | Q(recipient__is_active=False))
            .select_related("recipient")
            .order_by("recipient_id", "created_at", "id")
        )
        by_user: dict[int, list[Notification]] = defaultdict(list)
        for n in rows:
            by_user[n.recipient_id].append(n)
        connection = get_connection()
        with translation.override(settings.LANGUAGE_CODE):
            for items in by_user.values():
                user = items[0].recipient
                lines = [
                    f"· {n.display_title}" + (f"\n  {n.display_body}" if n.display_body else "")
                    for n in items
                ]
                subject = ngettext(
                    "【防返贫监测】您有%(n)s条新提醒", "【防返贫监测】您有%(n)s条新提醒", len(items)
                ) % {"n": len(items)}
                send_mail(
                    subject,
                    "\n".join(lines),
                    settings.DEFAULT_FROM_EMAIL,
                    [user.email],
                    connection=connection,
                )
                sent += 1
        Notification.objects.filter(pk__in=[n.pk for n in rows]).update(emailed_at=now)
    return sent


def notification_read(*, user, ids: Iterable[int] | None = None, now: dt.datetime | None = None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None)."""
    now = now or timezone.now()
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=now)


#: Who acts at an area level when a deadline is escalated to it.
LEVEL_ROLE = {
    "village": Role.VILLAGE_CADRE,
    "township": Role.TOWNSHIP_REVIEWER,
    "county": Role.COUNTY_APPROVER,
}
