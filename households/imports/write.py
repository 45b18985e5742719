"""``apply_rows``: the one writer of an import. All or nothing (one transaction), history kept.

It writes what ``validate.check`` planned, compared with the registry: a household, person or
year's income that is not there is created, one whose values differ is updated (only the
fields that changed), one that is the same is left alone, so re-importing a file changes
nothing. Rows are written in bulk with django-simple-history's ``bulk_create_with_history``
and ``bulk_update_with_history``: each created or changed row gets its history row, with the
actor and the reason, as the services' ``save()`` would write.

The rules the services enforce hold: ID numbers (check digit, birth date and sex derived,
unique across the deployment) and phones were checked by ``validate``; ``member_count``, the
head and the per-capita net income (``households/income.py``) are computed here the way the
services compute them.

Derived data: **every** write of an import ends in :func:`_after_household_changes` with the
ids of the households created or changed — the place where data derived from households
(ledger membership over time, …) must be refreshed for bulk writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .. import income
from ..models import Household, IncomeRecord, MonitoringStatus, Person, Relation
from ..signals import households_written, monitoring_imported
from . import layouts
from .validate import Plan

BATCH = 2000
#: fields of the plan's household rows that are not model fields of the same name
_DERIVED = ("risk_eliminated", "elimination_mode", "risk_1", "risk_2", "risk_3", "risk_4", "risk_5")
#: the household's monitoring columns (left alone for a household inside the workflow)
_MONITORING = ("monitoring_status", "monitoring_category", "identified_on", "eliminated_on")
#: monitoring statuses an import may set (a household inside a running case keeps its own)
_SETTABLE_STATUS = (MonitoringStatus.NONE, MonitoringStatus.MONITORED, MonitoringStatus.ELIMINATED)


@dataclass
class Result:
    created: dict = field(default_factory=lambda: {"households": 0, "people": 0, "incomes": 0})
    changed: dict = field(default_factory=lambda: {"households": 0, "people": 0, "incomes": 0})
    #: what the monitoring app made of the monitoring columns (imported cases created, changed,
    #: households left to their running procedure)
    monitoring: dict = field(default_factory=dict)
    #: [{"household": number, "what": "household"|"person"|"income", "fields": [...]}]
    changes: list = field(default_factory=list)
    household_ids: set = field(default_factory=set)

    def as_dict(self, limit: int = 500) -> dict:
        return {
            "created": self.created,
            "changed": self.changed,
            "changes": self.changes[:limit],
            "changes_total": len(self.changes),
            "monitoring": self.monitoring,
        }


def _chunks(items, size=5000):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _household_values(row) -> dict:
    values = {k: v for k, v in row.fields.items() if k not in _DERIVED}
    values["village_id"] = row.village_id
    values["area_code"] = row.village_code
    if "monitoring_category" in row.fields or "identified_on" in row.fields:
        eliminated = bool(row.fields.get("risk_eliminated")) or bool(row.fields.get("eliminated_on"))
        if row.fields.get("monitoring_category"):
            values["monitoring_status"] = (
                MonitoringStatus.ELIMINATED if eliminated else MonitoringStatus.MONITORED
            )
        else:
            values["monitoring_status"] = MonitoringStatus.NONE
        if not eliminated:
            values["eliminated_on"] = None
    return values


def _diff(instance, values: dict) -> list[str]:
    return [name for name, value in values.items() if getattr(instance, name) != value]


@transaction.atomic
def apply_rows(
    plan: Plan, *, actor, reason: str = "", progress=None, now: dt.datetime | None = None
) -> Result:
    """Write ``plan`` (which must have no errors) to the registry; return what changed."""
    assert plan.ok, "apply_rows takes a plan without errors"
    now = now or timezone.now()
    reason = reason or _("批量导入")
    result = Result()
    history = {
        "batch_size": BATCH,
        "default_user": actor,
        "default_change_reason": reason,
        "default_date": now,
    }
    households, created = _write_households(plan, result, now=now, history=history)
    people, moved_from = _write_people(plan, households, result, now=now, history=history, progress=progress)
    _write_heads(
        plan, households, people, created, history={**history, "default_change_reason": _("设定户主")}
    )
    _count_members(result.household_ids | moved_from)
    _created_history(created, history)
    _write_incomes(plan, households, now=now, result=result, history=history)
    if progress:
        progress(len(plan.people))
    _after_household_changes(sorted(result.household_ids | moved_from), at=now)
    _monitoring_columns(plan, households, result, actor=actor, now=now, reason=reason)
    return result


def _monitoring_rows(plan: Plan, households: dict) -> list[dict]:
    rows = []
    for number, row in plan.households.items():
        category = row.fields.get("monitoring_category")
        if not category:
            continue
        eliminated = bool(row.fields.get("risk_eliminated")) or bool(row.fields.get("eliminated_on"))
        risks = []
        for n in range(1, 6):
            code = row.fields.get(f"risk_{n}")
            if code and code not in risks:
                risks.append(code)
        rows.append(
            {
                "household_id": households[number].pk,
                "number": number,
                "row": row.row,
                "category": category,
                "identified_on": row.fields.get("identified_on"),
                "eliminated_on": row.fields.get("eliminated_on") if eliminated else None,
                "eliminated": eliminated,
                "elimination_mode": (row.fields.get("elimination_mode") or "") if eliminated else "",
                "risks": risks,
            }
        )
    return rows


def _monitoring_columns(plan: Plan, households: dict, result: Result, *, actor, now, reason) -> None:
    """The monitoring columns beyond the household's own fields (risks 1–5, the elimination
    mode, the identification as a case) go to the monitoring app, in this transaction
    (:data:`households.signals.monitoring_imported`); it answers what it did."""
    rows = _monitoring_rows(plan, households)
    if not rows:
        return
    for _receiver, answer in monitoring_imported.send(
        apply_rows, rows=rows, actor=actor, at=now, reason=reason
    ):
        if isinstance(answer, dict):
            result.monitoring.update(answer)


def _write_households(plan: Plan, result: Result, *, now, history: dict) -> dict[str, Household]:
    existing: dict[str, Household] = {}
    for chunk in _chunks(plan.households):
        existing.update(
            {h.number: h for h in Household.objects.select_for_update().filter(number__any=chunk)}
        )
    in_workflow = layouts.monitoring_source().in_workflow([h.pk for h in existing.values()])
    to_create, to_update, update_fields = [], [], set()
    for number, row in plan.households.items():
        values = _household_values(row)
        household = existing.get(number)
        if household is None:
            to_create.append(Household(number=number, created_at=now, updated_at=now, **values))
            continue
        if household.monitoring_status not in _SETTABLE_STATUS or household.pk in in_workflow:
            for name in _MONITORING:
                values.pop(name, None)
        changed = _diff(household, values)
        if changed:
            for name in changed:
                setattr(household, name, values[name])
            household.updated_at = now
            update_fields.update(changed)
            to_update.append(household)
            result.changes.append({"household": number, "what": "household", "fields": sorted(changed)})
    if to_create:
        # their history rows are written once their head and member count are known
        # (_created_history): one "created" row per household, as a service's save writes
        _insert(to_create, Household, "number")
    if to_update:
        bulk_update_with_history(to_update, Household, [*sorted(update_fields), "updated_at"], **history)
    result.created["households"] = len(to_create)
    result.changed["households"] = len(to_update)
    result.household_ids.update(h.pk for h in [*to_create, *to_update])
    return {**existing, **{h.number: h for h in to_create}}, to_create


_DEFAULTS: dict = {}


def _new(model, **values):
    """A new row to insert. On PostgreSQL a plain object with the model's field values (its
    defaults, then ``values``): ``COPY`` and the history rows only read attributes, and tens of
    thousands of model instances (``__init__`` and its two signals each) cost seconds. Elsewhere
    the model instance ``bulk_create`` needs."""
    if connection.vendor != "postgresql":
        return model(**values)
    if model not in _DEFAULTS:
        fields = model._meta.concrete_fields
        fixed = {f.attname: f.get_default() for f in fields if not callable(f.default)}
        _DEFAULTS[model] = ({**fixed, "pk": None}, [f for f in fields if callable(f.default)])
    fixed, computed = _DEFAULTS[model]
    row = SimpleNamespace(**{**fixed, **values})
    for f in computed:  # callable defaults: evaluated per row, unless given
        if f.attname not in values:
            setattr(row, f.attname, f.get_default())
    return row


def _copy_rows(model, fields, rows) -> None:
    """PostgreSQL ``COPY … FROM STDIN`` of ``rows`` (tuples of the fields' values)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _insert(objs: list, model, key: str) -> None:
    """Insert new rows and set their primary keys (found again by the unique ``key``). On
    PostgreSQL with ``COPY`` (the ORM's bulk insert prepares every value of every row in
    Python, the slow part of a 50,000-row import); elsewhere with ``bulk_create``."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=BATCH)
        _fill_keys(objs, model, key)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    _copy_rows(model, fields, ([getattr(o, f.attname) for f in fields] for o in objs))
    _fill_keys(objs, model, key)


def _history(objs: list, model, history: dict, kind: str = "+") -> None:
    """One history row per object (django-simple-history's rows, as ``save()`` writes them):
    on PostgreSQL by ``COPY``, elsewhere by ``bulk_history_create``."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.history.bulk_history_create(
            objs,
            batch_size=BATCH,
            update=kind == "~",
            default_user=history["default_user"],
            default_change_reason=history["default_change_reason"],
            default_date=history["default_date"],
        )
        return
    historical = model.history.model
    fields = [f for f in historical._meta.concrete_fields if f.attname != "history_id"]
    user = history["default_user"]
    extra = {
        "history_date": history["default_date"],
        "history_type": kind,
        "history_change_reason": history["default_change_reason"],
        "history_user_id": user.pk if user is not None else None,
    }
    _copy_rows(
        historical,
        fields,
        ([extra[f.attname] if f.attname in extra else getattr(o, f.attname) for f in fields] for o in objs),
    )


def _fill_keys(objs: list, model, key: str) -> None:
    """Primary keys of rows a backend's bulk insert did not return."""
    if all(o.pk is not None for o in objs):
        return
    ids = {}
    for chunk in _chunks(getattr(o, key) for o in objs):
        ids.update(model.objects.filter(**{f"{key}__in": chunk}).values_list(key, "id"))
    for o in objs:
        o.pk = o.id = ids[getattr(o, key)]


def _write_people(plan: Plan, households: dict, result: Result, *, now, history: dict, progress):
    people: dict[str, Person] = {}
    for chunk in _chunks(p.id_number for p in plan.people):
        people.update(
            {p.id_number: p for p in Person.objects.select_for_update().filter(id_number__any=chunk)}
        )
    new_people, changed_people, person_fields = [], [], set()
    moved_from: set[int] = set()
    for written, row in enumerate(plan.people, start=1):
        household = households[row.household]
        values = {**row.fields, "household_id": household.pk}
        person = people.get(row.id_number)
        if person is None:
            person = _new(
                Person,
                id_number=row.id_number,
                birth_date=row.birth_date,
                sex=row.sex,
                created_at=now,
                updated_at=now,
                **values,
            )
            new_people.append(person)
        elif changed := _diff(person, values):
            if "household_id" in changed:
                moved_from.add(person.household_id)
            for name in changed:
                setattr(person, name, values[name])
            person.updated_at = now
            person_fields.update(changed)
            changed_people.append(person)
            result.changes.append({"household": row.household, "what": "person", "fields": sorted(changed)})
            result.household_ids.add(household.pk)
        people[row.id_number] = person
        if progress and written % 2000 == 0:
            progress(written)
    if new_people:
        _insert(new_people, Person, "id_number")
        _history(new_people, Person, history)
        result.household_ids.update(p.household_id for p in new_people)
    if changed_people:
        bulk_update_with_history(changed_people, Person, [*sorted(person_fields), "updated_at"], **history)
    result.created["people"] = len(new_people)
    result.changed["people"] = len(changed_people)
    return people, moved_from


def _write_heads(plan: Plan, households: dict, people: dict, created: list, *, history: dict) -> None:
    """The head is the person whose relation is 户主, as the services' ``_sync_head`` keeps it.
    A household created by this import gets its head before its history row is written."""
    new = {h.pk for h in created}
    changed, first = [], []
    for row in plan.people:
        if row.fields.get("relation") != Relation.HEAD:
            continue
        household, head_id = households[row.household], people[row.id_number].pk
        if household.head_id != head_id:
            household.head_id = head_id
            (first if household.pk in new else changed).append(household)
    if first:  # set-based: each new household's head is its member recorded as head
        head = Person.objects.filter(household_id=OuterRef("pk"), relation=Relation.HEAD).values("id")[:1]
        for chunk in _chunks(h.pk for h in first):
            Household.objects.filter(pk__any=chunk).update(head_id=Subquery(head))
    if changed:
        bulk_update_with_history(changed, Household, ["head"], **history)


def _created_history(created: list, history: dict) -> None:
    """The "created" history rows of the households this import created, in their final state."""
    if not created:
        return
    counts = {}
    for chunk in _chunks(h.pk for h in created):
        counts.update(Household.objects.filter(pk__any=chunk).values_list("pk", "member_count"))
    for household in created:
        household.member_count = counts[household.pk]
    _history(created, Household, history)


def _count_members(ids) -> None:
    """``member_count`` of the households touched, set-based (as ``services._count_members``)."""
    counted = (
        Person.objects.filter(household_id=OuterRef("pk"))
        .order_by()
        .values("household_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    for chunk in _chunks(ids):
        Household.objects.filter(pk__any=chunk).update(
            member_count=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
        )


def _write_incomes(plan: Plan, households: dict, *, now, result: Result, history: dict) -> None:
    if not plan.incomes:
        return
    ids = [households[n].pk for n in plan.incomes]
    residents: dict[int, int] = {}
    records: dict[tuple[int, int], IncomeRecord] = {}
    for chunk in _chunks(ids):
        residents.update(
            Person.objects.filter(household_id__any=chunk)
            .order_by()
            .values("household_id")
            .annotate(n=Count("id", filter=Q(is_resident=True)))
            .values_list("household_id", "n")
        )
        records.update(
            {
                (r.household_id, r.year): r
                for r in IncomeRecord.objects.select_for_update().filter(household_id__any=chunk)
            }
        )
    new, changed, fields = [], [], set()
    for number, row in plan.incomes.items():
        household = households[number]
        values = dict(row.amounts)
        values["members"] = residents.get(household.pk, 0)
        values["net_income"] = income.net_income(
            **{
                k: values.get(k, 0)
                for k in ("wages", "business", "property_income", "transfer", "business_expenditure")
            }
        )
        values["per_capita_net_income"] = income.per_capita(values["net_income"], values["members"])
        record = records.get((household.pk, row.year))
        if record is None:
            new.append(
                _new(IncomeRecord, household_id=household.pk, year=row.year, recorded_on=now.date(), **values)
            )
            result.household_ids.add(household.pk)
            continue
        diff = _diff(record, values)
        if diff:
            for name in diff:
                setattr(record, name, values[name])
            fields.update(diff)
            changed.append(record)
            result.changes.append({"household": number, "what": "income", "fields": sorted(diff)})
            result.household_ids.add(household.pk)
    if new:
        if connection.vendor == "postgresql":
            fields = [f for f in IncomeRecord._meta.concrete_fields if not f.primary_key]
            _copy_rows(IncomeRecord, fields, ([getattr(o, f.attname) for f in fields] for o in new))
            keys = {}
            for chunk in _chunks({o.household_id for o in new}):
                keys.update(
                    ((h, y), pk)
                    for pk, h, y in IncomeRecord.objects.filter(household_id__any=chunk).values_list(
                        "pk", "household_id", "year"
                    )
                )
            for o in new:
                o.pk = o.id = keys[(o.household_id, o.year)]
            _history(new, IncomeRecord, history)
        else:
            bulk_create_with_history(new, IncomeRecord, **history)
    if changed:
        bulk_update_with_history(changed, IncomeRecord, sorted(fields), **history)
    result.created["incomes"] = len(new)
    result.changed["incomes"] = len(changed)


def _after_household_changes(ids: list[int], *, at: dt.datetime) -> None:
    """Called once at the end of every import write with the ids of every household created or
    changed (its own fields, its members, its income). Data derived from the households'
    monitoring status, type, low-income status and village is refreshed here after the bulk
    write (the services' ``save()`` paths do their own): the layers above listen to
    :data:`households.signals.households_written` (the monitoring app keeps the ledgers'
    membership over time by it)."""
    if ids:
        households_written.send(apply_rows, households=ids, at=at)
