"""Reads of the registry that are more than a ``get``: a household's change history (who, when,
what changed) across the household, its members, income records and helper assignments."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import BooleanField, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Area, Role, ScopePolicy, area_prefix_q
from households import idnumber
from households.models import Household, IncomeRecord, Person

ACTIONS = {"+": gettext_lazy("新增"), "~": gettext_lazy("修改"), "-": gettext_lazy("删除")}
SKIPPED = {"id", "created_at", "updated_at", "area_code", "member_count"}
PHONES = {"phone", "monitoring_contact_phone"}


def _diff(record, before) -> list[tuple[str, object, object]]:
    """``diff_against`` the previous row, plus the computed (non-editable) fields it leaves
    out, such as the per-capita income, the birth date and the sex."""
    changes = [(c.field, c.old, c.new) for c in record.diff_against(before, excluded_fields=SKIPPED).changes]
    for field in record.tracked_fields:
        if field.editable or field.name in SKIPPED:
            continue
        old, new = getattr(before, field.attname), getattr(record, field.attname)
        if old != new:
            changes.append((field.name, old, new))
    return changes


def change_history(household: Household, *, reveal: bool) -> list[dict]:
    """Every history row of the household, its members and its income records, newest first,
    each with the fields it changed (``diff_against`` the same object's previous row).

    A fixed number of queries: one per history table, and one per kind of related row named
    in a change (villages, people, households).
    """
    sources = (
        (Household, household.history.select_related("history_user"), lambda r: r.number, _("农户")),
        (
            Person,
            Person.history.filter(household_id=household.pk).select_related("history_user"),
            lambda r: r.name,
            _("家庭成员"),
        ),
        (
            IncomeRecord,
            IncomeRecord.history.filter(household_id=household.pk).select_related("history_user"),
            lambda r: _("%(year)s年度") % {"year": r.year},
            _("收支情况"),
        ),
    )
    entries: list[dict] = []
    wanted: dict[type, set] = defaultdict(set)
    for model, rows, name_of, kind in sources:
        previous: dict[int, object] = {}
        for record in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
            before = previous.get(record.id)
            changes = []
            if before is not None and record.history_type == "~":
                for name, old, new in sorted(
                    _diff(record, before), key=lambda c: _field_position(model, c[0])
                ):
                    field = model._meta.get_field(name)
                    if field.is_relation:
                        wanted[field.related_model].update(v for v in (old, new) if v)
                    changes.append((model, field, old, new))
            previous[record.id] = record
            entries.append(
                {
                    "at": record.history_date,
                    "who": record.history_user,
                    "kind": kind,
                    "name": name_of(record),
                    "action": ACTIONS.get(record.history_type, record.history_type),
                    # services store the reason's msgid (the Chinese text): shown translated
                    "reason": _(record.history_change_reason) if record.history_change_reason else "",
                    "raw_changes": changes,
                }
            )
    names = _related_names(wanted)
    for entry in entries:
        entry["changes"] = [
            {
                "field": field.verbose_name,
                "old": _display(field, old, reveal=reveal, names=names),
                "new": _display(field, new, reveal=reveal, names=names),
            }
            for _model, field, old, new in entry.pop("raw_changes")
        ]
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries


def _field_position(model, name: str) -> int:
    names = [f.name for f in model._meta.concrete_fields]
    return names.index(name) if name in names else len(names)


def _related_names(wanted: dict[type, set]) -> dict[tuple[type, object], str]:
    names: dict[tuple[type, object], str] = {}
    label_field = {Area: "name", Person: "name", Household: "number"}
    for model, pks in wanted.items():
        field = label_field.get(model)
        if field is None or not pks:
            continue
        for pk, label in model._default_manager.filter(pk__in=pks).values_list("pk", field):
            names[(model, pk)] = label
    return names


def _display(field, value, *, reveal: bool, names: dict) -> str:
    if field.is_relation:
        if value in (None, ""):
            return "—"
        return names.get((field.related_model, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value)) if value is not None else "—"
    if isinstance(field, BooleanField):
        return _("是") if value else _("否")
    if value in (None, ""):
        return "—"
    if field.name == "id_number" and not reveal:
        return idnumber.mask(value)
    if field.name == "birth_date" and not reveal:  # the part of the ID number the mask hides
        return "****"
    if field.name in PHONES and not reveal:
        return idnumber.mask_phone(value)
    return str(value)


class HelperScope(ScopePolicy):
    """Helpers in the user's counties (a helper belongs to a county rather than a village, so
    ``Helper`` has no ``for_user``); a helper sees their own profile only, departments none."""

    area_field = "county__code"

    def area_q(self, user) -> Q:
        prefixes = user.scope_prefixes()
        counties = {p[:6] + "000000" for p in prefixes if len(p) >= 6}
        return area_prefix_q(self.area_field, prefixes) | Q(county__code__in=counties)

    def department_q(self, user) -> Q | None:
        return None

    def visible_q(self, user) -> Q | None:
        return Q(user=user) if user.role == Role.HELPER else super().visible_q(user)


def helpers_for(user, queryset):
    """The helpers of ``queryset`` the user may see (:class:`HelperScope`)."""
    return HelperScope().rows(queryset, user)
