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
from accounts.models import Area, AreaLevel
from config.forms import SubmitTokenField, apply_service_errors, new_token

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
        fields = ("household", "name", "id_number", *sorted(services.PERSON_DETAIL_FIELDS))


class PersonInlineForm(ServiceModelForm):
    class Meta:
        model = Person
        fields = ("name", "id_number", *sorted(services.PERSON_DETAIL_FIELDS))


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
        fields = ("name", "sex", "political_status", "unit", "phone", "county", "village", "user")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "village" in self.fields:
            self.fields["village"].queryset = Area.objects.filter(level=AreaLevel.VILLAGE).order_by("code")

    def clean(self):
        cleaned = super().clean()
        county, village = cleaned.get("county"), cleaned.get("village")
        if county and village and not village.code.startswith(county.prefix):
            self.add_error("village", _("所驻村不在所选县内。"))
        return cleaned


# ---------------------------------------------------------------------------------------------
# Web page forms (households/views.py, monitoring/views_visits.py). Like the admin forms they
# only parse input: the services validate and save, and their refusals are put next to the
# fields with ``config.forms.apply_service_errors`` (see :func:`show_service_error`).
# ---------------------------------------------------------------------------------------------


class PageFormMixin:
    """Bootstrap classes on every widget, ``is-invalid`` on the fields that have an error, and
    the one-time submit token (``config.forms``) that stops a double submit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["submit_token"] = SubmitTokenField()
        if not self.is_bound:
            self.initial["submit_token"] = new_token()
        for field in self.fields.values():
            widget = field.widget
            if widget.is_hidden:
                continue
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self._errors or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"
                # The message (and the help text, which Django links by itself otherwise).
                auto_id = self[name].auto_id
                described = [f"{auto_id}_error"] + (
                    [f"{auto_id}_helptext"] if self.fields[name].help_text else []
                )
                widget.attrs["aria-describedby"] = " ".join(described)


def show_service_error(form: forms.BaseForm, exc: Exception) -> None:
    """A service's refusal on the form: field messages next to their fields, the rest above."""
    if isinstance(exc, ServiceError):
        if exc.fields:
            apply_service_errors(form, ValidationError(dict(exc.fields)))
        if not exc.fields or str(exc.message) not in {str(m) for m in form.non_field_errors()}:
            form.add_error(None, exc.message)
        return
    apply_service_errors(form, exc)


class _PageModelForm(PageFormMixin, ServiceModelForm):
    """A page form built from the model's field definitions (labels, choices) that neither
    validates nor saves the model: the service does both."""

    def service_data(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("submit_token", "reason", "suggested_number") and not self.fields[name].disabled
        }


class HouseholdPageForm(_PageModelForm):
    """Register a household (户编号 and village chosen once) or edit it (with a reason)."""

    readonly_on_change = ("number",)

    class Meta:
        model = Household
        fields = ("number", "village", *services.HOUSEHOLD_FIELDS)
        widgets = {
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "monitoring_contact_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "cultivated_land_mu": forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
        }

    #: groups of fields, in the order the page shows them
    SECTIONS = (
        (_("基本信息"), ("number", "village", "address", "phone", "household_type", "low_income_status")),
        (
            _("家庭情况"),
            (
                "housing_grade",
                "cultivated_land_mu",
                "no_labour_safety_net",
                "military_family",
                "relocation_settlement",
                "relocation_address",
            ),
        ),
        (
            _("两不愁三保障及饮水安全"),
            (
                "food_clothing_secure",
                "compulsory_education_secure",
                "medical_insurance_secure",
                "housing_secure",
                "drinking_water_secure",
            ),
        ),
        (_("监测联系人"), ("monitoring_contact", "monitoring_contact_phone")),
    )

    def __init__(self, *args, villages=None, suggestion_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["reason"] = forms.CharField(
                label=_("修改原因"),
                max_length=200,
                required=False,
                help_text=_("记入该户的变更历史，可不填。"),
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
        village = self.fields["village"]
        if villages is not None:
            village.queryset = villages
        village.label_from_instance = lambda area: (
            f"{area.parent.name} {area.name}" if area.parent_id else area.name
        )
        village.empty_label = _("请选择村")
        if not self.is_bound and self.instance.pk is None and len(village.queryset) == 1:
            self.initial["village"] = village.queryset[0].pk
        self.suggests_number = self.instance.pk is None
        if self.suggests_number:
            self._offer_number(suggestion_url)

    def _offer_number(self, suggestion_url: str) -> None:
        """Registering: the number field holds the village's next free number (village code +
        a 4-digit running number), replaced when the village changes unless one was typed."""
        self.fields["suggested_number"] = forms.CharField(required=False, widget=forms.HiddenInput)
        number = self.fields["number"]
        number.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        number.help_text = _("村代码（12位）加4位顺序号，共16位；选择村后自动填入该村下一个可用编号。")
        if suggestion_url:
            self.fields["village"].widget.attrs.update(
                {
                    "hx-get": suggestion_url,
                    "hx-trigger": "change",
                    "hx-target": "#number-field",
                    "hx-swap": "outerHTML",
                    "hx-include": "#id_number, #id_suggested_number",
                }
            )
        if not self.is_bound:
            village = self.initial.get("village")
            area = self.fields["village"].queryset.filter(pk=village).first() if village else None
            if area is not None:
                self.suggest_for(area, typed="", previous="")

    def suggest_for(self, village, *, typed: str, previous: str) -> str:
        """Offer ``village``'s next free number; a number typed by hand (not the previous
        suggestion) is kept, the suggestion then shown as a hint."""
        suggestion = services.suggest_number(village)
        typed = (typed or "").strip()
        keep = bool(typed) and typed != (previous or "").strip()
        self.initial["number"] = typed if keep else suggestion
        self.initial["suggested_number"] = suggestion
        self.fields["number"].help_text = _("该村下一个可用编号：%(number)s（村代码加4位顺序号）。") % {
            "number": suggestion
        }
        return suggestion

    def sections(self):
        for title, names in self.SECTIONS:
            yield title, [self[name] for name in names if name in self.fields]


PERSON_PAGE_FIELDS = ("name", "id_number", *services.PERSON_DETAIL_FIELDS)


class PersonPageForm(_PageModelForm):
    """Add a member to a household or edit one; the ID number is checked by the service."""

    # Longer than 18: the service reads spaces and full-width digits typed on a phone.
    id_number = forms.CharField(
        label=_("公民身份号码"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        help_text=_("18位，最后一位可能是X；出生日期和性别由号码得出。"),
    )

    class Meta:
        model = Person
        fields = PERSON_PAGE_FIELDS
        widgets = {
            "school_grade": forms.NumberInput(attrs={"inputmode": "numeric"}),
            "work_months": forms.NumberInput(attrs={"inputmode": "numeric"}),
        }

    SECTIONS = (
        (_("身份信息"), ("name", "id_number", "relation", "ethnicity", "is_resident")),
        (_("健康和劳动能力"), ("health_status", "disability", "labour_capacity")),
        (_("教育"), ("school_status", "school_grade")),
        (
            _("医疗和养老保险"),
            (
                "basic_medical_insurance",
                "serious_illness_insurance",
                "commercial_insurance",
                "pension_insurance",
            ),
        ),
        (_("务工就业"), ("migrant_worker", "work_place", "work_months", "public_welfare_job")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["reason"] = forms.CharField(
                label=_("修改原因"),
                max_length=200,
                required=False,
                help_text=_("记入该成员的变更历史，可不填。"),
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
        self.fields["work_months"].required = False

    def clean_work_months(self):
        return self.cleaned_data.get("work_months") or 0

    def sections(self):
        for title, names in self.SECTIONS:
            yield title, [self[name] for name in names]


class IncomePageForm(PageFormMixin, forms.Form):
    """A household's income and expenditure for one year; the per-capita figure is computed
    by the service from the resident members, never typed in."""

    year = forms.IntegerField(label=_("年度"), widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    #: the year whose figures the form was opened with ("" = a new year)
    loaded_year = forms.CharField(required=False, widget=forms.HiddenInput)
    recorded_on = forms.DateField(
        label=_("采集日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("不填则为今天。"),
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, household: Household, **kwargs):
        self.household = household
        super().__init__(*args, **kwargs)
        for name in services.INCOME_FIELDS:
            label = IncomeRecord._meta.get_field(name).verbose_name
            self.fields[name] = forms.DecimalField(
                label=_("%(label)s（元）") % {"label": label},
                required=False,
                max_digits=12,
                decimal_places=2,
                widget=forms.NumberInput(
                    attrs={"class": "form-control", "inputmode": "decimal", "step": "0.01"}
                ),
            )
        # Keep the page's order: year first, the amounts, then date and note.
        order = ["year", *services.INCOME_FIELDS, "recorded_on", "note", "loaded_year", "submit_token"]
        self.order_fields(order)

    def clean(self):
        cleaned = super().clean()
        year, loaded = cleaned.get("year"), cleaned.get("loaded_year") or ""
        # The service replaces a year's figures: only when that year was opened on purpose.
        if year is not None and str(year) != loaded and self.household.incomes.filter(year=year).exists():
            self.add_error(
                "year",
                _("%(year)s年度的收支情况已录入；如需修改，请在下方列表中点击该年度的“修改”。")
                % {"year": year},
            )
        return cleaned

    def amounts(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in services.INCOME_FIELDS}
