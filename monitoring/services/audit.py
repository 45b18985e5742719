"""The append-only status-change log and the shared checks every service makes."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed
from monitoring.models import StatusChange


def record_change(
    *,
    obj,
    object_type: str,
    action: str,
    from_status: str,
    to_status: str,
    actor,
    reason: str = "",
    case=None,
    data: dict | None = None,
    at: dt.datetime | None = None,
) -> StatusChange:
    """Append one row: who, when, from, to, why. Call inside the service's transaction."""
    return StatusChange.objects.create(
        object_type=object_type,
        object_id=obj.pk,
        case=case,
        action=action,
        from_status=from_status or "",
        to_status=to_status or "",
        actor=actor if (actor is not None and actor.pk) else None,
        at=at or timezone.now(),
        reason=reason or "",
        data=data or {},
    )


def require_role(actor, *roles: str) -> None:
    """Refuse unless the actor has one of the roles (superusers pass; ``None`` = the system)."""
    if actor is None:
        return
    if not actor.has_role(*roles):
        raise NotAllowed(_("您的角色不能办理此事项。"))


def require_area(actor, area_code: str) -> None:
    if actor is None:
        return
    if not area_code or not actor.covers(area_code):
        raise NotAllowed(_("该农户不在您的工作区域内。"))


def require_reason(reason: str, field: str = "reason") -> str:
    from accounts.errors import ValidationError

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: _("请填写原因。")})
    return reason


def require_household(actor, household) -> None:
    """Inside the actor's area, or (for a helper) one of the households assigned to them."""
    if actor is None:
        return
    if actor.role == "helper" and not actor.is_superuser:
        from households.models import HelperAssignment

        if HelperAssignment.objects.active().filter(helper__user=actor, household=household).exists():
            return
    require_area(actor, household.area_code)


def apply_transition(
    obj, table, action: str, *, object_type: str, case, labels, actor, now, reason: str = "", data=None
) -> None:
    """Move ``obj.status`` by ``action`` through a transition ``table`` (monitoring/rules/transitions.py),
    refusing with a readable reason, and append the StatusChange row. The one place a case,
    step or clue status is written; callers save the row."""
    from accounts.errors import InvalidTransition
    from monitoring.rules import transitions

    err = transitions.transition_error(table, action, obj.status, labels)
    if err:
        raise InvalidTransition(err)
    old, obj.status = obj.status, transitions.target(table, action)
    record_change(
        obj=obj,
        object_type=object_type,
        case=case,
        action=action,
        from_status=old,
        to_status=obj.status,
        actor=actor,
        reason=reason,
        data=data,
        at=now,
    )
