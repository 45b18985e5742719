"""Texts shown in the reader's language: stored names with an English name, and messages
the system writes (notifications, clue descriptions, reasons) kept as a msgid and parameters.

A stored reference row (a risk type, a measure, a department …) has ``name`` (Chinese) and
``name_en`` (blank allowed, edited by an operator); :func:`localized_name` picks the one for
the active language, falling back to the Chinese name.

A system message is stored as ``{"m": msgid, "p": params}`` and rendered with
:func:`render_text` when it is shown, so the same row reads in Chinese or English. A
parameter is a plain value, a name pair ``{"zh": …, "en": …}``, or another message
``{"m": msgid, "p": …}`` (e.g. "the identification procedure" inside a deadline title).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext, ngettext


def english_active() -> bool:
    lang = get_language() or ""
    return bool(lang) and not lang.startswith("zh")


def localized_name(obj: Any) -> str:
    """``obj.name_en`` when the active language is not Chinese and it is filled, else ``obj.name``."""
    if obj is None:
        return ""
    if english_active():
        en = getattr(obj, "name_en", "") or ""
        if en:
            return en
    return getattr(obj, "name", "") or ""


def name_pair(obj: Any, name: str = "", name_en: str = "") -> dict[str, str]:
    """A parameter naming a stored row in both languages."""
    if obj is not None:
        name, name_en = obj.name, getattr(obj, "name_en", "")
    return {"zh": name or "", "en": name_en or ""}


def text(msgid: str, plural: str = "", count: int | None = None, **params: Any) -> dict[str, Any]:
    """A message to store: its msgid (and plural msgid with the count's parameter name ``n``)
    and its parameters."""
    params = {k: _storable(v) for k, v in params.items()}
    out: dict[str, Any] = {"m": msgid, "p": params}
    if plural:
        out["pl"] = plural
        out["p"] = {**params, "n": count}
    return out


def _storable(value: Any) -> Any:
    """A parameter as JSON keeps it: numbers other than int/float (Decimal) and dates as text."""
    if value is None or isinstance(value, (str, int, float, bool, dict)):
        return value
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        if "m" in value:
            return render_text(value)
        if "zh" in value:
            return (value.get("en") if english_active() else "") or value.get("zh", "")
    return value


def render_text(stored: dict[str, Any] | None, fallback: str = "") -> str:
    """The stored message in the active language (``fallback`` for rows without one)."""
    if not stored or not stored.get("m"):
        return fallback
    params = {k: _value(v) for k, v in (stored.get("p") or {}).items()}
    if stored.get("pl"):
        template = ngettext(stored["m"], stored["pl"], int(params.get("n") or 0))
    else:
        template = gettext(stored["m"])
    if not params:
        return template
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return fallback or template


#: Chinese punctuation and what English writes instead.
PUNCTUATION = {"：": ": ", "，": ", ", "、": ", ", "；": "; ", "。": ". ", "（": " (", "）": ")"}


def english_punctuation(mark: str) -> str:
    return PUNCTUATION.get(mark, mark)


def join_list(items, zh: str = "、", en: str = ", ") -> str:
    """Items joined the way the active language lists them ("、" in Chinese, ", " in English)."""
    return (en if english_active() else zh).join(str(i) for i in items)


class LocalizedName:
    """For a model with ``name`` and ``name_en``: ``display_name`` (and ``str()``) in the
    active language."""

    @property
    def display_name(self) -> str:
        return localized_name(self)

    def __str__(self) -> str:
        return localized_name(self)
