"""What a ledger page, export or API call is asked for: parsed once, for every channel."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from households.filters import AREA_CODE_VALIDATOR, area_prefix
from monitoring.rules.deadlines import local_date


class CountsQuery(forms.Form):
    """``area`` (an area-code prefix or a 12-digit code, only ever narrowing the caller's own
    scope) and ``year`` (of the risk eliminations; this year by default)."""

    area = forms.CharField(label=_("区域"), required=False, max_length=12, validators=[AREA_CODE_VALIDATOR])
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2015, max_value=2100)

    def selection(self) -> dict:
        raw = (self.cleaned_data.get("area") or "").strip()
        return {
            "area": area_prefix(raw) if raw else "",
            "year": self.cleaned_data.get("year") or local_date(timezone.now()).year,
        }

    @staticmethod
    def default_selection() -> dict:
        """What an invalid query falls back to (its errors are shown): everything, this year."""
        return {"area": "", "year": local_date(timezone.now()).year}

    def error_messages(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self.errors.items()}
