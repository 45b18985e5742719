"""The staff REST API of the workflow (config/api_urls.py): clues, cases and their one action
endpoint, visits, measures and the ledgers' counts.

Views parse input, call one service and render: every rule, role and area check lives in
``monitoring/services`` (the same calls the pages make), and their refusals become the API's
error shape (400 with fields, 403, 409). Rows come from ``for_user``, so another area's row is
a 404 on a retrieve or an action, never a 403 that would reveal it exists.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from households.api import BodySearchMixin, SearchBodySerializer, StaffAPIMixin
from households.filters import with_scope_range
from monitoring import dispatch
from monitoring.api import serializers as s
from monitoring.filters import CaseFilter, ClueFilter, MeasureFilter, VisitFilter
from monitoring.models import AssistanceMeasure, Clue, MonitoringCase, Visit
from monitoring.services import clues, exit_check, visits

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="输入有误（fields 按字段说明）"),
    401: OpenApiResponse(s.ErrorSerializer, description="未登录"),
    403: OpenApiResponse(s.ErrorSerializer, description="角色无权办理"),
    404: OpenApiResponse(s.ErrorSerializer, description="不存在或不在本人工作区域内"),
    409: OpenApiResponse(
        s.ErrorSerializer, description="当前状态不能办理（message 为原因），或案件已被他人更新"
    ),
}


def _errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


# --- clues ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="风险线索列表（预警信息台账）", responses={200: s.ClueSerializer(many=True)}),
    retrieve=extend_schema(summary="风险线索详情", responses={200: s.ClueSerializer, **_errors(404)}),
)
class ClueViewSet(StaffAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ClueSerializer
    filterset_class = ClueFilter
    ordering_fields = ["id", "found_date"]
    ordering = ["-id"]
    single_record_actions = frozenset({"retrieve", "create", "match", "dismiss", "open_case"})

    def filter_queryset(self, queryset):
        """``sort=score`` (highest identification score first) unless ``ordering`` is given."""
        qs = super().filter_queryset(queryset)
        params = self.request.query_params
        if params.get("sort") == "score" and "ordering" not in params:
            qs = ClueFilter.sort_by_score(qs)
        return qs

    def get_queryset(self):
        user = self.request.user
        return (
            with_scope_range(Clue.objects.for_user(user), user)
            .select_related("department", "household__score")
            .prefetch_related("risk_types")
        )

    def _answer(self, clue_id: int, code=status.HTTP_200_OK) -> Response:
        clue = get_object_or_404(self.get_queryset(), pk=clue_id)
        return Response(s.ClueSerializer(clue, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="登记农户自主申报或干部排查线索",
        description="线索直接对应本人工作区域内的农户；该户无在办案件时即启动识别程序，有则并入。",
        request=s.ClueCreateSerializer,
        responses={201: s.ClueSerializer, **_errors(400, 403, 409)},
    )
    def create(self, request):
        form = s.ClueCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        clue = clues.clue_create(actor=request.user, **form.validated_data)
        return self._answer(clue.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="研判：匹配农户",
        request=s.ClueMatchSerializer,
        responses={200: s.ClueSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def match(self, request, pk=None):
        clue = self.get_object()
        form = s.ClueMatchSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        clues.clue_match(actor=request.user, clue=clue, **form.validated_data)
        return self._answer(clue.pk)

    @extend_schema(
        summary="研判：排除",
        request=s.ClueDismissSerializer,
        responses={200: s.ClueSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        clue = self.get_object()
        form = s.ClueDismissSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        clues.clue_dismiss(actor=request.user, clue=clue, **form.validated_data)
        return self._answer(clue.pk)

    @extend_schema(
        summary="研判：启动识别程序",
        description="对已匹配农户的线索启动识别；该户已有在办案件时并入该案件。",
        request=None,
        responses={200: s.ClueSerializer, **_errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="open-case")
    def open_case(self, request, pk=None):
        clue = self.get_object()
        clues.clue_open_case(actor=request.user, clue=clue)
        return self._answer(clue.pk)


# --- cases ----------------------------------------------------------------------------------

_FORM_KEY = re.compile(r"^(\w+?)-(\d+)-(\w+)$")
#: Keys of a service's field errors that name the request's own fields, not ``data``'s.
_TOP_LEVEL = frozenset({"reason", "step", "expected_version", "action", "non_field_errors", "__all__"})


def _data_key(key: str, action_name: str) -> str:
    """A service's field name → its path in the request (``visitors`` → ``data.visitors``,
    ``items-0-measure`` → ``data.items[0].measure``)."""
    if key in _TOP_LEVEL:
        return key
    if action_name == "set_plan" and key == "plan":
        return "data.items"
    match = _FORM_KEY.match(key)
    if match:
        return f"data.{match[1]}[{match[2]}].{match[3]}"
    return f"data.{key}"


def _parse(serializer_class, data: dict) -> dict:
    form = serializer_class(data=data)
    if not form.is_valid():
        raise drf_serializers.ValidationError({"data": form.errors})
    return dict(form.validated_data)


def _plan_data(data: dict) -> dict:
    items, errors = [], {}
    for i, raw in enumerate(_parse(s.PlanDataSerializer, data)["items"]):
        form = s.PlanItemSerializer(data=raw)
        if form.is_valid():
            # unknown keys stay in, for the service to name them
            items.append({**raw, **form.validated_data})
        else:
            errors[f"items[{i}]"] = form.errors
    if errors:
        raise drf_serializers.ValidationError({"data": errors})
    return {"items": items}


def _step_data(data: dict) -> dict:
    _parse(s.StepDataSerializer, data)  # only shapes the step rules cannot take apart
    return data


#: action → how its ``data`` is parsed before :func:`monitoring.dispatch.run` gets it.
DATA_PARSERS = {
    "complete": _step_data,
    "post_notice": lambda data: _parse(s.NoticeDataSerializer, data),
    "propose_exit": lambda data: _parse(s.ExitDataSerializer, data),
    "record_objection": lambda data: _parse(s.ObjectionDataSerializer, data),
    "resolve_objection": lambda data: _parse(s.ResolveObjectionDataSerializer, data),
    "set_plan": _plan_data,
    "measure_start": lambda data: _parse(s.MeasureActionDataSerializer, data),
    "measure_complete": lambda data: _parse(s.MeasureActionDataSerializer, data),
    "measure_stop": lambda data: _parse(s.MeasureActionDataSerializer, data),
}


def run_case_action(*, case: MonitoringCase, user, values: dict) -> None:
    """Parse the action's ``data`` and hand it to :func:`monitoring.dispatch.run`, the dispatch
    the case pages use too (lock and version check, the case's own step / notice / objection /
    measure, then the one service). Field errors come back under their request paths."""
    action_name = values["action"]
    parse = DATA_PARSERS.get(action_name)
    data = parse(values["data"]) if parse else values["data"]
    try:
        dispatch.run(
            user=user,
            case=case,
            action=action_name,
            step_id=values.get("step"),
            data=data,
            reason=values["reason"],
            expected_version=values.get("expected_version"),
        )
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {_data_key(k, action_name): v for k, v in exc.error_dict.items()}
        ) from None


@extend_schema_view(
    list=extend_schema(summary="监测案件列表", responses={200: s.CaseSerializer(many=True)}),
    retrieve=extend_schema(
        summary="监测案件详情",
        description="含办理步骤及其期限（state / due / days_left）、公示、异议、帮扶措施，"
        "以及本人当前可办理的操作（available_actions，不可办理的附原因）。",
        responses={200: s.CaseDetailSerializer, **_errors(404)},
    ),
    search=extend_schema(
        summary="按身份证号等查找监测案件",
        description="search（身份证号、户编号或姓名）放在请求正文中，不放在网址中；其他筛选仍在查询参数中。"
        "结果与案件列表相同。GET 列表的 search 为身份证号时返回400。",
        request=SearchBodySerializer,
        parameters=[OpenApiParameter("search", exclude=True)],
        responses={200: s.CaseSerializer(many=True)},
    ),
)
class CaseViewSet(
    BodySearchMixin, StaffAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = CaseFilter
    ordering_fields = ["id", "due_date", "next_visit_due"]
    ordering = ["-id"]

    def get_queryset(self):
        user = self.request.user
        qs = with_scope_range(MonitoringCase.objects.for_user(user), user).select_related(
            "household__head", "score_model"
        )
        if self.action == "retrieve":
            return self.with_details(qs)
        if self.action == "act":
            return qs  # the case is read in full once the action is done
        return qs.prefetch_related("risk_types")

    @staticmethod
    def with_details(qs):
        return qs.select_related("household__village", "procedure", "exit_procedure").prefetch_related(
            "risk_types",
            "steps__waits_for",
            "steps__notice",
            "steps__completed_by",
            "objections",
            "measures__measure__category",
            "measures__department",
            "clues",
        )

    def get_serializer_class(self):
        return s.CaseDetailSerializer if self.action in ("retrieve", "act") else s.CaseSerializer

    @extend_schema(
        summary="办理案件",
        description=(
            "一个案件的全部操作：complete / reject / return / post_notice（须指定 step），"
            "green_channel、secure_tracking（reason 必填）、propose_exit（data.mode，不符合条件时县级 "
            "data.override_reason）、record_objection、resolve_objection、set_plan（data.items）、"
            "measure_start / measure_complete / measure_stop（data.measure）。"
            "调用与页面相同的服务；成功时返回更新后的案件。expected_version 与案件当前 version 不符时返回409。"
        ),
        request=s.CaseActionSerializer,
        responses={200: s.CaseDetailSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="actions", url_name="actions")
    def act(self, request, pk=None):
        case = self.get_object()
        form = s.CaseActionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run_case_action(case=case, user=request.user, values=form.validated_data)
        case = get_object_or_404(self.with_details(self.get_queryset()), pk=case.pk)
        return Response(self.get_serializer(case).data)

    @extend_schema(
        summary="上传风险消除入户核查照片（听评看算之“看”）",
        description=(
            "在风险消除程序的入户核查办结前上传入户所见的照片（multipart：step、file、caption）；"
            "办结该步骤须至少1张照片。只有可办理该步骤的人员可以上传。"
        ),
        request={"multipart/form-data": s.StepPhotoUploadSerializer},
        responses={201: s.StepPhotoSerializer, **_errors(400, 403, 404, 409)},
    )
    @action(
        detail=True, methods=["post"], url_path="photos", url_name="photos", parser_classes=[MultiPartParser]
    )
    def photos(self, request, pk=None):
        case = self.get_object()
        form = s.StepPhotoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        step = get_object_or_404(case.steps.all(), pk=form.validated_data["step"])
        photo = exit_check.step_photo_add(
            actor=request.user,
            step=step,
            upload=form.validated_data["file"],
            caption=form.validated_data.get("caption", ""),
        )
        return Response(s.StepPhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


# --- visits and measures ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="走访记录列表", responses={200: s.VisitSerializer(many=True)}),
    retrieve=extend_schema(summary="走访记录详情", responses={200: s.VisitSerializer, **_errors(404)}),
)
class VisitViewSet(StaffAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.VisitSerializer
    filterset_class = VisitFilter
    ordering_fields = ["visited_on", "id"]
    ordering = ["-visited_on", "-id"]

    def get_queryset(self):
        user = self.request.user
        return with_scope_range(Visit.objects.for_user(user), user).select_related(
            "household", "helper", "visited_by"
        )

    @extend_schema(
        summary="记录走访",
        description="帮扶责任人（须为该户当日的帮扶人）或本村干部记录；raise_clue 可同时登记发现的风险线索。",
        request=s.VisitCreateSerializer,
        responses={201: s.VisitSerializer, **_errors(400, 403)},
    )
    def create(self, request):
        form = s.VisitCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        visit = visits.visit_record(actor=request.user, **form.validated_data)
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(self.get_serializer(visit).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="帮扶措施列表", responses={200: s.MeasureSerializer(many=True)}),
    retrieve=extend_schema(summary="帮扶措施详情", responses={200: s.MeasureSerializer, **_errors(404)}),
)
class MeasureViewSet(StaffAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.MeasureSerializer
    filterset_class = MeasureFilter
    ordering_fields = ["id", "case"]
    ordering = ["-id"]

    def get_queryset(self):
        user = self.request.user
        qs = with_scope_range(AssistanceMeasure.objects.for_user(user), user, "case__area_code")
        return qs.select_related("case", "measure__category", "department")


extra_urls: list = []


def register(router) -> None:
    """Add this module's viewsets to the API router."""
    router.register("clues", ClueViewSet, basename="clue")
    router.register("cases", CaseViewSet, basename="case")
    router.register("visits", VisitViewSet, basename="visit")
    router.register("measures", MeasureViewSet, basename="measure")
