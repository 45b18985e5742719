"""The one-key emergency call (一键呼叫): raise, acknowledge, close, and the minute's escalation.

* :func:`call_raise` — a cadre or helper on the household page, a staff token, or a department's
  call device (API key): plans every hop of the county's chain with the time it falls due
  (:func:`monitoring.rules.calls.plan_hops`) and notifies the first at once. A household has
  one call at a time: pressing again while one is in progress answers that call.
* :func:`call_acknowledge` — one tap by anyone the call reached (or staff of the household's
  area): the hops still planned are stopped, those already told learn who took it.
* :func:`call_close` — with what was done; optionally raises a risk clue through
  :func:`monitoring.services.clues.clue_create`.
* :func:`call_escalation` — the minute task: every planned hop whose ``notify_at`` has come is
  notified, in a few set-based statements; a second run at the same ``now`` finds nothing.

Every change appends a ``StatusChange`` row (object ``call``); the hops are kept as they went.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict

from celery import current_app
from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import NotificationKind, Role, User
from accounts.notifications import EMAIL_TASK, Message, notify
from accounts.texts import text
from households.models import AssignmentKind, HelperAssignment, Household
from monitoring.county import call_chain_for, scope_prefix
from monitoring.models import (
    CallHop,
    CallLevel,
    CallSource,
    CallStatus,
    Channel,
    EmergencyCall,
    HopState,
)
from monitoring.rules import deadlines, transitions
from monitoring.rules.calls import PlannedHop, Recipient, plan_hops
from monitoring.services.audit import apply_transition, record_change, require_household, require_role

NOTE_MAX = 500
OUTCOME_MAX = 2000
#: Who may raise, acknowledge and close a call from the pages or with a staff token.
CALL_ROLES = (Role.VILLAGE_CADRE, Role.HELPER, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)

ASSIGNMENT_LEVELS = {
    CallLevel.HELPER_CONTACT: AssignmentKind.CONTACT,
    CallLevel.RESPONSIBLE_HELPER: AssignmentKind.RESPONSIBLE,
    CallLevel.DOCTOR: AssignmentKind.DOCTOR,
}
HOP_TITLE = N_("紧急呼叫：%(v)s%(h)s户按下了一键呼叫，请立即应答（%(l)s）")
ESCALATED_TITLE = N_("紧急呼叫升级：%(v)s%(h)s户的呼叫%(m)s分钟无人应答，已转至您（%(l)s）")
ACK_TITLE = N_("紧急呼叫已有人应答：%(v)s%(h)s户的呼叫由%(u)s应答")


def call_url(pk: int) -> str:
    return reverse("monitoring:call_detail", args=[pk])


def url_for(name: str):
    """``reverse(name, args=[pk])`` as a function of ``pk``, resolved once; called as
    ``url_for(name)`` it also unpacks to the (head, tail) around the id."""
    marker = 987654321
    head, tail = reverse(name, args=[marker]).split(str(marker), 1)
    return _Url(head, tail)


class _Url(tuple):
    def __new__(cls, head: str, tail: str):
        return super().__new__(cls, (head, tail))

    def __call__(self, pk) -> str:
        return f"{self[0]}{pk}{self[1]}"


# --- who each level reaches ------------------------------------------------------------------


def reach(household: Household, *, on: dt.date) -> dict[str, list[Recipient]]:
    """Level → the active accounts a hop at that level notifies, for ``household`` on ``on``:
    its helpers by kind (helper contact, responsible helper, family doctor) with a login, the
    village's cadres and the township's reviewers."""
    out: dict[str, list[Recipient]] = defaultdict(list)
    kinds = {kind: level for level, kind in ASSIGNMENT_LEVELS.items()}
    rows = (
        HelperAssignment.objects.active(on=on)
        .filter(household=household, helper__user__is_active=True, kind__in=list(kinds))
        .order_by("start_date", "id")
        .values_list("kind", "helper__user_id", "helper__name")
    )
    for kind, user_id, name in rows:
        out[kinds[kind]].append(Recipient(user_id, name))
    village = household.area_code
    township = village[:9] + "000"
    staff = (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=Role.VILLAGE_CADRE, areas__code=village)
            | Q(role=Role.TOWNSHIP_REVIEWER, areas__code=township)
        )
        .order_by("id")
        .values_list("role", "id", "full_name", "username")
        .distinct()
    )
    for role, user_id, name, username in staff:
        level = CallLevel.VILLAGE_CADRE if role == Role.VILLAGE_CADRE else CallLevel.TOWNSHIP
        out[level].append(Recipient(user_id, name or username))
    return out


# --- raise -------------------------------------------------------------------------------------


def _check_raiser(actor, household: Household) -> None:
    if actor is None:
        return
    if actor.role == Role.DEPARTMENT and not actor.is_superuser:
        # a call device: its department's account, inside the account's areas (if it has any)
        if actor.scope_prefixes() and not actor.covers(household.area_code):
            raise NotAllowed(_("该农户不在您的工作区域内。"))
        return
    require_role(actor, *CALL_ROLES)
    require_household(actor, household)


def _clean_text(value, field: str, max_length: int, errors: dict, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _("须为字符串。")
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[field] = str(ProhibitNullCharactersValidator.message)
    elif required and not value:
        errors[field] = _("请填写处置情况。")
    elif len(value) > max_length:
        errors[field] = _("不能超过%(n)s个字符。") % {"n": max_length}
    return value


def call_raise(
    *,
    actor,
    household: Household,
    note: str = "",
    source: str = CallSource.PAGE,
    now: dt.datetime | None = None,
) -> tuple[EmergencyCall, bool]:
    """Raise a call for ``household`` (or answer the one in progress); ``(call, created)``."""
    now = now or timezone.now()
    household = Household.objects.get(pk=household.pk)
    _check_raiser(actor, household)
    errors: dict = {}
    note = _clean_text(note, "note", NOTE_MAX, errors, required=False)
    if source not in CallSource.values:
        errors["source"] = _("未知的来源。")
    if errors:
        raise ValidationError(errors)
    existing = EmergencyCall.objects.active().filter(household=household).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            call = _create(actor, household, note, source, now)
    except IntegrityError:
        # the same household pressed twice at once: the other press made the call
        existing = EmergencyCall.objects.active().filter(household=household).first()
        if existing is None:
            raise
        return existing, False
    call_escalation(now=now, call_ids=[call.pk])
    return call, True


def _create(actor, household: Household, note: str, source: str, now: dt.datetime) -> EmergencyCall:
    is_department = actor is not None and actor.role == Role.DEPARTMENT and not actor.is_superuser
    call = EmergencyCall.objects.create(
        household=household,
        area_code=household.area_code,
        status=transitions.target(transitions.CALL_TRANSITIONS, "raise"),
        source=source,
        raised_at=now,
        raised_by=actor if actor is not None and actor.pk else None,
        department=actor.department if is_department else None,
        note=note,
    )
    record_change(
        obj=call,
        object_type="call",
        action="raise",
        from_status=transitions.NEW,
        to_status=call.status,
        actor=actor,
        reason=note,
        data={"source": source},
        at=now,
    )
    hops = plan_hops(
        call_chain_for(household.area_code), reach(household, on=deadlines.local_date(now)), raised_at=now
    )
    CallHop.objects.bulk_create([_hop_row(call, hop) for hop in hops])
    return call


def _hop_row(call: EmergencyCall, hop: PlannedHop) -> CallHop:
    return CallHop(
        call=call,
        position=hop.position,
        level=hop.level,
        recipients=list(hop.recipients),
        names=hop.names,
        notify_at=hop.notify_at,
        state=HopState.SKIPPED if hop.skipped else HopState.PLANNED,
    )


# --- the minute's escalation ---------------------------------------------------------------------
#
# One UPDATE claims every planned hop whose time has come (``WHERE state = 'planned'``: a
# concurrent tick waits for the row and then skips it, so no hop is notified twice) and the
# notifications of its recipients are inserted from what it returns. On PostgreSQL the claim,
# the household names and the insert are one statement (a county's 10,000 calls in a few
# hundred milliseconds); elsewhere the claimed rows go through ``notify``. Both write the same
# rows: the hop is kept with when it was notified (the call's status does not change).


def _claim_sql(area_code: str, call_ids) -> tuple[str, list]:
    where, params = "", []
    if area_code:
        where += " AND call_id IN (SELECT id FROM monitoring_emergencycall WHERE area_code LIKE %s)"
        params.append(scope_prefix(area_code) + "%")
    if call_ids is not None:
        ids = [int(i) for i in call_ids] or [0]
        where += f" AND call_id IN ({', '.join(['%s'] * len(ids))})"
        params.extend(ids)
    sql = (
        "UPDATE monitoring_callhop SET state = %s, notified_at = %s "
        f"WHERE state = %s AND notify_at <= %s{where} "
        "RETURNING id, call_id, position, level, recipients, notify_at"
    )
    return sql, params


def level_labels() -> tuple[dict, dict]:
    """Level → the label's msgid (stored with the message) and its text in the site's language."""
    msgids = {level: label_msgid(label) for level, label in CallLevel.choices}
    with translation.override(settings.LANGUAGE_CODE):
        shown = {level: str(label) for level, label in CallLevel.choices}
    return msgids, shown


def label_msgid(label) -> str:
    """The msgid of a lazily translated choice label."""
    return str(label._proxy____args[0]) if hasattr(label, "_proxy____args") else str(label)


def _template_sql(msgid: str, exprs: dict[str, str]) -> tuple[str, list]:
    """The message rendered in the site's language as an SQL ``concat``: the literal parts as
    parameters, each ``%(name)s`` as its SQL expression."""
    with translation.override(settings.LANGUAGE_CODE):
        template = gettext(msgid)
    parts = re.split(r"%\((\w+)\)s", template)
    sql, params = [], []
    for i, part in enumerate(parts):
        if i % 2:
            sql.append(exprs[part])
        elif part:
            sql.append("%s")
            params.append(part)
    return f"concat({', '.join(sql)})", params


ESCALATE_SQL = """
    WITH claimed AS ({claim}),
    r AS (
        SELECT c.call_id, c.position, c.level, c.recipients, e.area_code,
               c.notify_at <= e.raised_at AS first,
               floor(extract(epoch FROM (%s - e.raised_at)) / 60)::int AS minutes,
               coalesce(p.name, h.number) AS h, coalesce(v.name, '') AS v,
               (%s::jsonb ->> c.level) AS l_shown, (%s::jsonb ->> c.level) AS l_msgid
        FROM claimed c
        JOIN monitoring_emergencycall e ON e.id = c.call_id
        JOIN households_household h ON h.id = e.household_id
        LEFT JOIN households_person p ON p.id = h.head_id
        JOIN accounts_area v ON v.id = h.village_id
    ),
    inserted AS (
        INSERT INTO accounts_notification
            (recipient_id, key, kind, title, body, url, area_code, texts, created_at)
        SELECT u.id, 'call:' || r.call_id || ':' || r.position, %s,
               left(CASE WHEN r.first THEN {first} ELSE {later} END, 200), '',
               left(%s || r.call_id || %s, 200), r.area_code,
               jsonb_build_object('title', jsonb_build_object(
                   'm', CASE WHEN r.first THEN %s ELSE %s END,
                   'p', jsonb_build_object('h', r.h, 'v', r.v,
                                           'l', jsonb_build_object('m', r.l_msgid, 'p', '{{}}'::jsonb))
                        || CASE WHEN r.first THEN '{{}}'::jsonb ELSE jsonb_build_object('m', r.minutes) END)),
               %s
        FROM r
        CROSS JOIN LATERAL jsonb_array_elements_text(r.recipients) AS one(uid)
        JOIN accounts_user u ON u.id = one.uid::bigint
        ON CONFLICT (recipient_id, key) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE NOT r.first), (SELECT count(*) FROM inserted)
"""


def _escalate_postgresql(now: dt.datetime, claim: str, claim_params: list) -> dict:
    msgids, shown = level_labels()
    exprs = {"h": "r.h", "v": "r.v", "m": "r.minutes::text", "l": "r.l_shown"}
    first_sql, first_params = _template_sql(HOP_TITLE, exprs)
    later_sql, later_params = _template_sql(ESCALATED_TITLE, exprs)
    head, tail = url_for("monitoring:call_detail")
    sql = ESCALATE_SQL.format(claim=claim, first=first_sql, later=later_sql)
    params = [
        *claim_params,
        now,
        json.dumps(shown, ensure_ascii=False),
        json.dumps(msgids, ensure_ascii=False),
        NotificationKind.EMERGENCY_CALL,
        *first_params,
        *later_params,
        head,
        tail,
        HOP_TITLE,
        ESCALATED_TITLE,
        now,
    ]
    with connection.cursor() as cursor:
        # a one-statement plan: compiling it (JIT) costs more than running it
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        hops, escalated, sent = cursor.fetchone()
    return {"hops_notified": hops, "calls_escalated": escalated, "notifications": sent}


def _escalate_python(now: dt.datetime, claim: str, claim_params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(claim, claim_params)
        rows = cursor.fetchall()
    if not rows:
        return {"hops_notified": 0, "calls_escalated": 0, "notifications": 0}
    calls = _call_facts({r[1] for r in rows})
    recipients = {r[0]: json.loads(r[4]) if isinstance(r[4], str) else list(r[4] or []) for r in rows}
    wanted = {u for ids in recipients.values() for u in ids}
    existing = set(User.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    url = url_for("monitoring:call_detail")
    msgids, _shown = level_labels()
    pairs, escalated = [], 0
    for pk, call_id, position, level, _recipients, notify_at in rows:
        raised, area, names = calls[call_id]
        label = {"m": msgids[level], "p": {}}
        if _aware(notify_at) <= raised:
            title = text(HOP_TITLE, **names, l=label)
        else:
            escalated += 1
            title = text(ESCALATED_TITLE, **names, l=label, m=int((now - raised).total_seconds() // 60))
        msg = Message(
            key=f"call:{call_id}:{position}",
            kind=NotificationKind.EMERGENCY_CALL,
            title=title,
            url=url(call_id),
            area_code=area,
        )
        pairs.extend((uid, msg) for uid in recipients[pk] if uid in existing)
    return {"hops_notified": len(rows), "calls_escalated": escalated, "notifications": notify(pairs, now=now)}


def _call_facts(call_ids) -> dict[int, tuple]:
    """Call id → (raised at, area code, the parameters naming its household: ``h`` the head or
    the household number, ``v`` the village)."""
    rows = EmergencyCall.objects.filter(pk__in=list(call_ids)).values_list(
        "pk",
        "raised_at",
        "area_code",
        "household__number",
        "household__head__name",
        "household__village__name",
    )
    return {
        pk: (raised, area, {"h": head or number, "v": village or ""})
        for pk, raised, area, number, head, village in rows
    }


def _aware(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def call_escalation(*, now: dt.datetime, area_code: str = "", call_ids=None) -> dict:
    """Notify every planned hop whose time has come (inside ``area_code``, or of ``call_ids``).
    Set-based and idempotent: a hop is claimed and marked notified by one UPDATE, so a second
    run at the same ``now`` finds none. Acknowledged and closed calls have no planned hop."""
    claim, claim_params = _claim_sql(area_code, call_ids)
    at = connection.ops.adapt_datetimefield_value(now)
    claim_params = [HopState.NOTIFIED, at, HopState.PLANNED, at, *claim_params]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            counts = _escalate_postgresql(now, claim, claim_params)
        else:
            counts = _escalate_python(now, claim, claim_params)
    if counts["notifications"] and settings.NOTIFICATION_EMAIL:
        transaction.on_commit(lambda: current_app.tasks[EMAIL_TASK].delay())
    return counts


# --- acknowledge and close ----------------------------------------------------------------------


def _lock(call: EmergencyCall) -> EmergencyCall:
    return EmergencyCall.objects.select_for_update().select_related("household").get(pk=call.pk)


def reached(call: EmergencyCall, user) -> bool:
    """Was ``user`` told of the call by one of its hops?"""
    if user is None or not user.pk:
        return False
    return any(
        user.pk in (hop.recipients or [])
        for hop in call.hops.filter(state=HopState.NOTIFIED).only("recipients")
    )


def _check_handler(actor, call: EmergencyCall) -> None:
    """Anyone the call reached, or staff of the household's area (a helper: of their household)."""
    if actor is None or reached(call, actor):
        return
    require_role(actor, *CALL_ROLES)
    require_household(actor, call.household)


def _stop_planned(call: EmergencyCall) -> int:
    return call.hops.filter(state=HopState.PLANNED).update(state=HopState.STOPPED)


def _labels(status: str) -> str:
    return str(CallStatus(status).label)


@transaction.atomic
def call_acknowledge(*, actor, call: EmergencyCall, now: dt.datetime | None = None) -> EmergencyCall:
    """One tap: the actor takes the call; the hops not yet notified will not be. A second tap
    by the same person changes nothing; a tap after someone else took it says who did."""
    now = now or timezone.now()
    call = _lock(call)
    _check_handler(actor, call)
    if call.status == CallStatus.ACKNOWLEDGED and call.acknowledged_by_id == getattr(actor, "pk", None):
        return call
    if call.status == CallStatus.ACKNOWLEDGED:
        who = str(call.acknowledged_by) if call.acknowledged_by else ""
        raise InvalidTransition(_("该呼叫已由%(who)s应答。") % {"who": who})
    apply_transition(
        call,
        transitions.CALL_TRANSITIONS,
        "acknowledge",
        object_type="call",
        case=None,
        labels=_labels,
        actor=actor,
        now=now,
    )
    call.acknowledged_at = now
    call.acknowledged_by = actor if actor is not None and actor.pk else None
    call.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    _stop_planned(call)
    _tell_others(call, actor, now)
    return call


def _tell_others(call: EmergencyCall, actor, now: dt.datetime) -> None:
    told = {uid for hop in call.hops.filter(state=HopState.NOTIFIED) for uid in hop.recipients or []}
    told.discard(getattr(actor, "pk", None))
    if not told:
        return
    names = _call_facts([call.pk])[call.pk][2]
    who = str(actor) if actor is not None else ""
    msg = Message(
        key=f"call:{call.pk}:ack",
        kind=NotificationKind.EMERGENCY_CALL,
        title=text(ACK_TITLE, h=names["h"], v=names["v"], u=who),
        url=call_url(call.pk),
        area_code=call.area_code,
    )
    notify(((uid, msg) for uid in sorted(told)), now=now)


def _clue_data(raise_clue, errors: dict) -> dict | None:
    if not raise_clue:
        return None
    if not isinstance(raise_clue, dict):
        errors["raise_clue"] = _("须为对象。")
        return None
    codes = raise_clue.get("risk_type_codes") or []
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        errors["risk_type_codes"] = _("须为风险类型代码（字符串）的列表。")
        return None
    codes = [c.strip() for c in codes if c.strip()]
    if not codes:
        errors["risk_type_codes"] = _("发现风险时请选择风险类型。")
        return None
    description = _clean_text(raise_clue.get("description"), "description", 2000, errors, required=False)
    return {"risk_type_codes": codes, "description": description}


@transaction.atomic
def call_close(
    *,
    actor,
    call: EmergencyCall,
    outcome: str,
    raise_clue: dict | None = None,
    now: dt.datetime | None = None,
) -> EmergencyCall:
    """Close the call with what was done (closing an unanswered call answers it too); with
    ``raise_clue={"risk_type_codes": [...], "description": ...}`` a risk clue is registered
    for the household (channel 干部排查走访) and kept on the call."""
    now = now or timezone.now()
    call = _lock(call)
    _check_handler(actor, call)
    errors: dict = {}
    outcome = _clean_text(outcome, "outcome", OUTCOME_MAX, errors, required=True)
    clue_data = _clue_data(raise_clue, errors)
    err = transitions.transition_error(transitions.CALL_TRANSITIONS, "close", call.status, _labels)
    if errors:
        raise ValidationError(errors)
    if err:
        raise InvalidTransition(err)
    if clue_data is not None:
        from monitoring.services.clues import clue_create

        call.clue = clue_create(
            actor=actor,
            channel=Channel.CADRE_SCREENING,
            found_date=deadlines.local_date(now),
            risk_type_codes=clue_data["risk_type_codes"],
            household=call.household,
            description=clue_data["description"] or outcome,
            now=now,
        )
    if call.status == CallStatus.OPEN:
        call.acknowledged_at = now
        call.acknowledged_by = actor if actor is not None and actor.pk else None
    apply_transition(
        call,
        transitions.CALL_TRANSITIONS,
        "close",
        object_type="call",
        case=None,
        labels=_labels,
        actor=actor,
        now=now,
        reason=outcome,
        data={"clue": call.clue_id} if call.clue_id else None,
    )
    call.closed_at = now
    call.closed_by = actor if actor is not None and actor.pk else None
    call.outcome = outcome
    call.save(
        update_fields=[
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "closed_at",
            "closed_by",
            "outcome",
            "clue",
        ]
    )
    _stop_planned(call)
    return call
