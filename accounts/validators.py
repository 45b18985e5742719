"""Input validators shared by every app's models and forms."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

#: A mainland mobile number (11 digits, 13x-19x, an optional +86), or a landline with its
#: area code (0 + 2 or 3 digits, an optional hyphen, 7 or 8 digits) and an optional extension.
PHONE_PATTERN = re.compile(
    r"^(?:(?:\+?86[- ]?)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:(?:-|转|#|ext\.?)\d{1,6})?)$",
    re.IGNORECASE,
)

validate_phone = RegexValidator(
    PHONE_PATTERN,
    message=_("电话号码不正确：请填写11位手机号码，或带区号的固定电话（如 0313-1234567）。"),
    code="invalid_phone",
)
