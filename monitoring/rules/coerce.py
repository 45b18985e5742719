"""Parsing what a person or a partner system sent into Python values, once for every channel.

Each parser reads ``data[key]``, puts a message in ``errors[key]`` when the value cannot be used,
and returns the value (or ``None``/empty). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _


def int_field(data, key, errors, *, minimum=0):
    raw = data.get(key)
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        errors[key] = _("请填写整数。")
        return None
    if value < minimum:
        errors[key] = _("不能小于%(min)s。") % {"min": minimum}
        return None
    return value


def date_field(
    data,
    key,
    errors,
    *,
    today: dt.date | None,
    required=True,
    allow_datetime=True,
    missing: str | None = None,
    future: str | None = None,
):
    """A date: a ``date`` or an ISO text. ``today=None`` accepts a date in the future;
    ``allow_datetime=False`` refuses a ``datetime`` instead of taking its date."""
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors[key] = missing or _("请填写日期。")
        return None
    if isinstance(raw, dt.datetime):
        if not allow_datetime:
            errors[key] = _("请填写日期。")
            return None
        raw = raw.date()
    if not isinstance(raw, dt.date):
        try:
            raw = dt.date.fromisoformat(str(raw))
        except ValueError:
            errors[key] = _("日期格式不正确。")
            return None
    if today is not None and raw > today:
        errors[key] = future or _("日期不能晚于今天。")
        return None
    return raw


#: What :func:`text_field` takes as text besides a string.
ANY = "any"  # anything but a mapping or a collection, as ``str(value or "")``
NUMBERS = "numbers"  # numbers (not booleans), written out
STRINGS = "strings"  # nothing: only a string is text

_NUMBER = (int, float, Decimal)


def _as_text(raw, accepts: str) -> str | None:
    """The text of ``raw``; ``None`` when it is not text."""
    if accepts == ANY:
        return None if isinstance(raw, Mapping | list | tuple | set) else str(raw or "")
    if raw is None:
        return ""
    if accepts == NUMBERS and isinstance(raw, _NUMBER) and not isinstance(raw, bool):
        return str(raw)
    return raw if isinstance(raw, str) else None


def text_field(
    data,
    key,
    errors,
    *,
    required=True,
    max_length: int | None = None,
    accepts: str = ANY,
    missing: str | None = None,
    too_long: str | None = None,
):
    """A text, stripped; ``""`` when it cannot be used. ``accepts`` says what else is text
    (:data:`ANY`, :data:`NUMBERS`, :data:`STRINGS`); ``missing`` and ``too_long`` replace the
    messages for an empty required text and for one longer than ``max_length``."""
    value = _as_text(data.get(key), accepts)
    if value is not None and not value.strip():
        value = ""
    if value == "" and required:
        errors[key] = missing or _("请填写此项。")
        return ""
    if value is None:
        errors[key] = _("须为字符串。")
        return ""
    if "\x00" in value:  # PostgreSQL refuses it, in text and in JSON alike
        errors[key] = str(ProhibitNullCharactersValidator.message)
        return ""
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        errors[key] = too_long or _("不能超过%(n)s个字符。") % {"n": max_length}
        return ""
    return value


CENT = Decimal("0.01")


def amount_field(data, key, errors, *, maximum: Decimal | None = None, exact_cents=False):
    """An amount of money: a non-negative ``Decimal`` with two places, or ``None`` when empty.

    A number or a numeric text; ``NaN``, infinities, booleans and anything else are refused.
    More than two places are rounded, or refused with ``exact_cents``; above ``maximum`` (or
    too large to hold two places at all) is refused.
    """
    raw = data.get(key)
    if raw is None or raw == "":
        return None
    value = _decimal(raw)
    if value is None:
        errors[key] = _("请填写数字金额。")
        return None
    if value < 0:
        errors[key] = _("金额不能为负数。")
        return None
    if maximum is not None and value > maximum:
        errors[key] = _("金额过大，请核实。")
        return None
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:  # more digits than a Decimal holds
        errors[key] = _("金额过大，请核实。")
        return None
    if exact_cents and cents != value:
        errors[key] = _("金额最多保留两位小数。")
        return None
    return cents


def _decimal(raw) -> Decimal | None:
    """A finite ``Decimal`` from a number or a numeric text; ``None`` otherwise."""
    if isinstance(raw, bool) or not isinstance(raw, (*_NUMBER, str)):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def names_field(raw) -> list[str] | None:
    """People's names: a list of names, or one string of names separated by commas;
    ``None`` when it is neither (or a name is not text)."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
        return None
    names = [v.strip() for v in raw if v.strip()]
    return None if any("\x00" in v for v in names) else names
