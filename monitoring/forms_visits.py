"""The visit form (走访记录). It parses input only; ``visit_record`` validates and saves, and
its refusals are shown next to the fields (``households.forms.show_service_error``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from households.forms import PageFormMixin, show_service_error
from monitoring.models import RiskType, Visit
from monitoring.services.visits import AMOUNT_FIELDS, GUARANTEE_FIELDS

#: service field → form field, for the names the clue service uses
_RENAMED = {"found_date": "visited_on"}


def _risk_types() -> list[RiskType]:
    """Selectable risk types: a type that needs a sub-item (自然灾害) is offered through its
    sub-items, shown under its name."""
    rows = RiskType.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code")
    return [r for r in rows if not r.needs_subtype]


class VisitForm(PageFormMixin, forms.Form):
    visited_on = forms.DateField(
        label=_("走访日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    needs = forms.CharField(label=_("困难和需求"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(label=_("走访情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    raise_clue = forms.BooleanField(label=_("发现返贫致贫风险，登记风险线索"), required=False)
    risk_type_codes = forms.MultipleChoiceField(
        label=_("风险类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=_("风险情况描述"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("不填则使用走访情况。"),
    )
    amount = forms.DecimalField(
        label=_("涉及金额（元）"),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in AMOUNT_FIELDS:
            self.fields[name] = forms.DecimalField(
                label=Visit._meta.get_field(name).verbose_name,
                required=False,
                max_digits=12,
                decimal_places=2,
                widget=forms.NumberInput(
                    attrs={"class": "form-control", "inputmode": "decimal", "step": "0.01"}
                ),
            )
        for name in GUARANTEE_FIELDS:
            self.fields[name] = forms.BooleanField(
                label=Visit._meta.get_field(name).verbose_name,
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
            )
        risk_types = _risk_types()
        self.fields["risk_type_codes"].choices = [(r.code, r.name) for r in risk_types]
        self._risk_parent = {r.code: r.parent.name if r.parent_id else "" for r in risk_types}

    def amount_fields(self):
        return [self[name] for name in AMOUNT_FIELDS]

    def risk_type_groups(self) -> list[tuple[str, list]]:
        """The risk type checkboxes in runs: ``("", [...])`` for main types, ``(parent name,
        [...])`` for a parent's sub-items."""
        groups: list[tuple[str, list]] = []
        for option in self["risk_type_codes"]:
            parent = self._risk_parent.get(str(option.data["value"]), "")
            if groups and groups[-1][0] == parent:
                groups[-1][1].append(option)
            else:
                groups.append((parent, [option]))
        return groups

    def guarantee_fields(self):
        return [self[name] for name in GUARANTEE_FIELDS]

    def service_data(self) -> dict:
        """The keyword arguments of :func:`monitoring.services.visits.visit_record`."""
        data = self.cleaned_data
        clue = None
        if data.get("raise_clue"):
            clue = {
                "risk_type_codes": list(data.get("risk_type_codes") or []),
                "description": data.get("description", ""),
                "amount": data.get("amount"),
            }
        return {
            "visited_on": data["visited_on"],
            **{name: data.get(name) for name in AMOUNT_FIELDS},
            **{name: bool(data.get(name)) for name in GUARANTEE_FIELDS},
            "needs": data.get("needs", ""),
            "notes": data.get("notes", ""),
            "raise_clue": clue,
        }

    def show_service_error(self, exc: Exception) -> None:
        if hasattr(exc, "error_dict"):
            renamed = {}
            for field, messages in exc.message_dict.items():
                renamed.setdefault(_RENAMED.get(field, field), []).extend(messages)
            exc = ValidationError(renamed)
        show_service_error(self, exc)
