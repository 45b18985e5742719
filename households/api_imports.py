"""``/api/v1/imports/``: upload a workbook as a background import job, then follow it.

``POST`` (multipart: ``file``, ``layout``, ``dry_run``) answers 202 with the job; ``GET
/imports/{id}/`` shows its state, progress, errors, the error report's address and, after a
real run, what was created and changed. Operators and county people only, their own area's jobs.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api_auth import DepartmentKeyAuthentication, IsStaff, StaffTokenAuthentication
from accounts.errors import NotAllowed
from config.api import Pagination, ReadOnlyModelSerializer
from config.schema import ErrorSerializer

from .imports import jobs
from .models import ImportJob, ImportLayout

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="输入有误（fields 按字段说明）"),
    401: OpenApiResponse(ErrorSerializer, description="未登录"),
    403: OpenApiResponse(ErrorSerializer, description="角色无权办理"),
    404: OpenApiResponse(ErrorSerializer, description="不存在或不在本人工作区域内"),
}


class ImportProgressSerializer(serializers.Serializer):
    rows_total = serializers.IntegerField()
    rows_checked = serializers.IntegerField()
    rows_written = serializers.IntegerField()
    percent = serializers.IntegerField()


class ImportErrorSerializer(serializers.Serializer):
    sheet = serializers.CharField()
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportJobSerializer(ReadOnlyModelSerializer):
    progress = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True, read_only=True)
    error_report_url = serializers.SerializerMethodField()
    summary = serializers.JSONField(read_only=True, help_text=_("created / changed 计数及 changes 明细"))

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "layout",
            "dry_run",
            "file_name",
            "file_size",
            "state",
            "message",
            "created_at",
            "finished_at",
            "progress",
            "error_count",
            "errors",
            "error_report_url",
            "summary",
            "checked_from",
        ]

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job) -> dict:
        return {
            "rows_total": job.rows_total,
            "rows_checked": job.rows_checked,
            "rows_written": job.rows_written,
            "percent": job.percent,
        }

    def get_error_report_url(self, job) -> str | None:
        if not job.error_count:
            return None
        return reverse("households:import_errors", args=[job.pk])


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_(".xlsx 工作簿"))
    layout = serializers.ChoiceField(choices=ImportLayout.choices)
    dry_run = serializers.BooleanField(default=True, help_text=_("仅检查，不写入"))


@extend_schema_view(
    list=extend_schema(
        summary="导入任务列表",
        responses={200: ImportJobSerializer(many=True), **{k: ERRORS[k] for k in (401, 403)}},
    ),
    retrieve=extend_schema(
        summary="导入任务（状态、进度、错误、结果）", responses={200: ImportJobSerializer, **ERRORS}
    ),
)
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication, DepartmentKeyAuthentication]
    permission_classes = [IsStaff]
    serializer_class = ImportJobSerializer
    pagination_class = Pagination
    metadata_class = None
    parser_classes = [MultiPartParser]
    queryset = ImportJob.objects.none()
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        if not self.request.user.has_role(*jobs.IMPORT_ROLES):
            raise NotAllowed(_("只有系统管理员和县级用户可以导入数据。"))
        return ImportJob.objects.for_user(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="上传工作簿导入（后台任务）",
        description="multipart：file（.xlsx）、layout（own/national）、dry_run（默认 true：仅检查）。"
        "返回 202 与任务；以 GET /imports/{id}/ 查看进度。",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportJobSerializer, **ERRORS},
    )
    def create(self, request):
        self.get_queryset()  # the role check
        form = ImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = jobs.submit(
            actor=request.user,
            request=request,
            upload=form.validated_data["file"],
            layout=form.validated_data["layout"],
            dry_run=form.validated_data["dry_run"],
        )
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="正式导入检查通过的文件（后台任务）",
        description="对一个检查通过（state=checked）的仅检查任务，用同一文件开始正式导入，无需再次上传："
        "逐行检查沿用该次结果，写入前重新核对登记库。返回 202 与新任务。",
        request=None,
        responses={202: ImportJobSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser])
    def apply(self, request, pk=None):
        source = self.get_object()
        job = jobs.apply_checked(actor=request.user, source=source, request=request)
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
