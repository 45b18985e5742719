"""Reading an uploaded workbook safely.

Refused with a clear message (``FileRefused``), before any cell is read: not ``.xlsx``; larger
than ``IMPORT_MAX_BYTES``; not a zip archive or without ``xl/workbook.xml`` (not a workbook);
unpacking to more than ``IMPORT_MAX_UNPACKED_BYTES`` or at a ratio above 200 (a zip bomb); any
part declaring a DTD or an entity (XML bombs and external entities: a workbook never needs
them); more than ``IMPORT_MAX_ROWS`` rows. The workbook's own XML read here goes through
defusedxml; the cells are read by python-calamine (a Rust reader that does not expand custom
entities) or, without it, openpyxl in read-only mode (which uses defusedxml when installed).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET
from django.conf import settings
from django.utils.translation import gettext as _

MAX_RATIO = 200
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")


class FileRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024),
        getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", 400 * 1024 * 1024),
        getattr(settings, "IMPORT_MAX_ROWS", 60_000),
    )


def check_name_and_size(name: str, size: int) -> None:
    max_bytes, _unpacked, _rows = limits()
    if not (name or "").lower().endswith(".xlsx"):
        raise FileRefused(_("只能导入 .xlsx 格式的 Excel 工作簿。"))
    if size > max_bytes:
        raise FileRefused(
            _("文件过大（%(size)s MB），最大 %(max)s MB。")
            % {"size": round(size / 1048576, 1), "max": round(max_bytes / 1048576, 1)}
        )


def check_archive(path) -> str:
    """Refuse what is not a safe workbook; return the first sheet's name."""
    _max, max_unpacked, _rows = limits()
    not_workbook = _("该文件不是有效的 Excel 工作簿（.xlsx），请在 Excel 中另存为 .xlsx 后再导入。")
    if not zipfile.is_zipfile(path):
        raise FileRefused(not_workbook)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise FileRefused(not_workbook)
            total = sum(m.file_size for m in members)
            if total > max_unpacked or any(
                m.compress_size and m.file_size / m.compress_size > MAX_RATIO and m.file_size > 1048576
                for m in members
            ):
                raise FileRefused(_("文件解压后过大，疑似压缩炸弹，已拒绝。"))
            for member in members:
                if member.filename.endswith((".xml", ".rels", ".vml")):
                    _scan(archive, member)
            root = SafeET.fromstring(archive.read("xl/workbook.xml"))
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001 - a damaged archive or XML: refused, never a 500
        raise FileRefused(not_workbook) from None
    sheets = [el.get("name") for el in root.iter() if el.tag.endswith("}sheet") or el.tag == "sheet"]
    if not sheets:
        raise FileRefused(not_workbook)
    return sheets[0]


def _scan(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            window = tail + chunk
            if any(mark in window for mark in _FORBIDDEN):
                raise FileRefused(_("文件中含有不允许的 XML 声明（DTD/实体），已拒绝。"))
            tail = chunk[-16:]


@dataclass
class Sheet:
    name: str
    header: list
    rows: Iterator[tuple[int, list]]  # (1-based row number, values)


def cell(value):
    """A cell as text, a number, a date or None (whole floats read back as integers)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def open_sheet(path, *, engine: str | None = None) -> Sheet:
    """The first sheet: its header row and an iterator over the following rows."""
    sheet_name = check_archive(path)
    engine = engine or default_engine()
    _max, _unpacked, max_rows = limits()
    rows = _calamine_rows(path) if engine == "calamine" else _openpyxl_rows(path)
    header: list = []
    for _number, values in rows:
        header = [cell(v) for v in values]
        if any(h is not None for h in header):
            break
    else:
        raise FileRefused(_("工作表是空的：第一行应是列名。"))

    def body():
        for number, values in rows:
            if number > max_rows + 1:
                raise FileRefused(_("行数超过上限（%(max)s 行），请分成几个文件导入。") % {"max": max_rows})
            values = [cell(v) for v in values]
            if any(v is not None for v in values):
                yield number, values

    return Sheet(name=sheet_name, header=header, rows=body())


def default_engine() -> str:
    try:
        import python_calamine  # noqa: F401
    except ImportError:  # pragma: no cover - calamine is a dependency
        return "openpyxl"
    return "calamine"


def _calamine_rows(path):
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        for index, values in enumerate(sheet.iter_rows(), start=1 + sheet.start[0] if sheet.start else 1):
            yield index, [None if v == "" else v for v in values]
    except Exception as exc:  # noqa: BLE001 - calamine's own errors: the file is not readable
        if isinstance(exc, FileRefused):
            raise
        raise FileRefused(_("无法读取该工作簿，请确认文件完整。")) from None


def _openpyxl_rows(path):
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield (
                index,
                [v.date() if isinstance(v, dt.datetime) and v.time() == dt.time() else v for v in values],
            )
        workbook.close()
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, FileRefused):
            raise
        raise FileRefused(_("无法读取该工作簿，请确认文件完整。")) from None
