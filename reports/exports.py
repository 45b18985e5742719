"""Workbooks of the ledgers (openpyxl), built from the same selectors as the pages and the API."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font


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
