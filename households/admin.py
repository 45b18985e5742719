"""Admin for the registry. Every save goes through ``households.services``.

The forms (``households.forms``) only parse input. ``save_model`` and ``save_related`` call
the services; if one refuses, :class:`ServiceBackedAdminMixin` rolls the whole page's save
back (the admin runs it in one transaction) and shows the same page again with the
service's messages next to their fields and everything typed still there.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, AreaLevel, area_prefix_q
from accounts.permissions import RoleScopedAdminMixin, RoleScopedHistoryAdmin, RoleScopedInlineMixin

from . import services
from .forms import (
    HelperAssignmentForm,
    HelperForm,
    HouseholdForm,
    IncomeRecordForm,
    PersonForm,
    PersonInlineForm,
    ServiceInlineFormSet,
    ServiceRefused,
    error_map,
)
from .models import Helper, HelperAssignment, Household, ImportColumnMapping, IncomeRecord, Person
from .selectors import helpers_for

SERVICE_ERRORS = (ValidationError, ServiceError)


def _adopt(target, saved) -> None:
    """Make the admin's instance the row the service saved (pk, computed fields and all)."""
    if target is saved:
        return
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def _picked(data: dict, names) -> dict:
    return {name: data[name] for name in names if name in data}


def _changed(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in names}


class ServiceInlineMixin(RoleScopedInlineMixin):
    """An inline saved row by row through a service (:meth:`service_save`)."""

    formset = ServiceInlineFormSet
    extra = 0
    can_delete = False  # no service deletes registry rows

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.service_inline = self
        return formset

    def service_save(self, request, form, parent, is_new: bool):  # pragma: no cover - abstract
        raise NotImplementedError


class ServiceBackedAdminMixin:
    """Saves through :meth:`service_save` and the inlines' ``service_save``.

    A refusal raises :class:`ServiceRefused` out of the admin's transaction (rolling back
    everything the page saved so far); the view then runs again with the messages
    injected, so the bound forms come back invalid and are shown as they were typed.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and not hasattr(request, "_service_errors"):
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except ServiceRefused as refusal:
                request._service_errors = refusal.errors
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        injected = getattr(request, "_service_errors", {}).get(None)
        if injected:
            form = type(form.__name__, (form,), {"injected_errors": injected})
        return form

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        injected = getattr(request, "_service_errors", {}).get(prefix)
        if injected:
            kwargs["service_errors"] = injected
        return kwargs

    def service_save(self, request, obj, form, change):  # pragma: no cover - abstract
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        try:
            saved = self.service_save(request, obj, form, change)
        except SERVICE_ERRORS as exc:
            raise ServiceRefused({None: error_map(exc)}) from exc
        _adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        form.save_m2m()
        errors = {}
        for formset in formsets:
            if getattr(formset, "service_inline", None) is None:
                self.save_formset(request, form, formset, change=change)
                continue
            formset_errors = self._save_formset_through_service(request, form, formset)
            if formset_errors:
                errors[formset.prefix] = formset_errors
        if errors:
            raise ServiceRefused(errors)

    def _save_formset_through_service(self, request, form, formset) -> dict:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        inline = formset.service_inline
        errors = {}
        for index, row in enumerate(formset.forms):
            if not row.has_changed():
                continue
            is_new = row.instance.pk is None
            if (is_new and not inline.has_add_permission(request, form.instance)) or (
                not is_new and not inline.has_change_permission(request, form.instance)
            ):
                continue
            try:
                saved = inline.service_save(request, row, formset.instance, is_new)
            except SERVICE_ERRORS as exc:
                errors[index] = error_map(exc)
                continue
            if saved is None:
                continue
            if is_new:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, row.changed_data))
        return errors


# --- inlines on the household page --------------------------------------------------------


class PersonInline(ServiceInlineMixin, admin.TabularInline):
    model = Person
    form = PersonInlineForm
    fields = (
        "name",
        "id_number",
        "relation",
        "sex",
        "birth_date",
        "is_resident",
        "health_status",
        "disability",
        "labour_capacity",
        "school_status",
        "migrant_worker",
    )
    readonly_fields = ("sex", "birth_date")
    show_change_link = True

    def service_save(self, request, form, parent, is_new):
        data = form.cleaned_data
        if is_new:
            return services.person_add(
                actor=request.user,
                household=parent,
                id_number=data["id_number"],
                name=data["name"],
                **_picked(data, services.PERSON_DETAIL_FIELDS),
            )
        changed = _changed(form, (*services.PERSON_FIELDS, "id_number"))
        return services.person_update(actor=request.user, person=form.instance, **changed)


class IncomeRecordInline(ServiceInlineMixin, admin.TabularInline):
    model = IncomeRecord
    form = IncomeRecordForm
    fields = (
        "year",
        *services.INCOME_FIELDS,
        "members",
        "net_income",
        "per_capita_net_income",
        "recorded_on",
    )
    readonly_fields = ("members", "net_income", "per_capita_net_income")

    def service_save(self, request, form, parent, is_new):
        return _save_income(request, form, household=parent)


class HelperAssignmentInline(ServiceInlineMixin, admin.TabularInline):
    model = HelperAssignment
    form = HelperAssignmentForm
    fields = ("helper", "kind", "start_date", "end_date")
    autocomplete_fields = ("helper",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("helper")

    def service_save(self, request, form, parent, is_new):
        return _save_assignment(request, form, household=parent, is_new=is_new)


def _save_income(request, form, *, household):
    data = form.cleaned_data
    return services.income_record_set(
        actor=request.user,
        household=household,
        year=data["year"],
        recorded_on=data.get("recorded_on"),
        note=data.get("note", ""),
        **_picked(data, services.INCOME_FIELDS),
    )


def _save_assignment(request, form, *, household, is_new):
    data = form.cleaned_data
    if is_new:
        return services.helper_assign(
            actor=request.user,
            helper=data["helper"],
            household=household,
            start_date=data["start_date"],
            kind=data["kind"],
        )
    if "end_date" in form.changed_data:
        return services.helper_unassign(
            actor=request.user, assignment=form.instance, end_date=data["end_date"]
        )
    return None


# --- the registry's pages -----------------------------------------------------------------


@admin.register(Household)
class HouseholdAdmin(ServiceBackedAdminMixin, RoleScopedHistoryAdmin):
    form = HouseholdForm
    allow_revert = False  # a revert would write around the services
    inlines = (PersonInline, IncomeRecordInline, HelperAssignmentInline)
    list_display = (
        "number",
        "village",
        "head",
        "phone_masked",
        "household_type",
        "monitoring_status",
        "monitoring_category",
    )
    list_select_related = ("village", "head")
    list_filter = (
        "household_type",
        "monitoring_status",
        "monitoring_category",
        "low_income_status",
        "housing_grade",
        ("village", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("number", "head__name", "=members__id_number")
    fieldsets = (
        (None, {"fields": ("number", "village", "address", "phone", "household_type", "head")}),
        (
            _("家庭情况"),
            {
                "fields": (
                    "no_labour_safety_net",
                    "military_family",
                    "relocation_settlement",
                    "relocation_address",
                    "low_income_status",
                    "housing_grade",
                    "cultivated_land_mu",
                )
            },
        ),
        (
            _("两不愁三保障及饮水安全"),
            {
                "fields": (
                    "food_clothing_secure",
                    "compulsory_education_secure",
                    "medical_insurance_secure",
                    "housing_secure",
                    "drinking_water_secure",
                )
            },
        ),
        (
            _("监测情况（状态由监测帮扶流程维护）"),
            {
                "fields": (
                    "monitoring_status",
                    "monitoring_category",
                    "identified_on",
                    "eliminated_on",
                    "monitoring_contact",
                    "monitoring_contact_phone",
                )
            },
        ),
        (_("记录"), {"fields": ("area_code", "created_at", "updated_at", "reason")}),
    )
    readonly_fields = (
        "head",
        "area_code",
        "monitoring_status",
        "monitoring_category",
        "identified_on",
        "eliminated_on",
        "created_at",
        "updated_at",
    )

    @admin.display(description=_("联系电话"))
    def phone_masked(self, obj):
        return obj.phone_masked

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        reason = data.get("reason", "")
        if not change:
            return services.household_create(
                actor=request.user,
                number=data["number"],
                village=data["village"],
                reason=reason,
                **_picked(data, services.HOUSEHOLD_FIELDS),
            )
        changed = _changed(form, (*services.HOUSEHOLD_FIELDS, "village"))
        if not changed:
            return obj
        return services.household_update(actor=request.user, household=obj, reason=reason, **changed)


@admin.register(Person)
class PersonAdmin(ServiceBackedAdminMixin, RoleScopedHistoryAdmin):
    form = PersonForm
    allow_revert = False
    list_display = (
        "name",
        "id_number_masked",
        "household",
        "village",
        "relation",
        "sex",
        "birth_date",
        "is_resident",
        "labour_capacity",
    )
    list_select_related = ("household__village",)
    list_filter = ("relation", "sex", "is_resident", "health_status", "labour_capacity", "school_status")
    search_fields = ("name", "=id_number", "household__number")
    autocomplete_fields = ("household",)
    fieldsets = (
        (None, {"fields": ("household", "name", "id_number", "sex", "birth_date", "relation", "ethnicity")}),
        (
            _("健康、劳动与就学"),
            {
                "fields": (
                    "is_resident",
                    "health_status",
                    "disability",
                    "labour_capacity",
                    "school_status",
                    "school_grade",
                )
            },
        ),
        (
            _("保险"),
            {
                "fields": (
                    "basic_medical_insurance",
                    "serious_illness_insurance",
                    "commercial_insurance",
                    "pension_insurance",
                )
            },
        ),
        (
            _("务工"),
            {"fields": ("migrant_worker", "work_place", "work_months", "public_welfare_job")},
        ),
        (_("记录"), {"fields": ("created_at", "updated_at", "reason")}),
    )
    readonly_fields = ("sex", "birth_date", "created_at", "updated_at")

    @admin.display(description=_("公民身份号码"), ordering="id_number")
    def id_number_masked(self, obj):
        return obj.id_number_masked

    @admin.display(description=_("所在村"), ordering="household__area_code")
    def village(self, obj):
        return obj.household.village

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # Moving a person to another household is a separate action (person_move).
        return (*fields, "household") if obj is not None else fields

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        reason = data.get("reason", "")
        if not change:
            return services.person_add(
                actor=request.user,
                household=data["household"],
                id_number=data["id_number"],
                name=data["name"],
                reason=reason,
                **_picked(data, services.PERSON_DETAIL_FIELDS),
            )
        changed = _changed(form, (*services.PERSON_FIELDS, "id_number"))
        if not changed:
            return obj
        return services.person_update(actor=request.user, person=obj, reason=reason, **changed)


@admin.register(IncomeRecord)
class IncomeRecordAdmin(ServiceBackedAdminMixin, RoleScopedHistoryAdmin):
    form = IncomeRecordForm
    allow_revert = False
    list_display = ("household", "year", "members", "net_income", "per_capita_net_income", "recorded_on")
    list_select_related = ("household",)
    list_filter = ("year",)
    search_fields = ("household__number",)
    autocomplete_fields = ("household",)
    fields = (
        "household",
        "year",
        *services.INCOME_FIELDS,
        "members",
        "net_income",
        "per_capita_net_income",
        "recorded_on",
        "note",
    )
    readonly_fields = ("members", "net_income", "per_capita_net_income")

    def service_save(self, request, obj, form, change):
        household = obj.household if change else form.cleaned_data["household"]
        return _save_income(request, form, household=household)


@admin.register(HelperAssignment)
class HelperAssignmentAdmin(ServiceBackedAdminMixin, RoleScopedHistoryAdmin):
    form = HelperAssignmentForm
    allow_revert = False
    list_display = ("helper", "household", "kind", "start_date", "end_date")
    list_select_related = ("helper", "household")
    list_filter = ("kind",)
    search_fields = ("helper__name", "household__number")
    autocomplete_fields = ("helper", "household")
    fields = ("helper", "household", "kind", "start_date", "end_date")

    def service_save(self, request, obj, form, change):
        household = obj.household if change else form.cleaned_data["household"]
        saved = _save_assignment(request, form, household=household, is_new=not change)
        return saved or obj


@admin.register(Helper)
class HelperAdmin(RoleScopedHistoryAdmin):
    form = HelperForm
    list_display = ("name", "sex", "unit", "phone_masked", "county", "user")
    list_select_related = ("county", "user")
    list_filter = ("sex",)
    search_fields = ("name", "unit", "phone")

    def scope_queryset(self, request, queryset):
        return helpers_for(request.user, queryset)

    @property
    def is_scoped(self) -> bool:
        return True

    @admin.display(description=_("联系电话"))
    def phone_masked(self, obj):
        from .idnumber import mask_phone

        return mask_phone(obj.phone)

    def scoped_choices(self, request, db_field):
        queryset = super().scoped_choices(request, db_field)
        if db_field.name == "county" and not request.user.sees_everything:
            # The user's own county, also for township and village accounts.
            counties = {p[:6] + "000000" for p in request.user.scope_prefixes() if len(p) >= 6}
            queryset = Area.objects.filter(level=AreaLevel.COUNTY).filter(
                area_prefix_q("code", request.user.scope_prefixes()) | Q(code__in=counties)
            )
        return queryset


class ImportColumnMappingForm(forms.ModelForm):
    field = forms.ChoiceField(label=_("对应字段"), choices=())

    class Meta:
        model = ImportColumnMapping
        fields = ("layout", "header", "field")

    def __init__(self, *args, **kwargs):
        from .imports.layouts import FIELDS

        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(f.key, f"{f.label} ({f.key})") for f in FIELDS]


@admin.register(ImportColumnMapping)
class ImportColumnMappingAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    """Header names a county's files use, added to the built-in ones of each import layout."""

    form = ImportColumnMappingForm
    list_display = ("layout", "header", "field")
    list_filter = ("layout",)
    search_fields = ("header", "field")
