"""The security log: one function writes an event, and receivers record sign-ins, sign-outs,
failed sign-ins and lockouts as they happen."""

from __future__ import annotations

import logging

from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import SecurityEvent, SecurityEventKind

log = logging.getLogger(__name__)


def request_ip(request) -> str | None:
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def security_event(
    kind: str, *, request=None, user=None, username: str = "", **detail
) -> SecurityEvent | None:
    """Record ``kind`` (a ``SecurityEventKind``) for ``user`` (or the ``username`` typed).
    Never raises: a failure to log is itself logged, and the action goes on."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    name = username or (user.get_username() if user is not None else "")
    try:
        return SecurityEvent.objects.create(
            kind=kind,
            user=user,
            username=str(name)[:150].replace("\x00", ""),
            ip=request_ip(request),
            detail={k: v for k, v in detail.items() if v is not None},
        )
    except Exception:  # noqa: BLE001 - the log must never break sign-in or an export
        log.exception("could not write the security event %s", kind)
        return None


@receiver(user_logged_in, dispatch_uid="security_login")
def _logged_in(sender, request, user, **kwargs):
    security_event(SecurityEventKind.LOGIN, request=request, user=user)


@receiver(user_logged_out, dispatch_uid="security_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        security_event(SecurityEventKind.LOGOUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    security_event(
        SecurityEventKind.LOGIN_FAILED, request=request, username=(credentials or {}).get("username", "")
    )


def _locked_out(sender, request, username, ip_address, **kwargs):
    security_event(SecurityEventKind.LOCKED_OUT, request=request, username=username or "")


def connect_axes() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="security_locked_out")
