"""Citizen ID numbers (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd = male,
even = female) and a check character computed by ISO 7064 MOD 11-2. Pure functions only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
#: Full-width digits and X, as typed with a Chinese input method, read as their ASCII forms.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")
_ASCII_DIGITS = frozenset("0123456789")


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²", "١" and the like)."""
    return bool(text) and set(text) <= _ASCII_DIGITS


class IDNumberError(ValueError):
    """An ID number that is not valid; ``message`` is translatable text for a person."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class IDInfo:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    region_code: str


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Drop white space, read full-width digits as ASCII and upper-case x; nothing else changes."""
    text = "" if raw is None else str(raw)
    return "".join(text.split()).translate(_FULL_WIDTH)


def parse(raw: str, *, today: dt.date | None = None) -> IDInfo:
    """Validate an ID number and return what it says; raise :class:`IDNumberError`."""
    number = normalize(raw)
    if len(number) == 15 and _digits(number):
        raise IDNumberError(_("这是15位旧版身份证号码，请填写18位公民身份号码。"))
    if len(number) != 18:
        raise IDNumberError(_("公民身份号码应为18位。"))
    if not _digits(number[:17]) or not (_digits(number[17]) or number[17] == "X"):
        raise IDNumberError(_("公民身份号码前17位须为数字，最后一位为数字或X。"))
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IDNumberError(_("公民身份号码中的出生日期无效。")) from None
    today = today or timezone.localdate()  # the deployment's calendar day, not the server's
    if birth > today:
        raise IDNumberError(_("公民身份号码中的出生日期晚于今天。"))
    if birth.year < 1890:
        raise IDNumberError(_("公民身份号码中的出生日期无效。"))
    if check_char(number[:17]) != number[17]:
        raise IDNumberError(_("公民身份号码校验位错误，请核对。"))
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IDInfo(number=number, birth_date=birth, sex=sex, region_code=number[:6])


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except IDNumberError:
        return False
    return True


def make(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid ID number (used by the demo data and tests)."""
    first17 = f"{region[:6]}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_char(first17)


def mask(number: str) -> str:
    """Mask an ID number for lists: keep the first 6 and last 4 characters."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
