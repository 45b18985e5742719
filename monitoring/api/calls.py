"""The one-key emergency call in the REST API (config/api_urls.py).

* Staff (session or personal token): ``GET /api/v1/calls/`` and ``/calls/{id}/`` (with the
  hops), ``POST /calls/`` (raise for a household), ``POST /calls/{id}/acknowledge/`` (the one
  tap) and ``/calls/{id}/close/`` (what was done, optionally raising a clue).
* A department's call device (API key with ``calls:write``): ``POST /api/v1/device-calls/``
  with the household's number or a member's ID number; 201 with the new call, 200 with the
  call already in progress for the household (a second press).

Every rule is in :mod:`monitoring.services.calls`; rows come from ``for_user``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.errors import ValidationError
from accounts.models import Scope, area_prefix_q
from config.api import ReadOnlyModelSerializer, StrictCharField
from households import idnumber
from households.api import StaffAPIMixin
from households.filters import with_scope_range
from households.models import Household, Person
from monitoring.api.departments import DepartmentAPIMixin, DepartmentErrorSerializer
from monitoring.api.serializers import ErrorSerializer
from monitoring.filters import AreaFilter, IdFilter
from monitoring.models import CallHop, CallSource, CallStatus, EmergencyCall
from monitoring.services import calls

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误（fields 按字段说明）"),
    403: OpenApiResponse(ErrorSerializer, description="角色无权办理"),
    404: OpenApiResponse(ErrorSerializer, description="不存在或不在本人工作区域内"),
    409: OpenApiResponse(ErrorSerializer, description="当前状态不能办理（message 为原因）"),
}


DEVICE_ERRORS = {
    400: OpenApiResponse(DepartmentErrorSerializer, description="字段错误，或没有该农户"),
    401: OpenApiResponse(
        DepartmentErrorSerializer, description="密钥缺失、无效、已吊销、已过期或IP不在白名单"
    ),
    403: OpenApiResponse(
        DepartmentErrorSerializer,
        description="非部门账号、部门已停用、密钥缺少权限范围或农户不在本部门区域内",
    ),
    429: OpenApiResponse(DepartmentErrorSerializer, description="超过该密钥的调用频率"),
}


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


# --- serializers ----------------------------------------------------------------------------------


class CallHopSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = CallHop
        fields = ["position", "level", "names", "notify_at", "state", "notified_at"]


class CallSerializer(ReadOnlyModelSerializer):
    household_number = StrictCharField(source="household.number", read_only=True)
    hops = CallHopSerializer(many=True, read_only=True)

    class Meta:
        model = EmergencyCall
        fields = [
            "id",
            "household",
            "household_number",
            "area_code",
            "status",
            "source",
            "raised_at",
            "raised_by",
            "department",
            "note",
            "acknowledged_at",
            "acknowledged_by",
            "closed_at",
            "closed_by",
            "outcome",
            "clue",
            "hops",
        ]


class CallCreateSerializer(serializers.Serializer):
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=calls.NOTE_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["household"].queryset = Household.objects.for_user(request.user)


class CallClueSerializer(serializers.Serializer):
    risk_type_codes = serializers.ListField(
        child=StrictCharField(max_length=8), allow_empty=False, min_length=1
    )
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)


class CallCloseSerializer(serializers.Serializer):
    outcome = StrictCharField(max_length=calls.OUTCOME_MAX, help_text="处置情况")
    raise_clue = CallClueSerializer(required=False, allow_null=True)


class DeviceCallSerializer(serializers.Serializer):
    """What a call device sends: which household (its number, or a member's ID number)."""

    household_number = StrictCharField(required=False, allow_blank=True, default="", max_length=30)
    id_number = StrictCharField(required=False, allow_blank=True, default="", max_length=18)
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=calls.NOTE_MAX)


class DeviceCallAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="false：该户已有进行中的呼叫（重复按键）")
    status = serializers.ChoiceField(choices=CallStatus.choices)
    household_number = StrictCharField()
    raised_at = serializers.DateTimeField()


class CallFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(distinct=False, choices=CallStatus.choices, label="状态")
    area = AreaFilter(field_name="area_code")
    household = IdFilter(field_name="household_id", label="农户（编号）")

    class Meta:
        model = EmergencyCall
        fields: list[str] = []


# --- staff ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="紧急呼叫列表", responses={200: CallSerializer(many=True)}),
    retrieve=extend_schema(
        summary="紧急呼叫详情（含逐级通知记录）", responses={200: CallSerializer, **_errors(404)}
    ),
)
class CallViewSet(StaffAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CallSerializer
    filterset_class = CallFilter
    ordering_fields = ["raised_at", "id"]
    ordering = ["-raised_at", "-id"]

    def get_queryset(self):
        user = self.request.user
        return (
            with_scope_range(EmergencyCall.objects.for_user(user), user)
            .select_related("household")
            .prefetch_related("hops")
        )

    def _answer(self, pk: int, code=status.HTTP_200_OK) -> Response:
        call = self.get_queryset().get(pk=pk)
        return Response(CallSerializer(call, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="发起紧急呼叫",
        description="村干部、帮扶人（本人帮扶的户）、乡镇、县级人员为本人工作区域内的农户发起；"
        "该户已有进行中的呼叫时返回该呼叫（200）。",
        request=CallCreateSerializer,
        responses={201: CallSerializer, 200: CallSerializer, **_errors(400, 403)},
    )
    def create(self, request):
        form = CallCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        call, created = calls.call_raise(actor=request.user, source=CallSource.API, **form.validated_data)
        return self._answer(call.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="应答（一键）",
        description="被通知到的人或本区域工作人员应答；之后不再向下一级升级。同一人重复应答不变。",
        request=None,
        responses={200: CallSerializer, **_errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        call = self.get_object()
        calls.call_acknowledge(actor=request.user, call=call)
        return self._answer(call.pk)

    @extend_schema(
        summary="办结",
        description="填写处置情况；raise_clue 可同时为该户登记风险线索。",
        request=CallCloseSerializer,
        responses={200: CallSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        call = self.get_object()
        form = CallCloseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        calls.call_close(actor=request.user, call=call, **form.validated_data)
        return self._answer(call.pk)


# --- the call device (a department's key) ------------------------------------------------------------


def device_household(user, *, household_number: str, id_number: str) -> Household:
    """The household a device names, inside the department account's areas."""
    households = Household.objects.all()
    prefixes = user.scope_prefixes()
    if prefixes and not user.sees_everything:
        households = households.filter(area_prefix_q("area_code", prefixes))
    if household_number:
        found = households.filter(number=household_number).first()
        if found is None:
            raise ValidationError({"household_number": _("没有该户编号的农户。")})
        return found
    if not id_number:
        raise ValidationError({"household_number": _("请填写户编号或家庭成员的身份证号。")})
    try:
        number = idnumber.parse(id_number).number
    except idnumber.IDNumberError as exc:
        raise ValidationError({"id_number": exc.message}) from None
    person = (
        Person.objects.filter(id_number=number, household__in=households).select_related("household").first()
    )
    if person is None:
        raise ValidationError({"id_number": _("没有该身份证号的家庭成员。")})
    return person.household


@extend_schema_view(
    create=extend_schema(
        summary="呼叫终端发起紧急呼叫",
        description="县里为独居老人等安装的一键呼叫终端，由所属部门的密钥（`calls:write`）调用。"
        "用户编号或家庭成员身份证号指明农户；该户已有进行中的呼叫时返回该呼叫（200）。",
        request=DeviceCallSerializer,
        responses={
            201: DeviceCallAnswerSerializer,
            200: DeviceCallAnswerSerializer,
            **DEVICE_ERRORS,
        },
    ),
)
class DeviceCallViewSet(DepartmentAPIMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = DeviceCallSerializer
    required_scopes = {"create": Scope.CALLS_WRITE}

    def get_queryset(self):
        return EmergencyCall.objects.for_user(self.request.user)

    def create(self, request, *args, **kwargs):
        form = DeviceCallSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        household = device_household(
            request.user,
            household_number=data["household_number"].strip(),
            id_number=data["id_number"].strip(),
        )
        call, created = calls.call_raise(
            actor=request.user, household=household, note=data["note"], source=CallSource.DEVICE
        )
        body = {
            "id": call.pk,
            "created": created,
            "status": call.status,
            "household_number": household.number,
            "raised_at": call.raised_at,
        }
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DeviceCallAnswerSerializer(body).data, status=code)


def register(router) -> None:
    router.register("calls", CallViewSet, basename="call")
    router.register("device-calls", DeviceCallViewSet, basename="device-call")
