"""Workbooks of the ledgers, built from the same selectors as the pages and the API: the counts
(openpyxl, one small sheet) and the lists (XlsxWriter in constant-memory mode, streamed from
keyset batches, for lists of hundreds of thousands of rows)."""

from __future__ import annotations

import io

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from reports import lists
from reports.columns import (
    AREA_KINDS,
    LIST_LABELS,
    MASKED_KINDS,
    Kind,
    ListKind,
    area_name,
    columns_of,
    default_sort,
)
from reports.forms import AreaIndex, LedgerQuery


def counts_workbook(report: dict, *, area_name: str = "") -> bytes:
    """The ledger counts and the year's exits (``reports.selectors.counts_report``) as one sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("台账统计")[:31]
    bold = Font(bold=True)
    sheet.append([_("五本台账户数和人数"), area_name or _("本人全部工作区域")])
    sheet["A1"].font = bold
    sheet.append([])
    sheet.append([_("台账"), _("户数"), _("人数"), _("条数")])
    for cell in sheet[3]:
        cell.font = bold
    for row in report["ledgers"]:
        clues = row["count"] if row["ledger"] == "early_warning" else None
        sheet.append([row["label"], row["households"], row["people"], clues])
    sheet.append([_("农户总数（前三本台账之和）"), report["households"], report["people"], None])
    sheet.append([])
    exits = report["exits"]
    sheet.append([_("%(year)s年风险消除（按消除方式）") % {"year": exits["year"]}, _("户数"), _("人数")])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for mode in exits["modes"]:
        sheet.append([mode["label"], mode["households"], mode["people"]])
    sheet.append([_("合计"), exits["households"], exits["people"]])
    sheet.column_dimensions["A"].width = 30
    for column in "BCD":
        sheet.column_dimensions[column].width = 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the lists as workbooks (XlsxWriter, streamed) -------------------------------------------

#: rows read per keyset batch
BATCH_SIZE = 5000
#: data rows per sheet (Excel's 1,048,576 rows less the header row)
SHEET_ROWS = 1_048_575
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportError(Exception):
    """The export cannot be written; ``code`` says why (see ``reports.services.exports``)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


def keyset_batches(queryset, key: str, fields: list[str], *, batch_size: int = BATCH_SIZE):
    """``values_list(key, *fields)`` rows of ``queryset`` in batches of ``batch_size``, ordered
    by the unique ``key`` (``-id`` for descending) and read by keyset (``key > last``), so each
    batch is one indexed query however deep into the list it is. Yields lists of rows without
    the key."""
    descending = key.startswith("-")
    name = key.lstrip("-")
    qs = queryset.order_by(key).values_list(name, *fields)
    last = None
    while True:
        batch = qs if last is None else qs.filter(**{f"{name}__{'lt' if descending else 'gt'}": last})
        rows = list(batch[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        yield [row[1:] for row in rows]
        if len(rows) < batch_size:
            return


def _date_writer(date_format):
    def write(sheet, r, c, raw):
        if raw is not None:
            sheet.write_datetime(r, c, raw, date_format)

    return write


def _number_writer():
    def write(sheet, r, c, raw):
        if raw is not None:
            sheet.write_number(r, c, raw)

    return write


def _masked_writer(column, reveal: bool, text_format):
    if reveal:

        def write(sheet, r, c, raw):
            sheet.write_string(r, c, raw or "", text_format)

    else:

        def write(sheet, r, c, raw):
            sheet.write_string(r, c, column.value(raw), text_format)

    return write


def _choice_writer(column):
    labels = {value: str(label) for value, label in column.choices}

    def write(sheet, r, c, raw):
        if raw:
            sheet.write_string(r, c, labels.get(raw, raw))

    return write


def _area_writer(kind, names: dict):
    shown: dict[str, str] = {}

    def write(sheet, r, c, raw):
        if not raw:
            return
        name = shown.get(raw)
        if name is None:
            name = shown[raw] = area_name(raw, kind, names)
        if name:
            sheet.write_string(r, c, name)

    return write


def _text_writer():
    def write(sheet, r, c, raw):
        if raw:
            sheet.write_string(r, c, raw)

    return write


def _cell_writers(columns, book, *, reveal: bool, names: dict):
    """One function per column writing its value into a cell by type (dates as dates, numbers
    as numbers, ID numbers and phones as text), with what a column reads the same for every
    row worked out once (a choice's labels in the active language, the areas' names): the
    same values as :meth:`Column.display`, without its per-cell dispatch."""
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    text_format = book.add_format({"num_format": "@"})
    writers = []
    for column in columns:
        if column.kind == Kind.DATE:
            writers.append(_date_writer(date_format))
        elif column.kind == Kind.NUMBER:
            writers.append(_number_writer())
        elif column.kind in MASKED_KINDS:
            writers.append(_masked_writer(column, reveal, text_format))
        elif column.kind == Kind.CHOICE:
            writers.append(_choice_writer(column))
        elif column.kind in AREA_KINDS:
            writers.append(_area_writer(column.kind, names))
        else:
            writers.append(_text_writer())
    return writers


def _new_sheet(book, title: str, number: int, columns, header_format):
    name = title[:28] if number == 1 else f"{title[:24]} ({number})"
    sheet = book.add_worksheet(name)
    for c, column in enumerate(columns):
        sheet.set_column(c, c, column.width)
        sheet.write_string(0, c, str(column.header), header_format)
    sheet.freeze_panes(1, 0)
    return sheet


def describe_query(kind: ListKind, params: dict, query_form) -> list[tuple[str, str]]:
    """The filters of a query as ``(label, value)`` pairs a person reads (the workbook's
    "查询条件" sheet; the area and the as-of date have lines of their own there)."""
    lines = []
    for name, value in params.items():
        if name in ("as_of", "area"):
            continue
        field = query_form.fields.get(name)
        if field is None:
            continue
        shown = str(value)
        if name in ("township", "village"):
            code = query_form.areas.prefix(name, value)
            shown = query_form.areas.names.get(code.ljust(12, "0"), shown) if code else shown
        elif getattr(field, "choices", None):
            shown = str(dict(field.choices).get(value, value))
        lines.append((str(field.label), shown))
    return lines


def write_list(path, *, kind, user, params: dict, reveal: bool, progress=None, now=None) -> int:
    """Write the list ``kind`` for ``user`` with the query ``params`` (an export job's
    parameters) to ``path`` as an ``.xlsx``: one header row (frozen) in the active language,
    the rows read in keyset batches and written in constant memory, a new sheet after every
    1,048,575 rows, and a last sheet with the query and the as-of date. ``progress(written,
    total)`` is called after each batch. Returns the rows written."""
    kind = ListKind(kind)
    now = now or timezone.now()
    areas = AreaIndex(user)
    query = LedgerQuery(params, kind=kind, areas=areas, now=now)
    if not query.is_valid():
        raise ExportError("invalid_query", "; ".join(m for ms in query.error_messages().values() for m in ms))
    selection = query.selection()
    rows = lists.filtered(kind, lists.base_rows(kind, user=user, selection=selection), selection)
    total = rows.count()
    if progress:
        progress(0, total)
    columns = columns_of(kind)
    fields = [c.source for c in columns]
    title = str(LIST_LABELS[kind])
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "use_zip64": True})
    try:
        header_format = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
        writers = list(enumerate(_cell_writers(columns, book, reveal=reveal, names=areas.names)))
        sheets = 1
        sheet = _new_sheet(book, title, sheets, columns, header_format)
        r = 0
        written = 0
        for batch in keyset_batches(rows, default_sort(kind), fields):
            for row in batch:
                if r == SHEET_ROWS:
                    sheets += 1
                    sheet = _new_sheet(book, title, sheets, columns, header_format)
                    r = 0
                r += 1
                for c, write in writers:
                    write(sheet, r, c, row[c])
            written += len(batch)
            if progress:
                progress(written, total)
        _about_sheet(
            book,
            title=title,
            kind=kind,
            params=query.params(),
            query=query,
            user=user,
            written=written,
            reveal=reveal,
            now=now,
            header_format=header_format,
        )
    finally:
        book.close()
    return written


def _about_sheet(book, *, title, kind, params, query, user, written, reveal, now, header_format):
    sheet = book.add_worksheet(_("查询条件")[:31])
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 40)
    as_of = params.get("as_of")
    lines = [
        (_("台账"), title),
        (_("截至日期"), as_of or _("当前（实时数据）")),
        (_("区域"), _("本人全部工作区域")),
        *describe_query(kind, params, query),
        (_("行数"), str(written)),
        (_("导出时间"), timezone.localtime(now).strftime("%Y-%m-%d %H:%M")),
        (_("导出人"), user.get_full_name() or user.get_username()),
        (_("身份证号和电话"), _("完整显示") if reveal else _("已遮盖")),
    ]
    if params.get("area"):
        lines[2] = (_("区域"), params["area"])
    sheet.write_string(0, 0, _("查询条件"), header_format)
    sheet.write_string(0, 1, "", header_format)
    for r, (label, value) in enumerate(lines, start=1):
        sheet.write_string(r, 0, str(label))
        sheet.write_string(r, 1, str(value))
