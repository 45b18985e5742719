"""The columns of every ledger list, defined once for the page, the API and the workbook.

A :class:`Column` names its key (the API's field and the page's sort key), its header (a
Chinese msgid with its English translation in the catalogue), its type and where its value is
read (a ``values_list`` path). The page, the API serializer and the workbook are all built from
these lists, so they cannot disagree about what a ledger shows or how a value is masked.

Types: ``text``, ``number``, ``date``, ``choice`` (a code shown by its label), ``id_number``
and ``phone`` (masked unless the reader's role needs them in full, with the registry's own
masking rules in :mod:`households.idnumber`), and ``township`` / ``village`` (the name of the
area an ``area_code`` lies in, read from one dictionary of the reader's areas, not a join).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from households import idnumber
from households.models import HouseholdType, LowIncomeStatus, MonitoringCategory, MonitoringStatus
from monitoring.models import CaseStatus, Channel, ClueStatus
from reports.selectors import LEDGER_LABELS, Ledger


class Kind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    TOWNSHIP = "township"
    VILLAGE = "village"


#: kinds read from the row's ``area_code`` through the names of the reader's areas
AREA_KINDS = (Kind.TOWNSHIP, Kind.VILLAGE)
MASKED_KINDS = (Kind.ID_NUMBER, Kind.PHONE)


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # a lazy msgid
    kind: Kind
    source: str
    choices: tuple = ()
    sortable: bool = False
    #: the column's width in the workbook (characters)
    width: int = 12
    #: decimal places of a number (0: a whole number)
    places: int = 0
    #: whether a choice may be empty (no status)
    blank: bool = True
    labels: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.choices:
            object.__setattr__(self, "labels", dict(self.choices))

    def value(self, raw, *, reveal: bool = False, areas: dict | None = None):
        """The value the API answers: a choice as its code, masked kinds masked unless ``reveal``,
        area kinds as the area's name."""
        if self.kind in AREA_KINDS:
            return area_name(raw, self.kind, areas or {})
        if self.kind == Kind.ID_NUMBER:
            return (raw or "") if reveal else idnumber.mask(raw or "")
        if self.kind == Kind.PHONE:
            return (raw or "") if reveal else idnumber.mask_phone(raw or "")
        if self.kind in (Kind.TEXT, Kind.CHOICE):
            return raw or ""
        return raw

    def display(self, raw, *, reveal: bool = False, areas: dict | None = None):
        """The value a person reads (page and workbook): a choice by its label in the active
        language; dates and numbers stay dates and numbers (the workbook types them)."""
        if self.kind == Kind.CHOICE:
            return str(self.labels.get(raw, raw or "")) if raw else ""
        return self.value(raw, reveal=reveal, areas=areas)


def area_name(code: str | None, kind: Kind, areas: dict) -> str:
    """The township's or the village's name of a 12-digit ``area_code`` (``areas``: code →
    name, of the reader's townships and villages)."""
    if not code:
        return ""
    if kind == Kind.TOWNSHIP:
        return areas.get(code[:9].ljust(12, "0"), "")
    return areas.get(code, "")


def _area_columns() -> list[Column]:
    return [
        Column("township", _("乡镇"), Kind.TOWNSHIP, "area_code", width=14),
        Column("village", _("村"), Kind.VILLAGE, "area_code", width=14),
    ]


HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("number", _("户编号"), Kind.TEXT, "number", sortable=True, width=22),
    *_area_columns(),
    Column("head_name", _("户主姓名"), Kind.TEXT, "head__name", width=10),
    Column("head_id_number", _("户主身份证号"), Kind.ID_NUMBER, "head__id_number", width=20),
    Column("phone", _("联系电话"), Kind.PHONE, "phone", width=14),
    Column(
        "household_type",
        _("户类型"),
        Kind.CHOICE,
        "household_type",
        HouseholdType.choices,
        width=10,
        blank=False,
    ),
    Column("member_count", _("家庭人口数"), Kind.NUMBER, "member_count", sortable=True, width=8),
    Column("monitoring_status", _("监测状态"), Kind.CHOICE, "monitoring_status", MonitoringStatus.choices),
    Column(
        "monitoring_category",
        _("监测对象类别"),
        Kind.CHOICE,
        "monitoring_category",
        MonitoringCategory.choices,
    ),
    Column("low_income_status", _("低收入类别"), Kind.CHOICE, "low_income_status", LowIncomeStatus.choices),
    Column("identified_on", _("识别监测时间"), Kind.DATE, "identified_on", sortable=True),
    Column("eliminated_on", _("风险消除时间"), Kind.DATE, "eliminated_on", sortable=True),
)

CLUE_COLUMNS: tuple[Column, ...] = (
    Column("id", _("线索编号"), Kind.NUMBER, "id", sortable=True, width=10),
    Column("found_date", _("发现风险日期"), Kind.DATE, "found_date", sortable=True),
    *_area_columns(),
    Column("name", _("姓名"), Kind.TEXT, "name", width=10),
    Column("id_number", _("公民身份号码"), Kind.ID_NUMBER, "id_number", width=20),
    Column("household_number", _("户编号"), Kind.TEXT, "household__number", width=22),
    Column("channel", _("线索来源"), Kind.CHOICE, "channel", Channel.choices, blank=False),
    Column("status", _("处理状态"), Kind.CHOICE, "status", ClueStatus.choices, blank=False),
    Column("amount", _("涉及金额（元）"), Kind.NUMBER, "amount", sortable=True, places=2),
    Column("outcome", _("处理结果反馈"), Kind.TEXT, "outcome", width=30),
)

CASE_COLUMNS: tuple[Column, ...] = (
    Column("id", _("案件编号"), Kind.NUMBER, "id", sortable=True, width=10),
    Column("household_number", _("户编号"), Kind.TEXT, "household__number", width=22),
    *_area_columns(),
    Column("head_name", _("户主姓名"), Kind.TEXT, "household__head__name", width=10),
    Column("head_id_number", _("户主身份证号"), Kind.ID_NUMBER, "household__head__id_number", width=20),
    Column("status", _("状态"), Kind.CHOICE, "status", CaseStatus.choices),
    Column("found_date", _("发现风险日期"), Kind.DATE, "found_date", sortable=True),
    Column("due_date", _("识别办结期限"), Kind.DATE, "due_date", sortable=True),
    Column("identified_on", _("识别监测日期"), Kind.DATE, "identified_on", sortable=True),
    Column("category", _("监测对象类别"), Kind.CHOICE, "category", MonitoringCategory.choices),
    Column("eliminated_on", _("风险消除日期"), Kind.DATE, "eliminated_on", sortable=True),
)


class ListKind(enum.StrEnum):
    """What can be listed and exported: the five ledgers and the case list."""

    KEY_MONITORING = Ledger.KEY_MONITORING.value
    STABLE_OUT_OF_POVERTY = Ledger.STABLE_OUT_OF_POVERTY.value
    ORDINARY = Ledger.ORDINARY.value
    LOW_INCOME = Ledger.LOW_INCOME.value
    EARLY_WARNING = Ledger.EARLY_WARNING.value
    CASES = "cases"


LIST_LABELS = {
    **{ListKind(str(ledger)): label for ledger, label in LEDGER_LABELS.items()},
    ListKind.CASES: _("案件列表"),
}


def columns_of(kind: ListKind | str) -> tuple[Column, ...]:
    kind = ListKind(kind)
    if kind == ListKind.EARLY_WARNING:
        return CLUE_COLUMNS
    if kind == ListKind.CASES:
        return CASE_COLUMNS
    return HOUSEHOLD_COLUMNS


#: each list's default order: a unique column, so the page's first pages and the export's
#: keyset batches read the rows in the same order
DEFAULT_SORT = {ListKind.EARLY_WARNING: "-id", ListKind.CASES: "-id"}


def default_sort(kind: ListKind | str) -> str:
    return DEFAULT_SORT.get(ListKind(kind), "number")


def json_value(value):
    """A value as JSON can hold it (the API's and the job's parameters)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value
