"""Every write to the registry. Keyword-only, typed, one transaction each.

Each service checks the actor's area, validates with messages that name the field (Chinese
by default), saves with the actor and the reason recorded in the row's history.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, AreaLevel, Role

from . import idnumber, income
from .models import (
    AssignmentKind,
    Helper,
    HelperAssignment,
    Household,
    IncomeRecord,
    Person,
    Relation,
)

REGISTRY_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)


def _check_area(actor, area_code: str, *, field: str = "village") -> None:
    if actor is None:  # system jobs (demo data, imports run by an operator on the shell)
        return
    if not actor.covers(area_code):
        raise ValidationError({field: _("该村不在您的工作区域内。")})


def _check_can_edit(actor) -> None:
    if actor is not None and not actor.has_role(*REGISTRY_ROLES):
        raise NotAllowed(_("您的角色不能修改农户信息。"))


def _save(instance, *, actor, reason: str = "", exclude=None, errors: dict | None = None, now=None) -> None:
    """Validate (adding the model's own messages to ``errors`` found before), then save.

    Every message of one call is raised together in one ValidationError, by field. ``now``:
    the moment of the change its history row records (default: the clock).
    """
    _full_clean(instance, errors or {}, exclude=exclude)
    instance._history_user = actor
    instance._change_reason = reason
    if now is not None:
        instance._history_date = now
    instance.save()


def _full_clean(instance, errors: dict, *, exclude=None) -> None:
    """Run the model's checks on the fields without an error yet; raise all errors at once."""
    skip = [*(exclude or ()), *errors]
    try:
        instance.full_clean(exclude=skip)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            _add(errors, name, *messages)
    if errors:
        raise ValidationError(errors)


def _add(errors: dict, field: str, *messages) -> None:
    errors.setdefault(field, []).extend(messages)


def _collect(errors: dict, check, *args, **kwargs):
    """Call ``check``; a ValidationError it raises is added to ``errors`` (and None returned)."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            _add(errors, name, *messages)
        return None


def _apply(instance, fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields).difference(allowed)
    if unknown:
        raise ValidationError({name: _("不能修改此项。") for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)


#: What a household's services may set besides its number and village, in the order the forms
#: show them (the admin's and the pages' forms take their fields from here).
HOUSEHOLD_FIELDS = (
    "address",
    "phone",
    "household_type",
    "low_income_status",
    "housing_grade",
    "cultivated_land_mu",
    "no_labour_safety_net",
    "military_family",
    "relocation_settlement",
    "relocation_address",
    "food_clothing_secure",
    "compulsory_education_secure",
    "medical_insurance_secure",
    "housing_secure",
    "drinking_water_secure",
    "monitoring_contact",
    "monitoring_contact_phone",
)

#: What a person's services may set besides the ID number, in the order the forms show them.
PERSON_FIELDS = (
    "name",
    "relation",
    "ethnicity",
    "is_resident",
    "health_status",
    "disability",
    "labour_capacity",
    "school_status",
    "school_grade",
    "basic_medical_insurance",
    "serious_illness_insurance",
    "commercial_insurance",
    "pension_insurance",
    "migrant_worker",
    "work_place",
    "work_months",
    "public_welfare_job",
)
#: The same without the name (which ``person_add`` takes on its own).
PERSON_DETAIL_FIELDS = tuple(name for name in PERSON_FIELDS if name != "name")


def _village(village) -> Area:
    if not isinstance(village, Area):
        try:
            village = Area.objects.filter(pk=village).first()
        except (TypeError, ValueError):  # not a primary key at all
            village = None
    if village is None or village.level != AreaLevel.VILLAGE:
        raise ValidationError({"village": _("请选择一个村。")})
    return village


@transaction.atomic
def household_create(
    *, actor, number: str, village, reason: str = "", now: dt.datetime | None = None, **fields
) -> Household:
    _check_can_edit(actor)
    errors: dict = {}
    village = _collect(errors, _village, village)
    if village is not None:
        _collect(errors, _check_area, actor, village.code)
    number = (number or "").strip()
    if not number:
        _add(errors, "number", _("请填写户编号。"))
    elif Household.objects.filter(number=number).exists():
        _add(errors, "number", _("户编号已存在。"))
    household = Household(number=number, village=village, area_code=village.code if village else "")
    _apply(household, fields, HOUSEHOLD_FIELDS)
    exclude = [] if village is not None else ["village", "area_code"]
    _save(household, actor=actor, reason=reason or _("登记农户"), exclude=exclude, errors=errors, now=now)
    return household


@transaction.atomic
def household_update(
    *, actor, household: Household, reason: str = "", now: dt.datetime | None = None, **fields
) -> Household:
    _check_can_edit(actor)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _check_area(actor, household.area_code)
    errors: dict = {}
    if "village" in fields:
        village = _collect(errors, _village, fields.pop("village"))
        if village is not None:
            _collect(errors, _check_area, actor, village.code)
        if village is not None and "village" not in errors:
            household.village, household.area_code = village, village.code
    _apply(household, fields, HOUSEHOLD_FIELDS)
    _save(household, actor=actor, reason=reason or _("修改农户信息"), errors=errors, now=now)
    return household


def suggest_number(village) -> str:
    """The next free household number of ``village``: its 12-digit code and a 4-digit running
    number (the format the registry's numbers use), one above the highest in use."""
    code = village.code
    used = Household.objects.filter(number__startswith=code).values_list("number", flat=True)
    highest = max(
        (int(n[len(code) :]) for n in used if len(n) == len(code) + 4 and n[len(code) :].isdigit()),
        default=0,
    )
    candidate = highest + 1
    while Household.objects.filter(number=f"{code}{candidate:04d}").exists():  # pragma: no cover
        candidate += 1
    return f"{code}{candidate:04d}"


def _parse_id(raw: str) -> idnumber.IDInfo:
    try:
        return idnumber.parse(raw)
    except idnumber.IDNumberError as exc:
        raise ValidationError({"id_number": exc.message}) from None


def _check_unique_id(number: str, *, exclude_pk=None) -> None:
    other = Person.objects.filter(id_number=number).exclude(pk=exclude_pk).select_related("household").first()
    if other is not None:
        raise ValidationError(
            {
                "id_number": _(
                    "该公民身份号码已登记在户 %(number)s 中；一人只能属于一户，如需迁移请办理成员迁移。"
                )
                % {"number": other.household.number}
            }
        )


def _check_person(errors: dict, *, id_number: str, exclude_pk=None) -> idnumber.IDInfo | None:
    info = _collect(errors, _parse_id, id_number)
    if info is not None:
        _collect(errors, _check_unique_id, info.number, exclude_pk=exclude_pk)
    return info


@transaction.atomic
def person_add(
    *, actor, household: Household, id_number: str, name: str, reason: str = "", **fields
) -> Person:
    _check_can_edit(actor)
    # Lock and re-read: setting the head saves the household, which must not write back a
    # copy the caller read before someone else's edit.
    household = Household.objects.select_for_update().get(pk=household.pk)
    _check_area(actor, household.area_code, field="household")
    errors: dict = {}
    info = _check_person(errors, id_number=id_number)
    if not (name or "").strip():
        _add(errors, "name", _("请填写姓名。"))
    person = Person(
        household=household,
        id_number=info.number if info else "",
        name=(name or "").strip(),
        birth_date=info.birth_date if info else None,
        sex=info.sex if info else "",
    )
    _apply(person, fields, PERSON_FIELDS)
    exclude = [] if info else ["id_number", "birth_date", "sex"]
    _full_clean(person, errors, exclude=exclude)
    try:
        with transaction.atomic():
            _save(person, actor=actor, reason=reason or _("新增家庭成员"))
    except IntegrityError:  # a concurrent insert of the same ID number
        _check_unique_id(info.number)
        raise
    _sync_head(household, person, actor=actor)
    _recompute_latest_income(household, actor=actor)
    _count_members(household)
    return person


def _count_members(*households: Household) -> None:
    """``member_count`` from the registry's rows (a derived figure: no history row of its own)."""
    for household in households:
        household.member_count = household.members.count()
        Household.objects.filter(pk=household.pk).update(member_count=household.member_count)


def _sync_head(household: Household, person: Person, *, actor) -> None:
    """Keep ``household.head`` in step with the person's relation (户主).

    A person recorded as head becomes the household's head when it has none; a head whose
    relation changes to something else leaves the household without one.
    """
    if person.relation == Relation.HEAD and household.head_id is None:
        household.head = person
        _save(household, actor=actor, reason=_("设定户主"))
    elif person.relation != Relation.HEAD and household.head_id == person.pk:
        household.head = None
        _save(household, actor=actor, reason=_("户主变更"))


@transaction.atomic
def person_update(*, actor, person: Person, reason: str = "", **fields) -> Person:
    _check_can_edit(actor)
    person = Person.objects.select_for_update().select_related("household").get(pk=person.pk)
    _check_area(actor, person.household.area_code, field="household")
    errors: dict = {}
    if "id_number" in fields:
        info = _check_person(errors, id_number=fields.pop("id_number"), exclude_pk=person.pk)
        if info is not None and "id_number" not in errors:
            person.id_number, person.birth_date, person.sex = info.number, info.birth_date, info.sex
    _apply(person, fields, PERSON_FIELDS)
    _save(person, actor=actor, reason=reason or _("修改成员信息"), errors=errors)
    household = Household.objects.select_for_update().get(pk=person.household_id)
    _sync_head(household, person, actor=actor)
    _recompute_latest_income(household, actor=actor)
    return person


@transaction.atomic
def person_move(*, actor, person: Person, to_household: Household, relation: str, reason: str) -> Person:
    """Move a person to another household; the history keeps where they were."""
    _check_can_edit(actor)
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.household_id == to_household.pk:
        raise ValidationError({"to_household": _("成员已在该户中。")})
    # Both households are re-read under lock, in primary-key order so two opposite moves
    # cannot deadlock.
    locked = Household.objects.select_for_update().filter(pk__in=[person.household_id, to_household.pk])
    by_pk = {h.pk: h for h in locked.order_by("pk")}
    old, to_household = by_pk[person.household_id], by_pk[to_household.pk]
    _check_area(actor, old.area_code, field="household")
    _check_area(actor, to_household.area_code, field="to_household")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写迁移原因。")})
    person.household, person.relation = to_household, relation
    _save(person, actor=actor, reason=reason)
    if old.head_id == person.pk:
        old.head = None
        _save(old, actor=actor, reason=_("户主迁出"))
    _sync_head(to_household, person, actor=actor)
    _recompute_latest_income(old, actor=actor)
    _recompute_latest_income(to_household, actor=actor)
    _count_members(old, to_household)
    return person


def _members(household: Household) -> int:
    return household.members.filter(is_resident=True).count()


def _compute(record: IncomeRecord) -> None:
    record.net_income = income.net_income(
        wages=record.wages,
        business=record.business,
        property_income=record.property_income,
        transfer=record.transfer,
        business_expenditure=record.business_expenditure,
    )
    record.per_capita_net_income = income.per_capita(record.net_income, record.members)


#: the first year whose income the registry takes
FIRST_INCOME_YEAR = 2000


def check_income_year(year) -> int:
    """The year as a number, from 2000 to next year (figures are recorded for a year that has
    ended, or estimated for the current one)."""
    last = timezone.localdate().year + 1
    try:
        value = int(str(year).strip())
    except (TypeError, ValueError):
        raise ValidationError(
            {"year": _("请填写年度（4位数字，如 %(year)s）。") % {"year": last - 2}}
        ) from None
    if not (FIRST_INCOME_YEAR <= value <= last):
        raise ValidationError(
            {
                "year": _("年度须在%(first)s年至%(last)s年之间，您填写的是%(year)s。")
                % {"first": FIRST_INCOME_YEAR, "last": last, "year": value}
            }
        )
    return value


INCOME_FIELDS = (
    "wages",
    "business",
    "property_income",
    "transfer",
    "business_expenditure",
    "insurance_payout",
    "compliant_medical_spending",
)


@transaction.atomic
def income_record_set(
    *, actor, household: Household, year: int, recorded_on: dt.date | None = None, note: str = "", **amounts
) -> IncomeRecord:
    """Create or replace a household's figures for one year; the per-capita is computed."""
    _check_can_edit(actor)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _check_area(actor, household.area_code, field="household")
    errors = {}
    year = _collect(errors, check_income_year, year)
    clean = {}
    for name in INCOME_FIELDS:
        raw = amounts.pop(name, 0)
        try:
            value = Decimal(str(raw if raw not in (None, "") else 0).strip())
        except ArithmeticError:
            value = None
        if value is None or not value.is_finite():  # "NaN" and "Infinity" parse as Decimals
            errors[name] = _("请填写数字金额。")
            continue
        if value < 0:
            errors[name] = _("金额不能为负数。")
        clean[name] = value
    if amounts:
        errors.update({name: _("不能修改此项。") for name in amounts})
    if errors:
        raise ValidationError(errors)
    # Not get_or_create: its insert would write a history row without the actor or the reason.
    record = IncomeRecord.objects.select_for_update().filter(household=household, year=year).first()
    latest = household.incomes.order_by("-year").values_list("year", flat=True).first()
    if record is None:
        record = IncomeRecord(household=household, year=year)
    if record.pk is None or not record.members or latest is None or year >= latest:
        record.members = _members(household)
    # else: correcting an earlier year keeps the members counted for that year; only the
    # latest record follows today's household (see _recompute_latest_income).
    for name, value in clean.items():
        setattr(record, name, value)
    record.recorded_on = recorded_on or timezone.localdate()
    record.note = note
    _compute(record)
    _save(record, actor=actor, reason=_("录入收支情况"))
    return record


def _recompute_latest_income(household: Household, *, actor) -> None:
    record = household.incomes.order_by("-year").first()
    if record is None:
        return
    members = _members(household)
    if members != record.members:
        record.members = members
        _compute(record)
        _save(record, actor=actor, reason=_("家庭人口变化，重新计算人均纯收入"))


@transaction.atomic
def helper_assign(
    *,
    actor,
    helper: Helper,
    household: Household,
    start_date: dt.date,
    kind: str = AssignmentKind.RESPONSIBLE,
) -> HelperAssignment:
    """Assign a helper; a household has one active helper of each kind, so the previous one ends.

    "Other" helpers (the N of Jiaozhou's "1+1+1+N" team) are many: none of them ends.
    """
    _check_can_edit(actor)
    household = Household.objects.select_for_update().get(pk=household.pk)
    _check_area(actor, household.area_code, field="household")
    if not household.area_code.startswith(helper.county.prefix):
        raise ValidationError({"helper": _("帮扶责任人不属于该户所在县。")})
    # Every assignment of this kind still running on the start date, including one whose
    # end has been set in the future.
    current = list(
        HelperAssignment.objects.select_for_update()
        .filter(household=household, kind=kind)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=start_date))
        .order_by("start_date", "pk")
    )
    if any(old.helper_id == helper.pk for old in current):
        raise ValidationError({"helper": _("该帮扶人已在帮扶此户。")})
    if kind != AssignmentKind.OTHER:
        if any(start_date < old.start_date for old in current):
            raise ValidationError({"start_date": _("开始时间不能早于现任帮扶人的开始时间。")})
        for old in current:
            # A same-day correction ends the previous one on its first day.
            old.end_date = max(start_date - dt.timedelta(days=1), old.start_date)
            _save(old, actor=actor, reason=_("更换帮扶责任人"))
    assignment = HelperAssignment(helper=helper, household=household, kind=kind, start_date=start_date)
    _save(assignment, actor=actor, reason=_("确定帮扶关系"))
    return assignment


@transaction.atomic
def helper_unassign(
    *, actor, assignment: HelperAssignment, end_date: dt.date, reason: str = ""
) -> HelperAssignment:
    _check_can_edit(actor)
    assignment = (
        HelperAssignment.objects.select_for_update().select_related("household").get(pk=assignment.pk)
    )
    _check_area(actor, assignment.household.area_code, field="household")
    assignment.end_date = end_date
    _save(assignment, actor=actor, reason=reason or _("结束帮扶关系"))
    return assignment
