"""Parsing what a person or a partner system sent into Python values, once for every channel.

Each parser reads ``data[key]``, puts a message in ``errors[key]`` when the value cannot be used,
and returns the value (or ``None``/empty). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

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


def date_field(data, key, errors, *, today: dt.date, required=True):
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors[key] = _("请填写日期。")
        return None
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if not isinstance(raw, dt.date):
        try:
            raw = dt.date.fromisoformat(str(raw))
        except ValueError:
            errors[key] = _("日期格式不正确。")
            return None
    if raw > today:
        errors[key] = _("日期不能晚于今天。")
        return None
    return raw


def text_field(data, key, errors, *, required=True):
    raw = data.get(key)
    if isinstance(raw, Mapping | list | tuple | set):
        errors[key] = _("须为字符串。")
        return ""
    value = str(raw or "").strip()
    if "\x00" in value:  # PostgreSQL refuses it, in text and in JSON alike
        errors[key] = str(ProhibitNullCharactersValidator.message)
        return ""
    if required and not value:
        errors[key] = _("请填写此项。")
    return value


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
