"""Admin for the monitoring app.

Reference data (thresholds, risk types, measures and their rules, county settings,
holidays, procedures) is deployment-wide and edited by operators, with its history where
the model keeps one. The workflow's records (clues, cases and their steps, measures,
visits, notices, objections, breaches, exit assessments, the status-change log) are shown
read-only: they are written by ``monitoring.services``. Superusers may correct or delete
them, but no one adds them here, no ``status`` field is ever editable, and the status-change
log is append-only for everyone (see ``accounts.permissions.NEVER``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.permissions import RoleScopedAdminMixin, RoleScopedHistoryAdmin, RoleScopedInlineMixin
from accounts.texts import join_list
from households.idnumber import mask

from .models import (
    AssistanceMeasure,
    Breach,
    CallChainStep,
    CallHop,
    CaseStep,
    Clue,
    ConductItem,
    CountySettings,
    EmergencyCall,
    ExitAssessment,
    Holiday,
    IncomeThreshold,
    Measure,
    MeasureCategory,
    MonitoringCase,
    Objection,
    PointsAccount,
    PointsEntry,
    ProcedureDefinition,
    PublicNotice,
    QualityRule,
    ReviewRule,
    RiskCategoryRequirement,
    RiskMeasureRule,
    RiskType,
    ScoringBand,
    ScoringIndicator,
    ScoringModel,
    ScreeningCampaign,
    ShopItem,
    StatusChange,
    StepDefinition,
    TaskRun,
    Visit,
)

# --- reference data -----------------------------------------------------------------------


@admin.register(IncomeThreshold)
class IncomeThresholdAdmin(RoleScopedHistoryAdmin):
    list_display = ("year", "area", "amount", "window_months", "effective_from", "source")
    list_select_related = ("area",)
    list_filter = ("year",)
    search_fields = ("area__name", "source")


@admin.register(RiskType)
class RiskTypeAdmin(RoleScopedHistoryAdmin):
    list_display = (
        "code",
        "name",
        "name_en",
        "parent",
        "needs_subtype",
        "green_channel",
        "point_to_point",
        "is_active",
        "sort_order",
    )
    list_select_related = ("parent",)
    list_filter = ("is_active", "green_channel", "needs_subtype")
    search_fields = ("code", "name", "name_en")


@admin.register(MeasureCategory)
class MeasureCategoryAdmin(RoleScopedHistoryAdmin):
    list_display = ("code", "name", "name_en", "kind", "sort_order")
    list_filter = ("kind",)
    search_fields = ("code", "name", "name_en")


@admin.register(Measure)
class MeasureAdmin(RoleScopedHistoryAdmin):
    list_display = ("code", "name", "name_en", "category", "department", "county", "is_active")
    list_select_related = ("category", "department", "county")
    list_filter = ("is_active", "category", "department")
    search_fields = ("code", "name", "name_en", "description")


@admin.register(RiskMeasureRule)
class RiskMeasureRuleAdmin(RoleScopedHistoryAdmin):
    list_display = ("risk_type", "measure", "level", "county", "note")
    list_select_related = ("risk_type", "measure", "county")
    list_filter = ("risk_type", "level", "county")
    search_fields = ("risk_type__name", "measure__name", "measure__code", "note")
    autocomplete_fields = ("measure",)


@admin.register(RiskCategoryRequirement)
class RiskCategoryRequirementAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "name_en", "risk_type", "county", "category_names")
    list_select_related = ("risk_type", "county")
    list_filter = ("risk_type",)
    search_fields = ("name",)
    filter_horizontal = ("categories",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description=_("至少一项属于"))
    def category_names(self, obj):
        return join_list(obj.categories.all())


@admin.register(CountySettings)
class CountySettingsAdmin(RoleScopedHistoryAdmin):
    list_display = (
        "__str__",
        "case_deadline_days",
        "case_deadline_caps",
        "use_working_days",
        "notice_days",
        "exit_notice_days",
        "visit_interval_days",
        "require_development_for_able",
        "point_to_point_exempt",
        "relief_first",
        "identification_procedure",
        "exit_procedure",
    )
    list_select_related = ("county", "identification_procedure", "exit_procedure")


@admin.register(ReviewRule)
class ReviewRuleAdmin(RoleScopedHistoryAdmin):
    list_display = ("code", "county", "risk_type", "parameter", "is_active")
    list_select_related = ("county", "risk_type")
    list_filter = ("is_active", "code")


@admin.register(QualityRule)
class QualityRuleAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    """The data-quality rules: county-less defaults and a county's own rows (same id)."""

    list_display = ("code", "county", "condition", "message", "active")
    list_filter = ("active", "condition")
    search_fields = ("code", "message", "columns")


class LockedWhenUsed:
    """A scoring model version that has scored a case is read-only (a change is a new version)."""

    def _locked(self, obj) -> bool:
        model = getattr(obj, "model", obj) if obj is not None else None
        return bool(model is not None and getattr(model, "locked_at", None))

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        if self._locked(obj):
            return False
        return super().has_add_permission(request, *((obj,) if obj is not None else ()))


class ScoringIndicatorInline(LockedWhenUsed, RoleScopedInlineMixin, admin.TabularInline):
    model = ScoringIndicator
    extra = 0
    fields = ("sort_order", "kind", "weight", "bands_link")
    readonly_fields = ("bands_link",)

    @admin.display(description=_("评分档次"))
    def bands_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:monitoring_scoringindicator_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("%(n)s个档次") % {"n": obj.bands.count()})


@admin.register(ScoringModel)
class ScoringModelAdmin(LockedWhenUsed, RoleScopedAdminMixin, admin.ModelAdmin):
    """The identification scoring model's versions; a used version is read-only."""

    list_display = ("name", "county", "version", "active", "locked_at")
    list_filter = ("active",)
    list_select_related = ("county",)
    fields = ("name", "name_en", "county", "version", "active", "note", "locked_at")
    readonly_fields = ("locked_at",)
    inlines = (ScoringIndicatorInline,)
    actions = ("copy_as_new_version",)

    @admin.action(description=_("复制为新版本（未启用）"))
    def copy_as_new_version(self, request, queryset):
        from monitoring.services.scoring import model_copy

        for model in queryset:
            copy = model_copy(actor=request.user, model=model)
            self.message_user(
                request,
                _("已复制为第%(version)s版，修改后启用。") % {"version": copy.version},
                messages.SUCCESS,
            )


class ScoringBandInline(LockedWhenUsed, RoleScopedInlineMixin, admin.TabularInline):
    model = ScoringBand
    extra = 0
    fields = ("lower", "upper", "points", "label", "label_en")


@admin.register(ScoringIndicator)
class ScoringIndicatorAdmin(LockedWhenUsed, RoleScopedAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "model", "weight", "sort_order")
    list_select_related = ("model",)
    list_filter = ("kind",)
    fields = ("model", "kind", "weight", "sort_order")
    inlines = (ScoringBandInline,)


@admin.register(Holiday)
class HolidayAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    list_display = ("date", "name", "is_working_day")
    list_filter = ("is_working_day",)
    search_fields = ("name",)
    date_hierarchy = "date"


class StepDefinitionInline(RoleScopedInlineMixin, admin.TabularInline):
    model = StepDefinition
    extra = 0
    fields = (
        "sort_order",
        "code",
        "name",
        "name_en",
        "kind",
        "actor_role",
        "area_level",
        "time_limit_days",
        "waits_for",
    )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # A step can only wait for steps of its own procedure.
        field = formset.form.base_fields.get("waits_for")
        if field is not None:
            field.queryset = (
                StepDefinition.objects.filter(procedure=obj) if obj else StepDefinition.objects.none()
            )
        return formset


@admin.register(ProcedureDefinition)
class ProcedureDefinitionAdmin(RoleScopedHistoryAdmin):
    list_display = (
        "name",
        "name_en",
        "kind",
        "county",
        "step_count",
        "planned_days_display",
        "time_limit_days",
    )
    list_select_related = ("county",)
    list_filter = ("kind",)
    search_fields = ("name",)
    fields = ("name", "name_en", "kind", "county", "description", "planned_days_display", "time_limit_days")
    readonly_fields = ("planned_days_display",)
    inlines = (StepDefinitionInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps__waits_for")

    @admin.display(description=_("步骤数"))
    def step_count(self, obj):
        return len(obj.steps.all())

    @admin.display(description=_("计划办理天数"))
    def planned_days_display(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return _("%(days)s天") % {"days": obj.planned_days()}


# --- the workflow's records (read-only) ----------------------------------------------------


class WorkflowRecordAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    """Read-only for everyone but superusers, who may correct non-status fields or delete."""

    #: Fields only the workflow services write; never editable here.
    service_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *self.service_fields)


class CaseStepInline(RoleScopedInlineMixin, admin.TabularInline):
    model = CaseStep
    extra = 0
    can_delete = False
    fields = (
        "procedure_kind",
        "name",
        "actor_role",
        "area_level",
        "time_limit_days",
        "status",
        "available_at",
        "due_date",
        "completed_at",
        "completed_by",
        "duration_days",
        "times_returned",
        "reason",
    )
    readonly_fields = fields
    ordering = ("procedure_kind", "sort_order")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("completed_by")


@admin.register(Clue)
class ClueAdmin(WorkflowRecordAdmin):
    list_display = (
        "received_at",
        "channel",
        "name",
        "id_number_masked",
        "household",
        "department",
        "found_date",
        "status",
    )
    list_select_related = ("household", "department")
    list_filter = ("status", "channel", "department")
    search_fields = ("name", "=id_number", "household__number", "external_id")
    date_hierarchy = "found_date"
    raw_id_fields = ("household", "person", "case", "reported_by", "department")
    service_fields = ("status", "area_code", "case", "received_at", "outcome_at")

    @admin.display(description=_("公民身份号码"))
    def id_number_masked(self, obj):
        return mask(obj.id_number)


@admin.register(MonitoringCase)
class MonitoringCaseAdmin(WorkflowRecordAdmin):
    list_display = (
        "id",
        "household",
        "village",
        "status",
        "category",
        "green_channel",
        "found_date",
        "opened_at",
        "due_date",
        "next_visit_due",
    )
    list_select_related = ("household__village",)
    list_filter = ("status", "category", "green_channel", "exit_mode")
    search_fields = ("household__number", "household__head__name")
    date_hierarchy = "opened_at"
    raw_id_fields = ("household", "created_by")
    inlines = (CaseStepInline,)
    service_fields = (
        "status",
        "area_code",
        "household",
        "procedure",
        "exit_procedure",
        "opened_at",
        "identified_at",
        "rejected_at",
        "version",
        "created_by",
    )

    @admin.display(description=_("所在村"), ordering="area_code")
    def village(self, obj):
        return obj.household.village


@admin.register(AssistanceMeasure)
class AssistanceMeasureAdmin(WorkflowRecordAdmin):
    list_display = (
        "case",
        "measure",
        "department",
        "responsible_person",
        "planned_end",
        "actual_date",
        "amount",
        "status",
    )
    list_select_related = ("case__household", "measure", "department")
    list_filter = ("status", "department", "measure__category")
    search_fields = ("case__household__number", "measure__name", "responsible_person")
    raw_id_fields = ("case", "measure", "department", "created_by")
    service_fields = ("status", "case", "created_at", "created_by")


@admin.register(PublicNotice)
class PublicNoticeAdmin(WorkflowRecordAdmin):
    list_display = ("title", "case", "start_date", "end_date", "posted_by", "posted_at")
    list_select_related = ("case__household", "posted_by")
    search_fields = ("title", "case__household__number")
    raw_id_fields = ("case", "step", "posted_by")
    service_fields = ("case", "step", "posted_by", "posted_at")


@admin.register(Objection)
class ObjectionAdmin(WorkflowRecordAdmin):
    scope_area_field = "case__area_code"
    list_display = ("case", "raised_on", "raised_by", "status", "resolved_at")
    list_select_related = ("case__household",)
    list_filter = ("status",)
    search_fields = ("case__household__number", "raised_by")
    raw_id_fields = ("case", "notice", "recorded_by", "resolved_by")
    service_fields = ("status", "case", "notice", "recorded_by", "resolved_by", "resolved_at")


@admin.register(Breach)
class BreachAdmin(WorkflowRecordAdmin):
    scope_area_field = "case__area_code"
    list_display = ("case", "kind", "step", "due_date", "escalated_to", "recorded_at")
    list_select_related = ("case__household", "step")
    list_filter = ("kind", "escalated_to")
    search_fields = ("case__household__number",)
    raw_id_fields = ("case", "step")
    service_fields = ("case", "step", "kind", "due_date", "recorded_at")


@admin.register(Visit)
class VisitAdmin(WorkflowRecordAdmin):
    list_display = ("visited_on", "household", "helper", "visited_by", "case", "raised_clue")
    list_select_related = ("household", "helper", "visited_by", "case__household", "raised_clue")
    list_filter = ("food_clothing_secure", "housing_secure", "drinking_water_secure")
    search_fields = ("household__number", "helper__name")
    date_hierarchy = "visited_on"
    raw_id_fields = ("household", "case", "helper", "visited_by", "raised_clue")
    service_fields = ("area_code", "household", "created_at")


@admin.register(ExitAssessment)
class ExitAssessmentAdmin(WorkflowRecordAdmin):
    scope_area_field = "case__area_code"
    list_display = ("case", "mode", "source", "assessed_on", "eligible", "proposed_by")
    list_select_related = ("case__household", "proposed_by")
    list_filter = ("mode", "eligible", "source")
    search_fields = ("case__household__number",)
    raw_id_fields = ("case", "proposed_by")
    service_fields = ("case", "mode", "checks", "eligible", "proposed_by", "created_at")


@admin.register(StatusChange)
class StatusChangeAdmin(WorkflowRecordAdmin):
    """The append-only log: nobody adds, changes or deletes a row (``NEVER``)."""

    scope_area_field = "case__area_code"
    list_display = ("at", "object_type", "object_id", "action", "from_status", "to_status", "actor", "case")
    list_select_related = ("actor", "case__household")
    list_filter = ("object_type", "action")
    search_fields = ("action", "reason", "case__household__number")
    date_hierarchy = "at"


# --- the periodic tasks: their runs (read-only) and their schedules ------------------------


@admin.register(TaskRun)
class TaskRunAdmin(WorkflowRecordAdmin):
    list_display = ("started_at", "task", "area_code", "status", "finished_at", "triggered_by")
    list_filter = ("task", "status")
    search_fields = ("area_code", "celery_id")
    date_hierarchy = "started_at"
    readonly_fields = (
        "task",
        "area_code",
        "status",
        "started_at",
        "finished_at",
        "as_of",
        "counts",
        "error",
        "triggered_by",
        "celery_id",
    )


@admin.register(ScreeningCampaign)
class ScreeningCampaignAdmin(WorkflowRecordAdmin):
    list_display = ("county", "year", "start_date", "end_date", "created_at")
    list_select_related = ("county",)
    readonly_fields = ("county", "year", "start_date", "end_date", "created_at", "created_by")


def _register_schedules() -> None:
    """django-celery-beat's admin, with the same role table as every other model (operators
    edit the schedules; ``is_staff`` plays no part)."""
    from django_celery_beat import admin as beat_admin
    from django_celery_beat import models as beat

    for model, base in (
        (beat.PeriodicTask, beat_admin.PeriodicTaskAdmin),
        (beat.CrontabSchedule, beat_admin.CrontabScheduleAdmin),
        (beat.IntervalSchedule, beat_admin.IntervalScheduleAdmin),
        (beat.ClockedSchedule, beat_admin.ClockedScheduleAdmin),
        (beat.SolarSchedule, beat_admin.SolarScheduleAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, type(base.__name__, (RoleScopedAdminMixin, base), {}))


_register_schedules()


# --- motivation points (扶志积分) ---------------------------------------------------------------


@admin.register(ConductItem)
class ConductItemAdmin(RoleScopedHistoryAdmin):
    """The conduct list a village panel scores: county-less defaults and a county's own list."""

    list_display = ("code", "name", "name_en", "points", "county", "is_active", "sort_order")
    list_select_related = ("county",)
    list_filter = ("is_active", "county")
    search_fields = ("code", "name", "name_en")


@admin.register(ShopItem)
class ShopItemAdmin(RoleScopedHistoryAdmin):
    """The village point shop's goods: county-less defaults and a county's own list."""

    list_display = ("code", "name", "name_en", "unit", "price", "county", "is_active", "sort_order")
    list_select_related = ("county",)
    list_filter = ("is_active", "county")
    search_fields = ("code", "name", "name_en")


@admin.register(PointsAccount)
class PointsAccountAdmin(WorkflowRecordAdmin):
    list_display = ("household", "area_code", "balance", "awarded", "redeemed", "updated_at")
    list_select_related = ("household",)
    search_fields = ("household__number",)
    raw_id_fields = ("household",)
    service_fields = ("household", "area_code", "balance", "awarded", "redeemed", "updated_at")


@admin.register(PointsEntry)
class PointsEntryAdmin(WorkflowRecordAdmin):
    list_display = ("occurred_on", "household", "kind", "points", "balance_after", "recorded_by")
    list_select_related = ("household", "recorded_by")
    list_filter = ("kind",)
    search_fields = ("household__number", "reason", "panel")
    date_hierarchy = "occurred_on"
    raw_id_fields = ("account", "household", "conduct", "item", "recorded_by")
    service_fields = (
        "account",
        "household",
        "area_code",
        "kind",
        "conduct",
        "item",
        "quantity",
        "points",
        "balance_after",
        "occurred_on",
        "recorded_by",
        "recorded_at",
    )


# --- the one-key emergency call ---------------------------------------------------------------


@admin.register(CallChainStep)
class CallChainStepAdmin(RoleScopedHistoryAdmin):
    """A county's escalation chain (rows with no county are the default chain)."""

    list_display = ("county", "position", "level", "minutes")
    list_select_related = ("county",)
    list_filter = ("level",)


class CallHopInline(RoleScopedInlineMixin, admin.TabularInline):
    model = CallHop
    extra = 0
    can_delete = False
    fields = ("position", "level", "names", "notify_at", "state", "notified_at")
    readonly_fields = fields


@admin.register(EmergencyCall)
class EmergencyCallAdmin(WorkflowRecordAdmin):
    list_display = ("raised_at", "household", "area_code", "status", "source", "acknowledged_at", "closed_at")
    list_filter = ("status", "source")
    list_select_related = ("household",)
    search_fields = ("household__number",)
    inlines = [CallHopInline]
    service_fields = (
        "household",
        "area_code",
        "status",
        "source",
        "raised_at",
        "raised_by",
        "department",
        "acknowledged_at",
        "acknowledged_by",
        "closed_at",
        "closed_by",
        "clue",
    )
