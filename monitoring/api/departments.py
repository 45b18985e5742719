"""The partner departments' REST API (config/api_urls.py): alerts in, tasks out.

* ``POST /api/v1/alerts/`` — one alert (a JSON object) or a batch (a JSON list, at most 1,000);
  :func:`monitoring.services.alerts.alerts_receive` answers item by item.
* ``GET /api/v1/alerts/`` and ``/alerts/{id}/`` — the department's own alerts with how the
  county handled them (status, outcome, case status): the feedback loop.
* ``GET /api/v1/tasks/`` and ``/tasks/{id}/`` — the assistance measures the department owns,
  with only as much of the household as the task needs (masked ID number and phone).
* ``POST /api/v1/tasks/{id}/start/`` and ``/complete/`` — :func:`measure_start` and
  :func:`measure_complete`.

Only department accounts get in (an API key, or a department user's session); a key needs the
scope of the action (``required_scopes``). Rows come from ``for_user``, so another
department's alert or task is a 404. Every refusal is ``{"code", "message", "fields"}``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts.api_auth import HasScope, IsDepartment
from accounts.errors import ServiceError
from accounts.models import DepartmentAPIKey, Scope
from config.api import ClosedErrorSchema, ReadOnlyModelSerializer, StrictCharField, error_body
from households import idnumber
from monitoring.models import AssistanceMeasure, Clue, ClueStatus, MeasureStatus
from monitoring.rules.deadlines import SHANGHAI
from monitoring.services.alerts import CREATED, EXISTING, MAX_BATCH, REJECTED, alerts_receive
from monitoring.services.assistance import measure_complete, measure_start

extra_urls: list = []

# --- plumbing -------------------------------------------------------------------------------


class JSONBodyParser(JSONParser):
    """JSON, refusing absurdly nested documents with a 400 instead of a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套层数过多。")) from None


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("请求体过大。")
    default_code = "payload_too_large"


class ActiveDepartment(permissions.BasePermission):
    """The department (of the key, or of the signed-in user) must not be switched off."""

    message = gettext_lazy("该部门已停用。")

    def has_permission(self, request, view):
        key = request.auth if isinstance(request.auth, DepartmentAPIKey) else None
        department = key.department if key is not None else getattr(request.user, "department", None)
        return bool(department is not None and department.is_active)


def _department(request):
    key = request.auth if isinstance(request.auth, DepartmentAPIKey) else None
    return key.department if key is not None else request.user.department


class DepartmentAPIMixin:
    permission_classes = [permissions.IsAuthenticated, IsDepartment, ActiveDepartment, HasScope]
    parser_classes = [JSONBodyParser]
    #: no OPTIONS metadata (the schema does not offer OPTIONS): a 405 in the error shape
    metadata_class = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


#: The widest UTC offsets in use (UTC−12:00 to UTC+14:00); PostgreSQL refuses some beyond.
MIN_OFFSET, MAX_OFFSET = dt.timedelta(hours=-12), dt.timedelta(hours=14)


def _sane_year(value, name: str | None = None):
    """Refuse years the database (or the conversion to UTC) cannot hold, and date-times with a
    UTC offset no place uses; an accepted date-time is returned in UTC."""
    if value is not None and not (1900 <= value.year <= 2999):
        message = _("日期超出范围。")
        raise exceptions.ValidationError({name: message} if name else message)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        offset = value.utcoffset()
        if offset is not None and not (MIN_OFFSET <= offset <= MAX_OFFSET):
            message = _("时区偏移超出范围（须在 -12:00 至 +14:00 之间）。")
            raise exceptions.ValidationError({name: message} if name else message)
        value = value.astimezone(dt.UTC)
    return value


# --- serializers ----------------------------------------------------------------------------


class DepartmentErrorSerializer(serializers.Serializer):
    """Every 4xx answer."""

    code = StrictCharField(
        help_text="invalid / parse_error / not_authenticated / "
        "authentication_failed / permission_denied / not_found / "
        "invalid_transition / batch_too_large / throttled …"
    )
    message = StrictCharField()
    fields = serializers.DictField(child=StrictCharField(), help_text="字段 → 错误说明")


class DepartmentErrorSchema(ClosedErrorSchema):
    target_class = DepartmentErrorSerializer


class AlertInSerializer(serializers.Serializer):
    """One alert as a department sends it (documentation only: the service validates)."""

    external_id = StrictCharField(max_length=64, help_text="部门的预警编号；同一部门内唯一，重发不重复登记")
    id_number = StrictCharField(max_length=18, help_text="18位公民身份号码（校验位错误等格式问题即拒收）")
    name = StrictCharField(max_length=50)
    risk_type = StrictCharField(
        required=False,
        allow_null=True,
        max_length=8,
        help_text='风险类型代码，如 "01"（因病）、"0201"（洪涝灾害）；null 或省略表示未填',
    )
    risk_types = serializers.ListField(
        child=StrictCharField(max_length=8),
        required=False,
        allow_null=True,
        min_length=1,
        max_length=5,
        help_text="或：1–5个风险类型代码（与 risk_type 二选一）",
    )
    found_date = serializers.DateField(help_text="发现风险日期，YYYY-MM-DD，不晚于今天、不早于两年前")
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    amount = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=12,
        decimal_places=2,
        min_value=0,
        help_text="涉及金额（元），如医疗自付费用",
    )


class AlertSerializer(ReadOnlyModelSerializer):
    """An alert as its department sees it: what it sent, and how the county handled it."""

    risk_types = serializers.SerializerMethodField()
    status_display = StrictCharField(source="get_status_display", read_only=True)
    dismiss_reason_display = StrictCharField(source="get_dismiss_reason_display", read_only=True)
    case_status = serializers.SerializerMethodField(
        help_text="启动识别后：案件状态（识别中、不予纳入、监测帮扶中…）"
    )
    case_status_display = serializers.SerializerMethodField()

    class Meta:
        model = Clue
        fields = [
            "id",
            "external_id",
            "id_number",
            "name",
            "risk_types",
            "found_date",
            "description",
            "amount",
            "received_at",
            "status",
            "status_display",
            "dismiss_reason",
            "dismiss_reason_display",
            "outcome",
            "outcome_at",
            "case_status",
            "case_status_display",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=StrictCharField()))
    def get_risk_types(self, obj) -> list[str]:
        return [r.code for r in obj.risk_types.all()]

    @extend_schema_field(StrictCharField(allow_null=True))
    def get_case_status(self, obj):
        return obj.case.status if obj.case_id else None

    @extend_schema_field(StrictCharField(allow_null=True))
    def get_case_status_display(self, obj):
        return obj.case.get_status_display() if obj.case_id else None


class AlertItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="在提交列表中的位置（从0开始）")
    external_id = StrictCharField()
    result = serializers.ChoiceField(choices=[CREATED, EXISTING, REJECTED])
    id = serializers.IntegerField(allow_null=True, help_text="预警编号（existing：最先登记的那条）")
    status = serializers.ChoiceField(choices=ClueStatus.choices, allow_null=True)
    errors = serializers.DictField(child=StrictCharField(), help_text="rejected：字段 → 错误说明")


class AlertBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = AlertItemResultSerializer(many=True)


class AlertBatchRejectedSerializer(DepartmentErrorSerializer):
    """All items rejected: the error shape (fields ``[index].field``) plus the item results."""

    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = AlertItemResultSerializer(many=True)


class TaskHouseholdSerializer(serializers.Serializer):
    """Only what a department needs to find the household; no income, no health."""

    number = StrictCharField(help_text="户编号")
    village = StrictCharField(source="village.name", help_text="所在村")
    head_name = serializers.SerializerMethodField(help_text="户主姓名")
    head_id_number = serializers.SerializerMethodField(help_text="户主身份证号（脱敏）")
    phone = StrictCharField(source="phone_masked", help_text="联系电话（脱敏）")

    def get_head_name(self, household) -> str:
        return household.head.name if household.head_id else ""

    def get_head_id_number(self, household) -> str:
        return idnumber.mask(household.head.id_number) if household.head_id else ""


class TaskSerializer(ReadOnlyModelSerializer):
    measure_code = StrictCharField(source="measure.code", read_only=True)
    measure_name = StrictCharField(source="measure.name", read_only=True)
    status_display = StrictCharField(source="get_status_display", read_only=True)
    household = TaskHouseholdSerializer(source="case.household", read_only=True)

    class Meta:
        model = AssistanceMeasure
        fields = [
            "id",
            "measure_code",
            "measure_name",
            "status",
            "status_display",
            "responsible_person",
            "planned_start",
            "planned_end",
            "actual_date",
            "amount",
            "note",
            "created_at",
            "household",
        ]
        read_only_fields = fields


class TaskStartSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=300)


class TaskCompleteSerializer(serializers.Serializer):
    actual_date = serializers.DateField(help_text="实际落实日期，YYYY-MM-DD")
    amount = serializers.DecimalField(
        required=False, allow_null=True, max_digits=12, decimal_places=2, min_value=0, help_text="资金（元）"
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=300)

    def validate_actual_date(self, value):
        return _sane_year(value)


# --- filters --------------------------------------------------------------------------------


class AlertFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=ClueStatus.choices, help_text="可重复：?status=a&status=b")
    external_id = filters.CharFilter(max_length=64)
    found_from = filters.DateFilter(field_name="found_date", lookup_expr="gte", help_text="发现日期起")
    found_to = filters.DateFilter(field_name="found_date", lookup_expr="lte", help_text="发现日期止")
    received_from = filters.DateFilter(method="filter_received_from", help_text="接收日期起（北京时间）")
    received_to = filters.DateFilter(method="filter_received_to", help_text="接收日期止（含，北京时间）")
    outcome_since = filters.IsoDateTimeFilter(
        method="filter_outcome_since", help_text="反馈时间不早于（用于增量拉取处理结果）"
    )

    class Meta:
        model = Clue
        fields: list[str] = []

    def filter_received_from(self, queryset, name, value):
        return queryset.filter(received_at__gte=_day_start(_sane_year(value, name)))

    def filter_received_to(self, queryset, name, value):
        return queryset.filter(received_at__lt=_day_start(_sane_year(value, name) + dt.timedelta(days=1)))

    def filter_outcome_since(self, queryset, name, value):
        return queryset.filter(outcome_at__gte=_sane_year(value, name))


class TaskFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=MeasureStatus.choices, help_text="可重复")

    class Meta:
        model = AssistanceMeasure
        fields: list[str] = []


# --- views ----------------------------------------------------------------------------------

_ERROR = OpenApiResponse(DepartmentErrorSerializer)
_COMMON_ERRORS = {
    401: OpenApiResponse(
        DepartmentErrorSerializer, description="密钥缺失、无效、已吊销、已过期或IP不在白名单"
    ),
    403: OpenApiResponse(DepartmentErrorSerializer, description="非部门账号、部门已停用或密钥缺少权限范围"),
    429: OpenApiResponse(DepartmentErrorSerializer, description="超过该密钥的调用频率"),
}
_NOT_FOUND = {404: OpenApiResponse(DepartmentErrorSerializer, description="不存在或不属于本部门")}

_ALERT_SUBMISSION = PolymorphicProxySerializer(
    component_name="AlertSubmission",
    serializers=[AlertInSerializer, AlertInSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
_ALERT_ACCEPTED = PolymorphicProxySerializer(
    component_name="AlertAccepted",
    serializers=[AlertSerializer, AlertBatchResultSerializer],
    resource_type_field_name=None,
    many=False,
)
_ALERT_REFUSED = PolymorphicProxySerializer(
    component_name="AlertRefused",
    serializers=[DepartmentErrorSerializer, AlertBatchRejectedSerializer],
    resource_type_field_name=None,
    many=False,
)

_CREATE_DESCRIPTION = """
推送一条预警（JSON 对象）或一批预警（JSON 数组，1–1000条）。需要 `alerts:write`。

按（部门，external_id）幂等：已登记过的预警不会重复登记，返回最先登记的那条。

**一条**：201 新登记，200 已存在（均返回该预警）；400 被拒收（错误格式，fields 为字段错误）。

**一批**：逐条答复，顺序与提交一致（`index`），每条为 `created` / `existing` / `rejected`
（附字段错误）；同一批内重复的 external_id，后出现的答 `existing` 并指向第一条。
任何一条都不会只登记一部分。状态码：有新登记的为 **201**；没有新登记、但有已存在的为 **200**；
全部被拒收为 **400**（错误格式 `code/message/fields`，fields 的键为 `[序号].字段`，
另附与 201 相同的逐条结果）。超过1000条、空数组或不是对象/数组：400，整批不处理。

身份证号格式错误（位数、出生日期、校验位）即拒收；号码有效但不在农户库中的，登记为
"待匹配"，等待县级人工匹配。部门预警不会自动启动识别，等待县级研判；若该户已有在办案件，
则并入该案件。
"""


@extend_schema_view(
    list=extend_schema(
        summary="本部门的预警及处理结果",
        description="本部门推送的预警，附县级处理状态与反馈（排除、启动识别、并入在办案件、识别结果）。"
        "需要 `alerts:read`。",
        responses={200: AlertSerializer(many=True), 400: _ERROR, **_COMMON_ERRORS},
    ),
    retrieve=extend_schema(
        summary="一条预警及处理结果",
        responses={200: AlertSerializer, **_COMMON_ERRORS, **_NOT_FOUND},
    ),
    create=extend_schema(
        summary="推送预警（一条或一批）",
        description=_CREATE_DESCRIPTION,
        request=_ALERT_SUBMISSION,
        responses={
            201: OpenApiResponse(_ALERT_ACCEPTED, description="一条：新登记的预警；一批：有新登记"),
            200: OpenApiResponse(_ALERT_ACCEPTED, description="一条：已存在；一批：没有新登记，有已存在的"),
            400: OpenApiResponse(_ALERT_REFUSED, description="拒收：一条的字段错误，或整批全部被拒收"),
            413: OpenApiResponse(DepartmentErrorSerializer, description="请求体过大"),
            415: OpenApiResponse(DepartmentErrorSerializer, description="须为 application/json"),
            **_COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "一条",
                request_only=True,
                value={
                    "external_id": "YB-2026-000123",
                    "id_number": "130727198001010010",
                    "name": "张三",
                    "risk_type": "01",
                    "found_date": "2026-03-01",
                    "description": "住院自付费用较高",
                    "amount": "52000.00",
                },
            ),
        ],
    ),
)
class AlertViewSet(
    DepartmentAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["received_at", "found_date", "outcome_at", "id"]
    ordering = ["-received_at", "-id"]
    required_scopes = {"list": Scope.ALERTS_READ, "retrieve": Scope.ALERTS_READ, "create": Scope.ALERTS_WRITE}

    def get_queryset(self):
        return (
            Clue.objects.for_user(self.request.user)
            .select_related("case")
            .prefetch_related("risk_types")
            .order_by("-received_at", "-id")
        )

    def create(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge()
        data = request.data
        if isinstance(data, dict):
            return self._create_one(request, data)
        if not isinstance(data, list):
            raise exceptions.ValidationError(
                {"non_field_errors": [_("请提交一条预警（对象）或一批预警（数组）。")]}
            )
        if not data:
            raise exceptions.ValidationError({"non_field_errors": [_("预警列表为空。")]})
        if len(data) > MAX_BATCH:
            message = _("一次最多提交%(n)s条预警，本次%(count)s条。") % {"n": MAX_BATCH, "count": len(data)}
            raise ServiceError(message, code="batch_too_large", fields={"non_field_errors": message})
        results = alerts_receive(actor=request.user, department=_department(request), items=data)
        counts = Counter(r["result"] for r in results)
        body = {
            "created": counts[CREATED],
            "existing": counts[EXISTING],
            "rejected": counts[REJECTED],
            "results": results,
        }
        if counts[CREATED]:
            return Response(body, status=status.HTTP_201_CREATED)
        if counts[EXISTING]:
            return Response(body, status=status.HTTP_200_OK)
        fields = {f"[{r['index']}].{name}": msg for r in results for name, msg in r["errors"].items()}
        error = error_body("invalid", _("全部预警被拒收，请按逐条结果修改后重新提交。"), fields)
        return Response({**error, **body}, status=status.HTTP_400_BAD_REQUEST)

    def _create_one(self, request, data: dict) -> Response:
        (result,) = alerts_receive(actor=request.user, department=_department(request), items=[data])
        if result["result"] == REJECTED:
            message = _("提交的数据有误，请按字段提示修改。")
            return Response(
                error_body("invalid", message, result["errors"]), status=status.HTTP_400_BAD_REQUEST
            )
        clue = self.get_queryset().get(pk=result["id"])
        code = status.HTTP_201_CREATED if result["result"] == CREATED else status.HTTP_200_OK
        return Response(AlertSerializer(clue).data, status=code)


_TASK_ACTION_ERRORS = {
    400: OpenApiResponse(DepartmentErrorSerializer, description="字段错误"),
    409: OpenApiResponse(DepartmentErrorSerializer, description="当前状态不能办理"),
    **_COMMON_ERRORS,
    **_NOT_FOUND,
}


@extend_schema_view(
    list=extend_schema(
        summary="本部门的帮扶任务",
        description="本部门负责落实的帮扶措施。农户只显示户编号、所在村、户主姓名、脱敏的身份证号和电话。"
        "需要 `tasks:read`。",
        responses={200: TaskSerializer(many=True), 400: _ERROR, **_COMMON_ERRORS},
    ),
    retrieve=extend_schema(
        summary="一项帮扶任务", responses={200: TaskSerializer, **_COMMON_ERRORS, **_NOT_FOUND}
    ),
    start=extend_schema(
        summary="开始实施",
        description="计划 → 实施中。需要 `tasks:write`。",
        request=TaskStartSerializer,
        responses={200: TaskSerializer, **_TASK_ACTION_ERRORS},
    ),
    complete=extend_schema(
        summary="办结（已落实）",
        description="计划/实施中 → 已落实，填写实际落实日期、资金和备注。需要 `tasks:write`。",
        request=TaskCompleteSerializer,
        responses={200: TaskSerializer, **_TASK_ACTION_ERRORS},
    ),
)
class TaskViewSet(
    DepartmentAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["created_at", "planned_end", "id"]
    ordering = ["-created_at", "-id"]
    required_scopes = {
        "list": Scope.TASKS_READ,
        "retrieve": Scope.TASKS_READ,
        "start": Scope.TASKS_WRITE,
        "complete": Scope.TASKS_WRITE,
    }

    def get_queryset(self):
        return (
            AssistanceMeasure.objects.for_user(self.request.user)
            .select_related("measure", "case__household__village", "case__household__head")
            .order_by("-created_at", "-id")
        )

    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        task = self.get_object()
        form = TaskStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        measure_start(actor=request.user, measure=task, reason=form.validated_data.get("reason", ""))
        return Response(TaskSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        form = TaskCompleteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        measure_complete(
            actor=request.user,
            measure=task,
            actual_date=form.validated_data["actual_date"],
            amount=form.validated_data.get("amount"),
            note=form.validated_data.get("note", ""),
        )
        return Response(TaskSerializer(self.get_object()).data)


def register(router) -> None:
    """Add this module's viewsets to the API router."""
    router.register("alerts", AlertViewSet, basename="department-alert")
    router.register("tasks", TaskViewSet, basename="department-task")
