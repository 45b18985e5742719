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
5. the new clues, their risk types and their audit rows (``receive``, and ``attach`` for a
   household with an open case) in three bulk inserts, and the attached cases' risk types and
   versions in one or two more.

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
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
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
    OPEN_CASE_STATUSES,
    Channel,
    Clue,
    ClueStatus,
    MonitoringCase,
    RiskType,
    StatusChange,
)
from monitoring.rules import deadlines, guards

MAX_BATCH = 1000
#: The fields an alert may carry; anything else is refused (a misspelt field would be lost).
FIELDS = frozenset(
    {"external_id", "id_number", "name", "risk_type", "risk_types", "found_date", "description", "amount"}
)
MAX_EXTERNAL_ID = 64  # Clue.external_id
MAX_NAME = 50  # Clue.name
MAX_DESCRIPTION = 2000
MAX_AMOUNT = Decimal("9999999999.99")  # Clue.amount: 12 digits, 2 decimals
#: Same as ``clue_create``: found more than two years ago is refused.
MAX_AGE = dt.timedelta(days=366 * 2)
#: Case statuses in which an attached clue's risk types are added to the case (as ``_attach``).
RISKS_JOIN_CASE_IN = ("identifying", "provisional")
#: ``_attach`` caps the case's risk types at this many.
CASE_MAX_RISK_TYPES = 5

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

CREATED, EXISTING, REJECTED = "created", "existing", "rejected"


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


def _text(value, *, required: bool, max_length: int, label_missing: str) -> tuple[str, str | None]:
    """A string field: (value, error)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "", (label_missing if required else None)
    if isinstance(value, bool) or not isinstance(value, str):
        return "", _("须为字符串。")
    if "\x00" in value:  # PostgreSQL cannot store (or even look up) a NUL in text
        return "", str(ProhibitNullCharactersValidator.message)
    value = value.strip()
    if len(value) > max_length:
        return "", _("不能超过%(n)s个字符。") % {"n": max_length}
    return value, None


def clean_external_id(value) -> tuple[str, str | None]:
    """The department's alert number: a string (or a whole number) of 1 to 64 characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(
        value, required=True, max_length=MAX_EXTERNAL_ID, label_missing=_("部门预警须有部门的预警编号。")
    )


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


def _clean_amount(value) -> tuple[Decimal | None, str | None]:
    if value is None or value == "":
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None, _("请填写数字金额。")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None, _("请填写数字金额。")
    if not amount.is_finite():
        return None, _("请填写数字金额。")
    if amount < 0:
        return None, _("金额不能为负数。")
    if amount > MAX_AMOUNT:
        return None, _("金额过大，请核实。")
    if amount != amount.quantize(Decimal("0.01")):
        return None, _("金额最多保留两位小数。")
    return amount.quantize(Decimal("0.01")), None


def _clean_risks(item: dict, codes: RiskCodes) -> tuple[str, list[str], str | None]:
    """(the field the codes came in, the codes, error)."""
    has_one, has_many = item.get("risk_type") not in (None, ""), item.get("risk_types") not in (None, [])
    if has_one and has_many:
        return "risk_type", [], _("请只填写 risk_type 或 risk_types 其中之一。")
    if has_many:
        raw = item["risk_types"]
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            return "risk_types", [], _("须为风险类型代码（字符串）的列表。")
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


def clean_alert(item: Any, *, codes: RiskCodes, today: dt.date) -> tuple[str, CleanAlert | None, dict]:
    """Validate one alert (a dict from JSON): ``(external_id, clean or None, errors)``.

    The external id is returned even when other fields are wrong, so that a retry of an
    alert already stored is recognised whatever else it says (as ``alert_receive`` does).
    """
    if not isinstance(item, dict):
        return "", None, {"non_field_errors": _("每条预警须为一个 JSON 对象。")}
    errors: dict[str, str] = {}
    for key in item:
        if key not in FIELDS:
            errors[str(key)[:40]] = _("未知字段。")
    external_id, err = clean_external_id(item.get("external_id"))
    if err:
        errors["external_id"] = err
    raw_number = item.get("id_number")
    number = ""
    if raw_number is None or raw_number == "":
        errors["id_number"] = _("请填写公民身份号码。")
    elif not isinstance(raw_number, str):
        errors["id_number"] = _("公民身份号码须为字符串。")
    elif len(raw_number) > 40:
        errors["id_number"] = _("公民身份号码应为18位。")
    else:
        try:
            number = idnumber.parse(raw_number, today=today).number
        except idnumber.IDNumberError as exc:
            errors["id_number"] = str(exc.message)
    name, err = _text(item.get("name"), required=True, max_length=MAX_NAME, label_missing=_("请填写姓名。"))
    if err:
        errors["name"] = err
    description, err = _text(
        item.get("description"), required=False, max_length=MAX_DESCRIPTION, label_missing=""
    )
    if err:
        errors["description"] = err
    key, risk_codes, err = _clean_risks(item, codes)
    if err:
        errors[key] = err
    found_date, err = _clean_date(item.get("found_date"), today)
    if err:
        errors["found_date"] = err
    amount, err = _clean_amount(item.get("amount"))
    if err:
        errors["amount"] = err
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
    today = deadlines.local_date(now)
    if actor is not None and actor.role == Role.DEPARTMENT and not actor.is_superuser:
        department = actor.department
    _check_actor(actor, department)
    if department is None or not department.is_active:
        raise NotAllowed(_("该部门未启用，不能推送预警。"))
    if not isinstance(items, list):
        raise ValidationError({"items": _("须为预警列表。")})
    if len(items) > MAX_BATCH:
        raise ValidationError({"items": _("一次最多提交%(n)s条预警。") % {"n": MAX_BATCH}})
    if not items:
        return []

    codes = RiskCodes.load()
    batch: list[_Item] = []
    for index, raw in enumerate(items):
        external_id, clean, errors = clean_alert(raw, codes=codes, today=today)
        batch.append(_Item(index=index, external_id=external_id, clean=clean, errors=errors))

    # People and households by ID number, then the open cases of those households (locked, so
    # a concurrent batch attaching to the same case waits and then reads what this one stored).
    numbers = {i.clean.id_number for i in batch if i.clean is not None}
    people: dict[str, tuple[int, int, str]] = {
        row[0]: row[1:]
        for row in Person.objects.filter(id_number__in=numbers).values_list(
            "id_number", "pk", "household_id", "household__area_code"
        )
    }
    household_ids = {people[n][1] for n in numbers if n in people}
    open_cases: dict[int, dict] = {}
    if household_ids:
        rows = (
            MonitoringCase.objects.select_for_update()
            .filter(household_id__in=household_ids, status__in=OPEN_CASE_STATUSES)
            .order_by("pk")
            .values("pk", "household_id", "status")
        )
        open_cases = {row["household_id"]: row for row in rows}

    # What the department has already sent under these external ids.
    stored = _stored(department, {i.external_id for i in batch if i.external_id})
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
    if not to_create:
        return [_result(i) for i in batch]

    county_code = _county_code(actor) if any(i.clean.id_number not in people for i in to_create) else ""
    reporter = actor if (actor is not None and actor.pk) else None
    for item in to_create:
        c = item.clean
        match = people.get(c.id_number)
        person_id, household_id, area_code = match if match else (None, None, county_code)
        case = open_cases.get(household_id) if household_id else None
        item.case_id = case["pk"] if case else None
        item.case_status = case["status"] if case else ""
        if case is not None:
            status = ClueStatus.ATTACHED
            # Stored text is in the deployment's language, whatever the caller's Accept-Language.
            with translation.override(settings.LANGUAGE_CODE):
                outcome = _("已并入在办案件（#%(id)s）") % {"id": case["pk"]}
            outcome_at = now
        else:
            status = ClueStatus.PENDING if household_id else ClueStatus.UNMATCHED
            outcome, outcome_at = "", None
        item.clue = Clue(
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
            status=status,
            case_id=item.case_id,
            outcome=outcome,
            outcome_at=outcome_at,
        )

    created = _insert(department, to_create)
    if created:
        _write_related(created, codes=codes, actor=reporter, now=now)
    return [_result(i) for i in batch]


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
    changes = []
    for i in created:
        attached = i.case_id is not None
        changes.append(
            StatusChange(
                object_type="clue",
                object_id=i.clue.pk,
                action="receive",
                from_status="",
                to_status=ClueStatus.PENDING if attached else i.clue.status,
                actor=actor,
                at=now,
                data={"channel": Channel.DEPARTMENT_ALERT},
            )
        )
        if attached:
            changes.append(
                StatusChange(
                    object_type="clue",
                    object_id=i.clue.pk,
                    case_id=i.case_id,
                    action="attach",
                    from_status=ClueStatus.PENDING,
                    to_status=ClueStatus.ATTACHED,
                    actor=actor,
                    at=now,
                    data={"case": i.case_id},
                )
            )
    StatusChange.objects.bulk_create(changes)

    attached = [i for i in created if i.case_id is not None]
    if not attached:
        return
    _join_case_risks(attached, codes=codes)
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
