"""Every row of a file checked with the registry's own rules, nothing written.

``check(sheet, layout=…, area_code=…)`` returns a :class:`Plan`: the households, people and
income the file describes (typed, ready for ``write.apply_rows``) and every error found, each
with the sheet, row number, column and a reason in the current language. Registry lookups
(villages, ID numbers already registered, household numbers of other areas) are one query per
kind for the whole file, not one per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Area, AreaLevel
from accounts.validators import validate_phone

from .. import idnumber
from ..models import Household, Person, Relation
from ..services import FIRST_INCOME_YEAR
from . import layouts
from .reader import Sheet

PROGRESS_EVERY = 2000
#: an empty cell of a code list without an empty value: the field keeps its default
MISSING = object()
_TRUE = {"是", "1", "true", "yes", "y", "√", "有"}
_FALSE = {"否", "0", "false", "no", "n", "×", "无", ""}


@dataclass
class RowError:
    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class HouseholdRow:
    row: int
    number: str
    village_id: int | None = None
    village_code: str = ""
    fields: dict = field(default_factory=dict)
    has_head: bool = False
    from_head: bool = False


@dataclass
class PersonRow:
    row: int
    household: str
    id_number: str
    birth_date: dt.date
    sex: str
    fields: dict


@dataclass
class IncomeRow:
    row: int
    household: str
    year: int
    amounts: dict


@dataclass
class Plan:
    sheet: str = ""
    rows: int = 0
    households: dict[str, HouseholdRow] = field(default_factory=dict)
    people: list[PersonRow] = field(default_factory=list)
    incomes: dict[str, IncomeRow] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    header: list = field(default_factory=list)
    #: {field key: the file's header of its column}
    header_of: dict = field(default_factory=dict)
    #: what the row checks depended on besides the file (:func:`fingerprint`)
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _code(f, value, codes):
    key = layouts.normalize_header(_text(value)).lower()
    if key in codes:
        return codes[key]
    if key == "":
        if f.required:
            raise ValueError(_("此列必填。"))
        return MISSING
    raise ValueError(_("未知的代码“%(value)s”。") % {"value": _text(value)[:40]})


def _risk(f, value, codes):
    key = layouts.normalize_header(_text(value)).lower()
    if key == "":
        return MISSING
    if key in codes:
        return codes[key]
    raise ValueError(_("未知的风险类型“%(value)s”。") % {"value": _text(value)[:40]})


def _bool(f, value, codes):
    key = _text(value).lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(_("应填“是”或“否”，而不是“%(value)s”。") % {"value": _text(value)[:40]})


def _decimal(f, value, codes):
    if _text(value) == "":
        return Decimal("0")
    try:
        number = Decimal(_text(value).replace(",", ""))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(_("应是数字，而不是“%(value)s”。") % {"value": _text(value)[:40]})
    if number < 0:
        raise ValueError(_("不能为负数。"))
    if abs(number) >= Decimal("1e10"):
        raise ValueError(_("数值过大。"))
    return number.quantize(Decimal("0.01"))


def _integer(text: str) -> int:
    if not re.fullmatch(r"\d{1,4}", text):
        raise ValueError(_("应是整数，而不是“%(value)s”。") % {"value": text[:40]})
    return int(text)


def _int(f, value, codes):
    text = _text(value)
    number = _integer(text) if text else 0
    if number > 12:
        raise ValueError(_("务工时间应在0至12个月之间。"))
    return number


def _year(f, value, codes):
    text = _text(value)
    if not text:
        return None
    number = _integer(text)
    last = timezone.localdate().year + 1
    if not FIRST_INCOME_YEAR <= number <= last:
        raise ValueError(
            _("年度须在%(first)s年至%(last)s年之间。") % {"first": FIRST_INCOME_YEAR, "last": last}
        )
    return number


_PARSERS = {
    "text": lambda f, value, codes: _text(value),
    "village": lambda f, value, codes: _text(value),
    "code": _code,
    "risk": _risk,
    "bool": _bool,
    "decimal": _decimal,
    "int": _int,
    "year": _year,
    "month": lambda f, value, codes: parse_month(value),
}


def parse_value(f: layouts.Field, value, codes: dict):
    """The cell as the field's type (``MISSING``: keep the default); ValueError(message) when
    it is not one."""
    return _PARSERS[f.kind](f, value, codes)


def parse_month(value) -> dt.date | None:
    """YYYYMM (the national export), a date cell, or YYYY-MM(-DD); None when empty."""
    if value is None or _text(value) == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    match = re.fullmatch(r"(\d{4})(?:[-/.年]?)(\d{1,2})(?:(?:[-/.月]?)(\d{1,2})日?)?月?", text)
    if match and (len(text) >= 6):
        year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
        try:
            return dt.date(year, month, day)
        except ValueError:
            pass
    raise ValueError(
        _("日期不正确：“%(value)s”，应为 YYYYMM（如 202403）或 YYYY-MM-DD。") % {"value": text[:40]}
    )


def check(
    sheet: Sheet,
    *,
    layout: str,
    area_code: str,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Check every row of ``sheet``; nothing is written."""
    plan = Plan(sheet=sheet.name, header=sheet.header, fingerprint=fingerprint(layout))
    columns = _columns(sheet, layout)
    for f in layouts.FIELDS:
        if f.required and f.key not in columns:
            plan.errors.append(
                RowError(sheet.name, 1, str(f.label), _("缺少必需的列“%(column)s”。") % {"column": f.label})
            )
    if plan.errors:
        return plan
    checker = _Checker(plan, sheet, columns, _villages(area_code))
    for number, values in sheet.rows:
        plan.rows += 1
        if progress and plan.rows % PROGRESS_EVERY == 0:
            progress(plan.rows)
        checker.row(number, values)
    if progress:
        progress(plan.rows)
    plan.header_of = checker.header_of
    _check_registry(plan, area_code, checker.header_of)
    plan.errors.sort(key=lambda e: (e.row, e.column))
    return plan


def fingerprint(layout: str) -> str:
    """What a row's check depends on besides the file and the registry: the layout's header
    names (the operator's mapping table included), the code lists, today (the income year's
    bounds). A stored plan with another fingerprint is checked again."""
    parts = [layout, timezone.localdate().isoformat(), sorted(layouts.headers(layout).items())]
    parts.append([sorted(layouts.code_lookup(f.choices).items()) for f in layouts.FIELDS if f.choices])
    parts.append(sorted(layouts.monitoring_source().risk_lookup().items()))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def recheck(plan: Plan, area_code: str) -> Plan:
    """The checks of a stored, passed plan that depend on the registry, run again before it is
    written: the villages (still in the area), household numbers of other areas, households
    without a head, ID numbers registered in another household since. Set-based, a few queries."""
    villages = _villages(area_code)
    for household in plan.households.values():
        if villages.get(household.village_code) != household.village_id:
            plan.errors.append(
                RowError(
                    plan.sheet,
                    household.row,
                    plan.header_of.get("household.village", ""),
                    _("未知的村或不在您的工作区域内：“%(value)s”（应为12位村级区划代码）。")
                    % {"value": household.village_code},
                )
            )
    _check_registry(plan, area_code, plan.header_of)
    plan.errors.sort(key=lambda e: (e.row, e.column))
    return plan


def _columns(sheet: Sheet, layout: str) -> dict[str, int]:
    """{field key: column index} found by header name (the first column of a name wins)."""
    names = layouts.headers(layout)
    columns: dict[str, int] = {}
    for index, head in enumerate(sheet.header):
        key = names.get(layouts.normalize_header(head))
        if key and key not in columns:
            columns[key] = index
    return columns


def _pick(parsed: dict, target: str, *skip: str) -> dict:
    return {
        f.name: parsed[f.key]
        for f in layouts.FIELDS
        if f.target == target and f.key in parsed and f.name not in skip
    }


class _Checker:
    """One row at a time: typed values, the person, the household it belongs to."""

    def __init__(self, plan: Plan, sheet: Sheet, columns: dict[str, int], villages: dict[str, int]):
        self.plan, self.sheet, self.columns, self.villages = plan, sheet, columns, villages
        self.header_of = {key: _text(sheet.header[i]) for key, i in columns.items()}
        self.codes = {
            key: layouts.code_lookup(layouts.BY_KEY[key].choices)
            for key in columns
            if layouts.BY_KEY[key].choices
        }
        if any(key in columns for key in layouts.RISK_KEYS):
            risks = layouts.monitoring_source().risk_lookup()
            self.codes.update({key: risks for key in layouts.RISK_KEYS if key in columns})
        self.seen_ids: dict[str, int] = {}
        self.bad = False

    def error(self, row: int, key: str, message) -> None:
        column = self.header_of.get(key, str(layouts.BY_KEY[key].label))
        self.plan.errors.append(RowError(self.sheet.name, row, column, str(message)))
        self.bad = True

    def parse(self, number: int, values: list) -> dict:
        parsed: dict[str, object] = {}
        for key, index in self.columns.items():
            raw = values[index] if index < len(values) else None
            try:
                value = parse_value(layouts.BY_KEY[key], raw, self.codes.get(key, {}))
            except ValueError as exc:
                self.error(number, key, exc.args[0])
                continue
            if value is not MISSING:
                parsed[key] = value
        return parsed

    def row(self, number: int, values: list) -> None:
        self.bad = False
        parsed = self.parse(number, values)
        hh_number = parsed.get("household.number") or ""
        if not hh_number:
            self.error(number, "household.number", _("该成员没有所属户（户编号为空）。"))
            return
        info = self.person(number, parsed)
        household = self.household(number, hh_number, parsed)
        if info is not None and not self.bad:
            self.plan.people.append(
                PersonRow(
                    row=number,
                    household=hh_number,
                    id_number=info.number,
                    birth_date=info.birth_date,
                    sex=info.sex,
                    fields=_pick(parsed, "person", "id_number"),
                )
            )
        if household is not None and not self.bad and parsed.get("income.year") is not None:
            self.plan.incomes[hh_number] = IncomeRow(
                row=number,
                household=hh_number,
                year=parsed["income.year"],
                amounts=_pick(parsed, "income", "year"),
            )

    def person(self, number: int, parsed: dict) -> idnumber.IDInfo | None:
        if not parsed.get("person.name"):
            self.error(number, "person.name", _("请填写姓名。"))
        try:
            info = idnumber.parse(parsed.get("person.id_number") or "")
        except idnumber.IDNumberError as exc:
            self.error(number, "person.id_number", exc.message)
            return None
        if info.number in self.seen_ids:
            self.error(
                number,
                "person.id_number",
                _("证件号码与第%(row)s行重复。") % {"row": self.seen_ids[info.number]},
            )
            return None
        self.seen_ids[info.number] = number
        return info

    def household(self, number: int, hh_number: str, parsed: dict) -> HouseholdRow | None:
        """The household's row, its columns taken from the head's row (else the first row);
        None when this row does not give them."""
        risks = [key for key in layouts.RISK_KEYS if key in parsed]
        if risks and not parsed.get("household.monitoring_category"):
            self.error(number, risks[0], _("填写了致贫/返贫风险，但没有监测对象类别。"))
        for key in ("household.phone", "household.monitoring_contact_phone"):
            if parsed.get(key):
                try:
                    validate_phone(parsed[key])
                except DjangoValidationError as exc:
                    self.error(number, key, exc.messages[0])
        household = self.plan.households.get(hh_number)
        if household is None:
            household = self.plan.households[hh_number] = HouseholdRow(row=number, number=hh_number)
            village = str(parsed.get("household.village") or "")
            if village in self.villages:
                household.village_id, household.village_code = self.villages[village], village
            else:
                self.error(
                    number,
                    "household.village",
                    _("未知的村或不在您的工作区域内：“%(value)s”（应为12位村级区划代码）。")
                    % {"value": village[:40]},
                )
        is_head = parsed.get("person.relation") == Relation.HEAD
        if is_head:
            if household.has_head:
                self.error(number, "person.relation", _("一户只能有一位户主。"))
            household.has_head = True
        if not (is_head or not household.from_head):
            return None
        household.fields = _pick(parsed, "household", "number", "village")
        household.from_head = is_head
        return household


def area_prefix(area_code: str) -> str:
    """The code prefix of everything under the area ``area_code`` ("" for the whole deployment)."""
    area = Area.objects.filter(code=area_code).first() if area_code else None
    return area.prefix if area is not None else ""


def _villages(area_code: str) -> dict[str, int]:
    prefix = area_prefix(area_code)
    return dict(
        Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=prefix).values_list("code", "id")
    )


def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_registry(plan: Plan, area_code: str, header_of: dict) -> None:
    """Duplicates against the registry: an ID number registered in another household than the
    file's, a household number used in another area; households without a head."""
    prefix = area_prefix(area_code)
    numbers = list(plan.households)
    foreign = set()
    for chunk in _chunks(numbers):
        foreign.update(
            Household.objects.filter(number__any=chunk)
            .exclude(area_code__startswith=prefix)
            .values_list("number", flat=True)
        )
    existing_heads = set()
    for chunk in _chunks(numbers):
        existing_heads.update(
            Household.objects.filter(number__any=chunk, head__isnull=False).values_list("number", flat=True)
        )
    for number in sorted(foreign):
        row = plan.households[number].row
        plan.errors.append(
            RowError(plan.sheet, row, header_of["household.number"], _("户编号已被您工作区域以外的户使用。"))
        )
    for number, household in plan.households.items():
        if not household.has_head and number not in existing_heads:
            plan.errors.append(
                RowError(
                    plan.sheet,
                    household.row,
                    header_of["person.relation"],
                    _("该户没有户主（与户主关系为“户主”的成员）。"),
                )
            )
    ids = [p.id_number for p in plan.people]
    registered: dict[str, str] = {}
    for chunk in _chunks(ids):
        registered.update(
            Person.objects.filter(id_number__any=chunk).values_list("id_number", "household__number")
        )
    for person in plan.people:
        other = registered.get(person.id_number)
        if other is not None and other != person.household:
            plan.errors.append(
                RowError(
                    plan.sheet,
                    person.row,
                    header_of["person.id_number"],
                    _("该证件号码已登记在户 %(number)s 中，一人只能属于一户。") % {"number": other},
                )
            )
