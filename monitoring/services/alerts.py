"""Department alerts in batches (部门预警批量推送): set-based, one transaction, item by item.

:func:`alerts_receive` takes up to :data:`MAX_BATCH` alerts from one department and answers
each one, in input order, ``created``, ``existing`` or ``rejected`` (with field errors). It
writes exactly the rows that :func:`monitoring.services.clues.alert_receive` (and so
``clue_create``) would write for each item in turn, but with a fixed number of queries:

1. every item is validated in Python (:func:`clean_alert`, pure), against the risk-type codes
   and the maximum number of risk types read once;
2. the people named by the ID numbers, with their households, in one query;
3. the open cases of those households, locked, in one query, with their risk types in another;
4. the alerts the department already sent under the same external ids, in one query;
5. the new clues, their risk types and their audit rows (``receive`` or ``receive_unmatched``,
   and ``attach`` for a household with an open case, checked against the clue table by
   :func:`monitoring.services.audit.transition_rows`) in three bulk inserts, and the attached
   cases' risk types and versions in one or two more.

An item is never half-applied: it is written whole or not at all. A department alert never
opens a case by itself; it waits for the county's triage (or is attached to the household's
open case). Idempotency is per (department, external id): an external id seen before, in the
database or earlier in the same batch, answers ``existing`` with the first alert's id.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Department, Role
from households import idnumber
from households.models import Person
from monitoring.county import settings_for
from monitoring.models import (
    CLUE_DESCRIPTION_MAX,
    OPEN_CASE_STATUSES,
    Channel,
    Clue,
    MonitoringCase,
    RiskType,
    StatusChange,
)
from monitoring.rules import coerce, deadlines, guards, transitions
from monitoring.services.audit import transition_rows

MAX_BATCH = 1000
#: The fields an alert may carry; anything else is refused (a misspelt field would be lost).
FIELDS = frozenset(
    {"external_id", "id_number", "name", "risk_type", "risk_types", "found_date", "description", "amount"}
)
MAX_EXTERNAL_ID = 64  # Clue.external_id
MAX_NAME = 50  # Clue.name
MAX_DESCRIPTION = CLUE_DESCRIPTION_MAX
MAX_AMOUNT = Decimal("9999999999.99")  # Clue.amount: 12 digits, 2 decimals
#: Same as ``clue_create``: found more than two years ago is refused.
MAX_AGE = dt.timedelta(days=366 * 2)
#: Case statuses in which an attached clue's risk types are added to the case (as ``_attach``).
RISKS_JOIN_CASE_IN = ("identifying", "provisional")
#: ``_attach`` caps the case's risk types at this many.
CASE_MAX_RISK_TYPES = 5

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

CREATED, EXISTING, REJECTED = "created", "existing", "rejected"
CLUES = transitions.CLUE_TRANSITIONS


@dataclass(frozen=True)
class RiskCodes:
    """The active risk types, read once per batch."""

    pk_by_code: dict[str, int]
    roots: dict[str, str]
    needs_subtype: set[str]
    maximum: int

    @classmethod
    def load(cls) -> RiskCodes:
        rows = list(
            RiskType.objects.filter(is_active=True).values_list("pk", "code", "parent__code", "needs_subtype")
        )
        # clue_create checks the risk types before matching, with the default county settings.
        maximum = settings_for("000000").max_risk_types
        return cls(
            pk_by_code={code: pk for pk, code, _p, _n in rows},
            roots={code: parent or code for _pk, code, parent, _n in rows},
            needs_subtype={code for _pk, code, _p, needs in rows if needs},
            maximum=maximum,
        )


@dataclass
class CleanAlert:
    external_id: str
    id_number: str
    name: str
    risk_codes: list[str]
    found_date: dt.date
    description: str
    amount: Decimal | None


@dataclass
class _Item:
    index: int
    external_id: str = ""
    clean: CleanAlert | None = None
    errors: dict[str, str] = field(default_factory=dict)
    result: str = ""
    clue: Clue | None = None
    first: _Item | None = None  # for a repeat inside the batch: the item that created the alert
    existing: tuple[int, str] | None = None  # (pk, status) of an alert already stored
    case_id: int | None = None  # the open case the alert is attached to
    case_status: str = ""


# --------------------------------------------------------------------------------------------
# Validation (pure)
# --------------------------------------------------------------------------------------------


def clean_external_id(value) -> tuple[str, str | None]:
    """The department's alert number: a string (or a whole number) of 1 to 64 characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    errors: dict[str, str] = {}
    external_id = coerce.text_field(
        {"external_id": value},
        "external_id",
        errors,
        max_length=MAX_EXTERNAL_ID,
        accepts=coerce.STRINGS,
        missing=_("部门预警须有部门的预警编号。"),
    )
    return external_id, errors.get("external_id")


def _clean_date(value, today: dt.date) -> tuple[dt.date | None, str | None]:
    if value is None or value == "":
        return None, _("请填写发现风险日期。")
    if isinstance(value, dt.datetime):
        return None, _("日期格式应为 YYYY-MM-DD。")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            return None, _("日期无效。")
    else:
        return None, _("日期格式应为 YYYY-MM-DD。")
    if day > today:
        return None, _("发现风险日期不能晚于今天。")
    if day < today - MAX_AGE:
        return None, _("发现风险日期过早，请核实。")
    return day, None


def _clean_risks(item: dict, codes: RiskCodes) -> tuple[str, list[str], str | None]:
    """(the field the codes came in, the codes, error)."""
    has_one, has_many = item.get("risk_type") not in (None, ""), item.get("risk_types") is not None
    if has_one and has_many:
        return "risk_type", [], _("请只填写 risk_type 或 risk_types 其中之一。")
    if has_many:
        raw = item["risk_types"]
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            return "risk_types", [], _("须为风险类型代码（字符串）的列表。")
        if not raw:  # an empty list is not "no list": the schema asks for 1 to 5 codes
            return "risk_types", [], _("至少选择一种风险类型。")
        key, given = "risk_types", [c.strip() for c in raw]
    elif has_one:
        raw = item["risk_type"]
        if not isinstance(raw, str):
            return "risk_type", [], _('须为风险类型代码（字符串），如 "01"。')
        key, given = "risk_type", [raw.strip()]
    else:
        return "risk_type", [], _("至少选择一种风险类型。")
    if any(len(c) > 8 for c in given):  # RiskType.code; keeps an absurd code out of the message
        return key, [], _("未知的风险类型。")
    err = guards.risk_types_error(
        given, roots=codes.roots, needs_subtype=codes.needs_subtype, maximum=codes.maximum
    )
    if err:
        return key, [], str(err)
    return key, list(dict.fromkeys(given)), None


def _clean_id_number(raw, errors: dict, *, today: dt.date) -> str:
    if raw is None or raw == "":
        errors["id_number"] = _("请填写公民身份号码。")
    elif not isinstance(raw, str):
        errors["id_number"] = _("公民身份号码须为字符串。")
    elif len(raw) > 40:
        errors["id_number"] = _("公民身份号码应为18位。")
    else:
        try:
            return idnumber.parse(raw, today=today).number
        except idnumber.IDNumberError as exc:
            errors["id_number"] = str(exc.message)
    return ""


def clean_alert(item: Any, *, codes: RiskCodes, today: dt.date) -> tuple[str, CleanAlert | None, dict]:
    """Validate one alert (a dict from JSON): ``(external_id, clean or None, errors)``.

    The external id is returned even when other fields are wrong, so that a retry of an
    alert already stored is recognised whatever else it says (as ``alert_receive`` does).
    """
    if not isinstance(item, dict):
        return "", None, {"non_field_errors": _("每条预警须为一个 JSON 对象。")}
    errors: dict[str, str] = {str(key)[:40]: _("未知字段。") for key in item if key not in FIELDS}
    external_id, err = clean_external_id(item.get("external_id"))
    if err:
        errors["external_id"] = err
    number = _clean_id_number(item.get("id_number"), errors, today=today)
    name = coerce.text_field(
        item, "name", errors, max_length=MAX_NAME, accepts=coerce.STRINGS, missing=_("请填写姓名。")
    )
    description = coerce.text_field(
        item, "description", errors, required=False, max_length=MAX_DESCRIPTION, accepts=coerce.STRINGS
    )
    key, risk_codes, err = _clean_risks(item, codes)
    if err:
        errors[key] = err
    found_date, err = _clean_date(item.get("found_date"), today)
    if err:
        errors["found_date"] = err
    amount = coerce.amount_field(item, "amount", errors, maximum=MAX_AMOUNT, exact_cents=True)
    if errors:
        return external_id, None, errors
    return (
        external_id,
        CleanAlert(
            external_id=external_id,
            id_number=number,
            name=name,
            risk_codes=risk_codes,
            found_date=found_date,
            description=description,
            amount=amount,
        ),
        {},
    )


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------


def _check_actor(actor, department: Department) -> None:
    if actor is None or actor.is_superuser:
        return
    if actor.role != Role.DEPARTMENT or actor.department_id != department.pk:
        raise NotAllowed(_("只有本部门的账号可以推送本部门的预警。"))


def _county_code(actor) -> str:
    """Where an unmatched alert waits: the county of the department account (as clue_create)."""
    if actor is None:
        return ""
    code = actor.areas.order_by("code").values_list("code", flat=True).first()
    return code[:6] + "000000" if code else ""


def _target(item: _Item) -> tuple[int, str]:
    """(pk, status) of the alert an accepted item stands for."""
    if item.clue is not None:
        return item.clue.pk, item.clue.status
    if item.first is not None:  # a repeat inside the batch (whose first may have lost a race)
        return _target(item.first)
    return item.existing


def _result(item: _Item) -> dict:
    pk, status = (None, None) if item.result == REJECTED else _target(item)
    return {
        "index": item.index,
        "external_id": item.external_id,
        "result": item.result,
        "id": pk,
        "status": status,
        "errors": item.errors if item.result == REJECTED else {},
    }


def _stored(department: Department, external_ids) -> dict[str, tuple[int, str]]:
    if not external_ids:
        return {}
    rows = Clue.objects.filter(department=department, external_id__in=list(external_ids)).values_list(
        "external_id", "pk", "status"
    )
    return {ext: (pk, status) for ext, pk, status in rows}


def _insert(department: Department, items: list[_Item]) -> list[_Item]:
    """Insert the items' clues; those another request stored meanwhile become ``existing``.

    A plain bulk insert inside a savepoint: on a unique-constraint conflict (the same external
    id committed by a concurrent request, which PostgreSQL makes this insert wait for) the
    savepoint is rolled back, the winners are read back and the rest is inserted again. (An
    insert with ``ignore_conflicts`` would not return the new rows' ids, so this request could
    not tell its own rows from the concurrent ones.)
    """
    pending = list(items)
    for _attempt in range(5):
        if not pending:
            return []
        try:
            with transaction.atomic():
                Clue.objects.bulk_create([i.clue for i in pending])
            return pending
        except IntegrityError:
            for i in pending:  # an earlier chunk may have been given ids before the rollback
                i.clue.pk = None
                i.clue._state.adding = True
            taken = _stored(department, [i.external_id for i in pending])
            if not taken:
                raise
            for i in pending:
                if i.external_id in taken:
                    i.result, i.existing, i.clue = EXISTING, taken[i.external_id], None
            pending = [i for i in pending if i.result == CREATED]
    raise IntegrityError("could not insert the alerts after repeated conflicts")


def _sender(actor, department: Department | None) -> Department:
    """The department the batch comes from: a department account sends only its own alerts."""
    if actor is not None and actor.role == Role.DEPARTMENT and not actor.is_superuser:
        department = actor.department
    _check_actor(actor, department)
    if department is None or not department.is_active:
        raise NotAllowed(_("该部门未启用，不能推送预警。"))
    return department


def _check_items(items) -> None:
    if not isinstance(items, list):
        raise ValidationError({"items": _("须为预警列表。")})
    if len(items) > MAX_BATCH:
        raise ValidationError({"items": _("一次最多提交%(n)s条预警。") % {"n": MAX_BATCH}})


def _clean_batch(items: list, *, codes: RiskCodes, today: dt.date) -> list[_Item]:
    batch = []
    for index, raw in enumerate(items):
        external_id, clean, errors = clean_alert(raw, codes=codes, today=today)
        batch.append(_Item(index=index, external_id=external_id, clean=clean, errors=errors))
    return batch


def _people(batch: list[_Item]) -> dict[str, tuple[int, int, str]]:
    """ID number -> (person, household, the household's area), in one query."""
    numbers = {i.clean.id_number for i in batch if i.clean is not None}
    rows = Person.objects.filter(id_number__in=numbers).values_list(
        "id_number", "pk", "household_id", "household__area_code"
    )
    return {row[0]: row[1:] for row in rows}


def _open_cases(household_ids: set[int]) -> dict[int, dict]:
    """The open cases of the households, locked, so that a concurrent batch attaching to the
    same case waits and then reads what this one stored."""
    if not household_ids:
        return {}
    rows = (
        MonitoringCase.objects.select_for_update()
        .filter(household_id__in=household_ids, status__in=OPEN_CASE_STATUSES)
        .order_by("pk")
        .values("pk", "household_id", "status")
    )
    return {row["household_id"]: row for row in rows}


def _sort(batch: list[_Item], stored: dict[str, tuple[int, str]]) -> list[_Item]:
    """Mark each item existing (stored before, or earlier in the batch), rejected or created;
    the items to create, in order."""
    first_by_external_id: dict[str, _Item] = {}
    to_create: list[_Item] = []
    for item in batch:
        if item.external_id and item.external_id in stored:
            item.result, item.existing = EXISTING, stored[item.external_id]
        elif item.external_id and item.external_id in first_by_external_id:
            item.result, item.first = EXISTING, first_by_external_id[item.external_id]
        elif item.clean is None:
            item.result = REJECTED
        else:
            item.result = CREATED
            first_by_external_id[item.external_id] = item
            to_create.append(item)
    return to_create


def _received(household_id) -> str:
    """The clue table's action that receives an alert: matched to a household or not."""
    return "receive" if household_id else "receive_unmatched"


def _new_clue(item: _Item, match, case: dict | None, *, department, reporter, county_code, now) -> Clue:
    """The clue of an accepted item, in the status the clue table gives it."""
    c = item.clean
    person_id, household_id, area_code = match if match else (None, None, county_code)
    item.case_id = case["pk"] if case else None
    item.case_status = case["status"] if case else ""
    outcome, outcome_at = "", None
    if case is not None:
        action = "attach"
        # Stored text is in the deployment's language, whatever the caller's Accept-Language.
        with translation.override(settings.LANGUAGE_CODE):
            outcome = _("已并入在办案件（#%(id)s）") % {"id": case["pk"]}
        outcome_at = now
    else:
        action = _received(household_id)
    return Clue(
        channel=Channel.DEPARTMENT_ALERT,
        department=department,
        external_id=c.external_id,
        reported_by=reporter,
        found_date=c.found_date,
        description=c.description,
        amount=c.amount,
        id_number=c.id_number,
        name=c.name,
        person_id=person_id,
        household_id=household_id,
        area_code=area_code,
        status=transitions.target(CLUES, action),
        case_id=item.case_id,
        outcome=outcome,
        outcome_at=outcome_at,
    )


@transaction.atomic
def alerts_receive(
    *, actor, department: Department, items: list, now: dt.datetime | None = None
) -> list[dict]:
    """Receive a batch of department alerts; one result per item, in input order.

    Each result is ``{"index", "external_id", "result", "id", "status", "errors"}`` with
    ``result`` one of ``created``, ``existing`` (``id`` is the alert stored first) or
    ``rejected`` (``errors``: field → message; ``id`` and ``status`` are ``None``).
    """
    now = now or timezone.now()
    department = _sender(actor, department)
    _check_items(items)
    if not items:
        return []
    codes = RiskCodes.load()
    batch = _clean_batch(items, codes=codes, today=deadlines.local_date(now))
    people = _people(batch)
    open_cases = _open_cases({match[1] for match in people.values()})
    to_create = _sort(batch, _stored(department, {i.external_id for i in batch if i.external_id}))
    if not to_create:
        return [_result(i) for i in batch]

    reporter = actor if (actor is not None and actor.pk) else None
    _build_clues(
        to_create, people, open_cases, actor=actor, reporter=reporter, department=department, now=now
    )
    created = _insert(department, to_create)
    if created:
        _write_related(created, codes=codes, actor=reporter, now=now)
    return [_result(i) for i in batch]


def _build_clues(
    to_create: list[_Item], people: dict, open_cases: dict, *, actor, reporter, department, now
) -> None:
    """Give every item to create its clue (unsaved): matched to a person, attached to an open case."""
    county_code = _county_code(actor) if any(i.clean.id_number not in people for i in to_create) else ""
    for item in to_create:
        match = people.get(item.clean.id_number)
        case = open_cases.get(match[1]) if match else None
        item.clue = _new_clue(
            item, match, case, department=department, reporter=reporter, county_code=county_code, now=now
        )


def _status_rows(item: _Item, *, actor, now) -> list[StatusChange]:
    """The audit rows of one new alert: received, and attached to the household's open case."""
    clue = item.clue
    rows = transition_rows(
        CLUES,
        _received(clue.household_id),
        [clue],
        object_type="clue",
        from_status=transitions.NEW,
        actor=actor,
        now=now,
        data={"channel": Channel.DEPARTMENT_ALERT},
    )
    if item.case_id is not None:
        rows += transition_rows(
            CLUES,
            "attach",
            [clue],
            object_type="clue",
            from_status=transitions.target(CLUES, "receive"),
            case=item.case_id,
            actor=actor,
            now=now,
            data={"case": item.case_id},
        )
    return rows


def _write_related(created: list[_Item], *, codes: RiskCodes, actor, now) -> None:
    """The clues' risk types, their audit rows, and the attached cases' risk types and versions."""
    through = Clue.risk_types.through
    through.objects.bulk_create(
        [
            through(clue_id=i.clue.pk, risktype_id=codes.pk_by_code[code])
            for i in created
            for code in i.clean.risk_codes
        ]
    )
    StatusChange.objects.bulk_create([row for i in created for row in _status_rows(i, actor=actor, now=now)])
    attached = [i for i in created if i.case_id is not None]
    if not attached:
        return
    _join_case_risks(attached, codes=codes)
    _bump_versions(attached)


def _bump_versions(attached: list[_Item]) -> None:
    """Each case's version goes up once per clue attached to it: one update per count."""
    bumps: dict[int, int] = defaultdict(int)
    for i in attached:
        bumps[i.case_id] += 1
    by_count: dict[int, list[int]] = defaultdict(list)
    for case_id, n in bumps.items():
        by_count[n].append(case_id)
    for n, case_ids in by_count.items():
        MonitoringCase.objects.filter(pk__in=case_ids).update(version=F("version") + n)


def _join_case_risks(attached: list[_Item], *, codes: RiskCodes) -> None:
    """As ``_attach``, clue by clue: a case still being identified takes the clue's risk types
    as long as it then has at most five."""
    case_ids = {i.case_id for i in attached}
    through = MonitoringCase.risk_types.through
    have: dict[int, set[str]] = defaultdict(set)
    for case_id, code in through.objects.filter(monitoringcase_id__in=case_ids).values_list(
        "monitoringcase_id", "risktype__code"
    ):
        have[case_id].add(code)
    new_rows = []
    for i in attached:
        if i.case_status not in RISKS_JOIN_CASE_IN:
            continue
        merged = have[i.case_id] | set(i.clean.risk_codes)
        if len(merged) > CASE_MAX_RISK_TYPES:
            continue
        for code in i.clean.risk_codes:
            if code not in have[i.case_id]:
                new_rows.append(through(monitoringcase_id=i.case_id, risktype_id=codes.pk_by_code[code]))
        have[i.case_id] = merged
    if new_rows:
        through.objects.bulk_create(new_rows)
