"""Admin forms for the registry. They parse input only; the services validate and save.

A form here never validates or saves the model itself (no ``full_clean``, no
``instance.save()``): ``households.admin`` hands ``cleaned_data`` to the service, so the
admin refuses exactly what the services refuse, with the same messages. When a service
refuses, the admin rolls the whole save back and shows the form again with the service's
messages injected next to their fields (:class:`ServiceModelForm` ``injected_errors``).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts.errors import ServiceError, ValidationError

from . import services
from .models import Helper, HelperAssignment, Household, IncomeRecord, Person

#: field name → messages, ``None`` for messages about the whole record.
ErrorMap = dict[str | None, list[str]]


class ServiceRefused(Exception):
    """A service refused a save from the admin; carries the messages for each form.

    ``errors[None]`` is for the page's main form; ``errors[prefix][index]`` for the
    ``index``-th form of the inline formset with that prefix.
    """

    def __init__(self, errors: dict):
        super().__init__("service refused the admin's input")
        self.errors = errors


def error_map(exc: Exception) -> ErrorMap:
    """The messages of a service refusal by field (``ValidationError`` or ``ServiceError``)."""
    found: ErrorMap = {}
    if isinstance(exc, ServiceError):
        for field, messages in exc.fields.items():
            found.setdefault(field or None, []).extend(
                messages if isinstance(messages, list | tuple) else [messages]
            )
        if not exc.fields or str(exc.message) not in map(str, found.get(None, [])):
            found.setdefault(None, []).append(exc.message)
    elif isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            for field, messages in exc.message_dict.items():
                key = None if field == NON_FIELD_ERRORS else field
                found.setdefault(key, []).extend(messages)
        else:
            found[None] = list(exc.messages)
    if not any(found.values()):
        found = {None: [_("保存失败，请检查填写的内容。")]}
    return found


class ServiceModelForm(forms.ModelForm):
    """A ModelForm that leaves validation and saving to a service.

    ``readonly_on_change`` fields are shown but not editable once the record exists.
    """

    readonly_on_change: tuple[str, ...] = ()
    injected_errors: ErrorMap | None = None

    def __init__(self, *args, injected_errors: ErrorMap | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if injected_errors is not None:
            self.injected_errors = injected_errors
        if self.instance.pk is not None:
            for name in self.readonly_on_change:
                if name in self.fields:
                    self.fields[name].disabled = True

    def _post_clean(self):
        # No construct_instance / full_clean / validate_unique: the service does them.
        for field, messages in (self.injected_errors or {}).items():
            for message in messages:
                self.add_service_error(field, message)

    def add_service_error(self, field: str | None, message) -> None:
        """Show ``message`` next to ``field`` when the form has it, else above the form."""
        target = self.fields.get(field) if field else None
        if target is not None and not target.disabled and not target.widget.is_hidden:
            self.add_error(field, message)
            return
        label = self._label(field) if field else ""
        self.add_error(None, f"{label}：{message}" if label else message)

    def _label(self, field: str) -> str:
        if field in self.fields and self.fields[field].label:
            return str(self.fields[field].label)
        try:
            return str(self._meta.model._meta.get_field(field).verbose_name)
        except FieldDoesNotExist:
            return field


class ServiceInlineFormSet(BaseInlineFormSet):
    """An inline formset whose forms can carry a service's messages (by form index)."""

    def __init__(self, *args, service_errors: dict[int, ErrorMap] | None = None, **kwargs):
        self.service_errors = service_errors or {}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index in self.service_errors:
            kwargs["injected_errors"] = self.service_errors[index]
        return kwargs


_REASON = forms.CharField(
    label=_("修改原因"),
    max_length=200,
    required=False,
    help_text=_("记入该记录的历史，可不填。"),
)


class HouseholdForm(ServiceModelForm):
    readonly_on_change = ("number",)
    reason = _REASON

    class Meta:
        model = Household
        fields = ("number", "village", *sorted(services.HOUSEHOLD_FIELDS))


class PersonForm(ServiceModelForm):
    readonly_on_change = ("household",)
    reason = _REASON

    class Meta:
        model = Person
        fields = ("household", "name", "id_number", *sorted(services.PERSON_FIELDS - {"name"}))


class PersonInlineForm(ServiceModelForm):
    class Meta:
        model = Person
        fields = ("name", "id_number", *sorted(services.PERSON_FIELDS - {"name"}))


class IncomeRecordForm(ServiceModelForm):
    readonly_on_change = ("household", "year")

    class Meta:
        model = IncomeRecord
        fields = ("household", "year", *services.INCOME_FIELDS, "recorded_on", "note")

    def clean(self):
        cleaned = super().clean()
        # income_record_set replaces a year's figures; an *add* page must not do that silently.
        household = cleaned.get("household") or (
            self.instance.household if self.instance.household_id else None
        )
        year = cleaned.get("year")
        if (
            self.instance.pk is None
            and household is not None
            and household.pk
            and year
            and IncomeRecord.objects.filter(household=household, year=year).exists()
        ):
            self.add_error("year", _("该户该年度的收支情况已录入，请修改原记录。"))
        return cleaned


class HelperAssignmentForm(ServiceModelForm):
    readonly_on_change = ("helper", "household", "kind", "start_date")

    class Meta:
        model = HelperAssignment
        fields = ("helper", "household", "kind", "start_date", "end_date")

    def clean(self):
        cleaned = super().clean()
        # An existing assignment only ends: its end date may be set or moved, not cleared.
        if self.instance.pk is not None and "end_date" in self.changed_data and not cleaned.get("end_date"):
            self.add_error("end_date", _("请填写帮扶结束时间。"))
        return cleaned


class HelperForm(forms.ModelForm):
    class Meta:
        model = Helper
        fields = ("name", "sex", "political_status", "unit", "phone", "county", "user")
