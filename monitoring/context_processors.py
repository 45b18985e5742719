"""Template context for every page: the signed-in person's unread notification count (nav badge)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from accounts.models import Notification


def notifications(request) -> dict:
    """``unread_notifications``: one count query, run only when a template uses it (and 0 for
    anonymous visitors, without a query)."""
    user = getattr(request, "user", None)

    def count() -> int:
        if user is None or not user.is_authenticated:
            return 0
        return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()

    return {"unread_notifications": SimpleLazyObject(count)}
