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
    obj,
    table,
    action: str,
    *,
    object_type: str,
    case,
    labels,
    actor,
    now,
    reason: str = "",
    data=None,
    refusal=None,
) -> None:
    """Move ``obj.status`` by ``action`` through a transition ``table`` (monitoring/rules/transitions.py),
    refusing with a readable reason, and append the StatusChange row. The one place a case,
    step, clue or measure status is written; callers save the row.

    ``refusal(status, action)``, when given, words the reason instead of the table's default
    sentence (it must refuse exactly what the table refuses)."""
    from accounts.errors import InvalidTransition
    from monitoring.rules import transitions

    if refusal is not None:
        err = refusal(obj.status, action)
    else:
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


def _each(value, obj):
    """A per-row value: ``value(obj)`` when it is a function, else ``value`` itself."""
    return value(obj) if callable(value) else value


def transition_rows(
    table,
    action: str,
    objs,
    *,
    object_type: str,
    from_status: str,
    actor,
    now,
    case=None,
    reason: str = "",
    data=None,
) -> list[StatusChange]:
    """The StatusChange rows of moving every one of ``objs`` by ``action`` from ``from_status``,
    checked against the transition ``table``, for a bulk write: unsaved, for the caller to
    ``bulk_create`` with the rows it inserts or updates in bulk.

    The objects must have their primary keys; ``from_status`` is
    :data:`monitoring.rules.transitions.NEW` for rows just inserted in their first status.
    ``case`` (a case, its id or ``None``) and ``data`` (a dict) may be functions of the object
    for values that differ row by row. Nothing is written to ``objs``: the caller gives them
    the status (:func:`monitoring.rules.transitions.target`). A pair the table refuses raises
    ``InvalidTransition`` before any row is built.
    """
    from accounts.errors import InvalidTransition
    from monitoring.rules import transitions

    err = transitions.transition_error(table, action, from_status)
    if err:
        raise InvalidTransition(err)
    to_status = transitions.target(table, action)
    actor = actor if (actor is not None and actor.pk) else None
    rows = []
    for obj in objs:
        row_case = _each(case, obj)
        rows.append(
            StatusChange(
                object_type=object_type,
                object_id=obj.pk,
                case_id=getattr(row_case, "pk", row_case),
                action=action,
                from_status=from_status,
                to_status=to_status,
                actor=actor,
                at=now,
                reason=reason or "",
                data=_each(data, obj) or {},
            )
        )
    return rows


def record_bulk(table, action: str, objs, **kwargs) -> list[StatusChange]:
    """:func:`transition_rows`, inserted in one query."""
    return StatusChange.objects.bulk_create(transition_rows(table, action, objs, **kwargs))
