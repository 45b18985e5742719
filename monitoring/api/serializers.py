"""Serializers of the staff API: they parse input and render rows, nothing more.

Business rules stay in ``monitoring/services``; input serializers only check types, so a
person gets a field message instead of a 500 for a list where a date was expected. ID numbers
and phones are masked unless the view's context says the caller may see them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import area_prefix_q
from config.api import ClosedErrorSchema, ReadOnlyModelSerializer, StrictCharField
from config.schema import ErrorSerializer as ErrorSerializer  # the one error shape
from households.api import MaskedIdNumberField
from households.filters import MAX_ID
from households.models import Helper, Household, Person
from monitoring.models import (
    CLUE_DESCRIPTION_MAX,
    AssistanceMeasure,
    CaseStep,
    Channel,
    Clue,
    DismissReason,
    ExitMode,
    MonitoringCase,
    Objection,
    PublicNotice,
    StepPhoto,
    Visit,
)
from monitoring.selectors import available_actions, case_deadlines

# --- errors ---------------------------------------------------------------------------------


class ErrorSchema(ClosedErrorSchema):
    target_class = ErrorSerializer


# --- shared pieces --------------------------------------------------------------------------


class DeadlineSerializer(serializers.Serializer):
    """One deadline from :func:`monitoring.rules.deadlines.deadline` (state, due date, days left)."""

    state = serializers.ChoiceField(choices=["none", "done", "on_time", "due_soon", "overdue"])
    due = serializers.DateField(allow_null=True)
    days_left = serializers.IntegerField(allow_null=True, help_text="负数为已超期天数")

    def to_representation(self, instance):
        if instance is None:
            return None
        return {
            "state": str(instance.state),
            "due": instance.due.isoformat() if instance.due else None,
            "days_left": instance.days_left,
        }


class ActionOptionSerializer(serializers.Serializer):
    """One entry of :func:`monitoring.selectors.available_actions`: an option of
    :func:`monitoring.selectors.case_actions` on the case's steps or the case itself."""

    action = StrictCharField()
    label = StrictCharField()
    step = serializers.IntegerField(allow_null=True)
    step_name = StrictCharField()
    allowed = serializers.BooleanField()
    reason = StrictCharField(help_text="不可办理的原因（可办理时为空）")


def _name(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


# --- clues ----------------------------------------------------------------------------------


class ClueSerializer(ReadOnlyModelSerializer):
    id_number = MaskedIdNumberField()
    department_name = StrictCharField(source="department.name", read_only=True, allow_null=True)
    household_number = StrictCharField(source="household.number", read_only=True, allow_null=True)
    risk_types = serializers.SerializerMethodField()
    household_score = serializers.SerializerMethodField(
        help_text="该户按本县当前识别评分模型的评分（全县批量计算，供研判排序参考）；未计算为 null。"
    )

    class Meta:
        model = Clue
        fields = [
            "id",
            "channel",
            "department",
            "department_name",
            "external_id",
            "reporter_name",
            "found_date",
            "received_at",
            "risk_types",
            "description",
            "amount",
            "id_number",
            "name",
            "person",
            "household",
            "household_number",
            "area_code",
            "status",
            "case",
            "dismiss_reason",
            "outcome",
            "outcome_at",
            "household_score",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=StrictCharField()))
    def get_risk_types(self, clue) -> list[str]:
        return [rt.code for rt in clue.risk_types.all()]

    @extend_schema_field(serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True))
    def get_household_score(self, clue) -> str | None:
        household = clue.household if clue.household_id else None
        score = getattr(household, "score", None) if household is not None else None
        return None if score is None else format(score.score, "f")


class ClueCreateSerializer(serializers.Serializer):
    """A self-report or a cadre's screening clue for a household of the caller's area."""

    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.none(), required=False, allow_null=True
    )
    channel = serializers.ChoiceField(choices=[Channel.SELF_REPORT, Channel.CADRE_SCREENING])
    found_date = serializers.DateField()
    risk_type_codes = serializers.ListField(
        child=StrictCharField(max_length=8), allow_empty=False, min_length=1
    )
    description = StrictCharField(
        required=False, allow_blank=True, default="", max_length=CLUE_DESCRIPTION_MAX
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    reporter_name = StrictCharField(required=False, allow_blank=True, default="", max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.for_user(request.user)
            self.fields["person"].queryset = Person.objects.for_user(request.user)

    def validate(self, attrs):
        person = attrs.get("person")
        if person is not None and person.household_id != attrs["household"].pk:
            raise serializers.ValidationError({"person": _("该人员不属于所选农户。")})
        return attrs


class ClueMatchSerializer(serializers.Serializer):
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    person = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.none(), required=False, allow_null=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.for_user(request.user)
            self.fields["person"].queryset = Person.objects.for_user(request.user)


class ClueDismissSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DismissReason.choices)
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=300)


# --- cases ----------------------------------------------------------------------------------


class CaseSerializer(ReadOnlyModelSerializer):
    household_number = StrictCharField(source="household.number", read_only=True)
    head_name = StrictCharField(source="household.head.name", read_only=True, allow_null=True)
    risk_types = serializers.SerializerMethodField()

    score = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="识别评分（启动识别时按本县当时的评分模型计算，供审核参考）。",
    )
    score_version = serializers.IntegerField(
        source="score_model.version",
        read_only=True,
        allow_null=True,
        help_text="计算该评分的评分模型版本号。",
    )
    limit_basis_label = StrictCharField(
        source="get_limit_basis_display",
        read_only=True,
        help_text="识别办结时限的依据：程序计划工期、程序规定时限或县级识别时限（上限）。",
    )

    class Meta:
        model = MonitoringCase
        fields = [
            "id",
            "household",
            "household_number",
            "head_name",
            "area_code",
            "status",
            "category",
            "risk_types",
            "found_date",
            "opened_at",
            "due_date",
            "limit_days",
            "limit_basis",
            "limit_basis_label",
            "green_channel",
            "provisional_on",
            "identified_on",
            "exit_mode",
            "exit_started_on",
            "exit_due_date",
            "eliminated_on",
            "next_visit_due",
            "version",
            "score",
            "score_version",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=StrictCharField()))
    def get_risk_types(self, case) -> list[str]:
        return [rt.code for rt in case.risk_types.all()]


class NoticeSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = PublicNotice
        fields = ["id", "step", "start_date", "end_date", "title", "content", "posted_at"]
        read_only_fields = fields


class ObjectionSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = Objection
        fields = ["id", "notice", "raised_on", "raised_by", "content", "status", "finding", "resolved_at"]
        read_only_fields = fields


class StepSerializer(ReadOnlyModelSerializer):
    waits_for = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    completed_by_name = serializers.SerializerMethodField()
    deadline = serializers.SerializerMethodField()
    notice = serializers.SerializerMethodField()

    class Meta:
        model = CaseStep
        fields = [
            "id",
            "procedure_kind",
            "code",
            "name",
            "kind",
            "actor_role",
            "area_level",
            "time_limit_days",
            "sort_order",
            "waits_for",
            "status",
            "available_at",
            "due_date",
            "deadline",
            "completed_at",
            "completed_by_name",
            "duration_days",
            "reason",
            "data",
            "times_returned",
            "notice",
        ]
        read_only_fields = fields

    @extend_schema_field(StrictCharField())
    def get_completed_by_name(self, step) -> str:
        return _name(step.completed_by) if step.completed_by_id else ""

    @extend_schema_field(DeadlineSerializer(allow_null=True))
    def get_deadline(self, step):
        deadline = self.context.get("step_deadlines", {}).get(step.pk)
        return DeadlineSerializer(deadline).data if deadline is not None else None

    @extend_schema_field(NoticeSerializer(allow_null=True))
    def get_notice(self, step):
        notice = getattr(step, "notice", None)
        return NoticeSerializer(notice).data if notice is not None else None


class MeasureSerializer(ReadOnlyModelSerializer):
    household = serializers.IntegerField(source="case.household_id", read_only=True)
    area_code = StrictCharField(source="case.area_code", read_only=True)
    measure_code = StrictCharField(source="measure.code", read_only=True)
    measure_name = StrictCharField(source="measure.name", read_only=True)
    category_code = StrictCharField(source="measure.category.code", read_only=True)
    category_name = StrictCharField(source="measure.category.name", read_only=True)
    department_code = StrictCharField(source="department.code", read_only=True, allow_null=True)
    department_name = StrictCharField(source="department.name", read_only=True, allow_null=True)

    class Meta:
        model = AssistanceMeasure
        fields = [
            "id",
            "case",
            "household",
            "area_code",
            "measure",
            "measure_code",
            "measure_name",
            "category_code",
            "category_name",
            "department",
            "department_code",
            "department_name",
            "responsible_person",
            "planned_start",
            "planned_end",
            "actual_date",
            "amount",
            "status",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class ScoreSourceSerializer(serializers.Serializer):
    kind = StrictCharField(help_text="income（收支情况）、members（家庭成员）或 household（农户登记）")
    income_year = serializers.IntegerField(required=False, allow_null=True)
    line_year = serializers.IntegerField(required=False)
    n = serializers.IntegerField(required=False, help_text="常住成员数")


class ScoreLineSerializer(serializers.Serializer):
    """One indicator of a case's score."""

    kind = StrictCharField(
        help_text="指标：income, medical, students, labour, health, housing, guarantees, dependants"
    )
    value = StrictCharField(allow_null=True, help_text="指标值（比值或人数）；缺少数据时为 null")
    band = StrictCharField(allow_blank=True)
    band_en = StrictCharField(allow_blank=True)
    lower = StrictCharField(allow_null=True)
    upper = StrictCharField(allow_null=True)
    points = serializers.IntegerField()
    weight = StrictCharField()
    weighted = StrictCharField()
    source = ScoreSourceSerializer()
    missing = StrictCharField(
        allow_blank=True, help_text="缺少的数据：no_income、no_threshold、no_members；空为不缺"
    )


class CaseDetailSerializer(CaseSerializer):
    """A case with its steps and their deadlines, notices, objections, measures, and what the
    caller may do next (with the reason when not)."""

    procedure_name = StrictCharField(source="procedure.name", read_only=True)
    exit_procedure_name = StrictCharField(source="exit_procedure.name", read_only=True, allow_null=True)
    village_name = StrictCharField(source="household.village.name", read_only=True)
    deadline = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    objections = ObjectionSerializer(many=True, read_only=True)
    measures = MeasureSerializer(many=True, read_only=True)
    clues = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    available_actions = serializers.SerializerMethodField()
    score_breakdown = ScoreLineSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "score_breakdown",
            "village_name",
            "procedure_name",
            "exit_procedure_name",
            "deadline",
            "identified_at",
            "rejected_at",
            "decision_reason",
            "steps",
            "objections",
            "measures",
            "clues",
            "available_actions",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        now = self.context.get("now")
        self._deadlines = case_deadlines(instance, now=now)
        return super().to_representation(instance)

    @extend_schema_field(DeadlineSerializer())
    def get_deadline(self, case):
        return DeadlineSerializer(self._deadlines["case"]).data

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, case):
        context = {**self.context, "step_deadlines": self._deadlines["steps"]}
        return StepSerializer(case.steps.all(), many=True, context=context).data

    @extend_schema_field(ActionOptionSerializer(many=True))
    def get_available_actions(self, case):
        request = self.context["request"]
        return available_actions(case, request.user, now=self.context.get("now"))


class CaseActionSerializer(serializers.Serializer):
    """``POST /cases/{id}/actions/``: one action on the case, or on one of its steps."""

    ACTIONS = (
        ("complete", _("办结步骤")),
        ("reject", _("不予通过")),
        ("return", _("退回")),
        ("post_notice", _("发布公示")),
        ("green_channel", _("绿色通道先行帮扶")),
        ("secure_tracking", _("转为兜底保障跟踪")),
        ("propose_exit", _("提出风险消除")),
        ("record_objection", _("登记公示异议")),
        ("resolve_objection", _("处理公示异议")),
        ("set_plan", _("制定帮扶计划")),
        ("measure_start", _("开始实施帮扶措施")),
        ("measure_complete", _("帮扶措施已落实")),
        ("measure_stop", _("终止帮扶措施")),
    )
    STEP_ACTIONS = frozenset({"complete", "reject", "return", "post_notice"})

    action = serializers.ChoiceField(choices=ACTIONS)
    step = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="步骤编号：complete / reject / return / post_notice 必填；record_objection 为公示步骤（可省略）",
    )
    data = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "complete：步骤办理记录（入户核查 visited_on, visitors, authorization_signed, findings；"
            "民主评议 held_on, attendees, votes_*, minutes；审核 opinion；县级审定 category, explanation, opinion）；"
            "post_notice：start_date；propose_exit：mode, override_reason；"
            "record_objection：raised_on, content, raised_by；resolve_objection：objection, upheld, finding；"
            "set_plan：items；measure_start / measure_complete / measure_stop：measure, actual_date, amount, note"
        ),
    )
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)
    expected_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**31 - 1,
        help_text="案件的 version；与当前不符时返回409",
    )

    def validate(self, attrs):
        if attrs["action"] in self.STEP_ACTIONS and not attrs.get("step"):
            raise serializers.ValidationError({"step": _("请指定要办理的步骤。")})
        return attrs


class _StringList(serializers.ListField):
    """A list of strings, or one string with commas (as a form would send it)."""

    child = StrictCharField()

    def to_internal_value(self, data):
        if isinstance(data, str):
            return data
        return super().to_internal_value(data)


class StepDataSerializer(serializers.Serializer):
    """Only the shapes the step-data rules cannot take apart themselves; the rules check the rest."""

    visitors = _StringList(required=False, allow_empty=True)
    risk_type_codes = serializers.ListField(child=StrictCharField(max_length=8), required=False)


class StepPhotoUploadSerializer(serializers.Serializer):
    step = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="风险消除程序入户核查步骤的编号"
    )
    file = serializers.FileField(help_text="JPEG 或 PNG，不超过5MB；每次入户核查最多9张")
    caption = StrictCharField(required=False, allow_blank=True, max_length=100)


class StepPhotoSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = StepPhoto
        fields = ["id", "step", "caption", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class NoticeDataSerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False, allow_null=True)


class ExitDataSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ExitMode.choices)
    override_reason = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)


class ObjectionDataSerializer(serializers.Serializer):
    notice = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)
    raised_on = serializers.DateField()
    content = StrictCharField(allow_blank=True, max_length=5000)
    raised_by = StrictCharField(required=False, allow_blank=True, default="", max_length=50)


class ResolveObjectionDataSerializer(serializers.Serializer):
    objection = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    upheld = serializers.BooleanField()
    finding = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class PlanItemSerializer(serializers.Serializer):
    measure = StrictCharField(required=False, max_length=40)
    measure_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    measure_code = StrictCharField(required=False, max_length=20)
    department = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    responsible_person = StrictCharField(required=False, allow_blank=True, max_length=200)
    planned_start = serializers.DateField(required=False, allow_null=True)
    planned_end = serializers.DateField(required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    note = StrictCharField(required=False, allow_blank=True, max_length=1000)


class MeasureActionDataSerializer(serializers.Serializer):
    measure = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="本案件的帮扶措施编号")
    actual_date = serializers.DateField(required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    note = StrictCharField(required=False, allow_blank=True, max_length=1000)


class PlanDataSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField(), allow_empty=False)


# --- visits ---------------------------------------------------------------------------------


class VisitSerializer(ReadOnlyModelSerializer):
    household_number = StrictCharField(source="household.number", read_only=True)
    helper_name = StrictCharField(source="helper.name", read_only=True, allow_null=True)
    visited_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = [
            "id",
            "household",
            "household_number",
            "area_code",
            "case",
            "helper",
            "helper_name",
            "visited_by",
            "visited_by_name",
            "visited_on",
            "wages",
            "business",
            "property_income",
            "transfer",
            "business_expenditure",
            "medical_spending",
            "food_clothing_secure",
            "compulsory_education_secure",
            "medical_insurance_secure",
            "housing_secure",
            "drinking_water_secure",
            "needs",
            "notes",
            "raised_clue",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(StrictCharField())
    def get_visited_by_name(self, visit) -> str:
        return _name(visit.visited_by) if visit.visited_by_id else ""


class VisitClueSerializer(serializers.Serializer):
    risk_type_codes = serializers.ListField(
        child=StrictCharField(max_length=8), allow_empty=False, min_length=1
    )
    description = StrictCharField(
        required=False, allow_blank=True, default="", max_length=CLUE_DESCRIPTION_MAX
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)


def _money():
    return serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)


class VisitCreateSerializer(serializers.Serializer):
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    visited_on = serializers.DateField()
    helper = serializers.PrimaryKeyRelatedField(
        queryset=Helper.objects.all(), required=False, allow_null=True
    )
    wages = _money()
    business = _money()
    property_income = _money()
    transfer = _money()
    business_expenditure = _money()
    medical_spending = _money()
    food_clothing_secure = serializers.BooleanField(required=False, default=True)
    compulsory_education_secure = serializers.BooleanField(required=False, default=True)
    medical_insurance_secure = serializers.BooleanField(required=False, default=True)
    housing_secure = serializers.BooleanField(required=False, default=True)
    drinking_water_secure = serializers.BooleanField(required=False, default=True)
    needs = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)
    notes = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)
    raise_clue = VisitClueSerializer(required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            user = request.user
            self.fields["household"].queryset = Household.objects.for_user(user)
            if not user.sees_everything:
                counties = sorted({prefix[:6] for prefix in user.scope_prefixes()})
                self.fields["helper"].queryset = Helper.objects.filter(
                    area_prefix_q("county__code", counties)
                )


# --- ledgers --------------------------------------------------------------------------------
