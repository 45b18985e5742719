"""The forms of the account pages (the person's own tokens)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from config.forms import PageForm


class TokenCreateForm(PageForm):
    name = forms.CharField(
        label=_("令牌名称"), max_length=50, help_text=_("用途或设备，如“统计脚本”“乡镇办公室电脑”。")
    )
    days = forms.IntegerField(
        label=_("有效天数"),
        min_value=1,
        max_value=settings.STAFF_TOKEN_MAX_DAYS,
        initial=settings.STAFF_TOKEN_DAYS,
        help_text=_("到期后令牌自动失效。"),
    )


class TokenActionForm(PageForm):
    ACTIONS = (("rotate", _("轮换")), ("revoke", _("吊销")))

    which = forms.RegexField(regex=r"^[A-Za-z0-9]{8}$", widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.HiddenInput)
