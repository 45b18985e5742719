"""REST endpoint of the ledgers: the five ledgers' counts (households and people) and the
year's risk eliminations by mode, from the same selectors the pages and exports use."""

from __future__ import annotations

from functools import partial

from django import forms as django_forms
from django.http import FileResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_filters import filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import SecurityEventKind
from accounts.security import security_event
from config.api import COUNT_CAP, CappedCountPaginator, Pagination, StrictCharField
from config.db_router import replica_reads
from config.filters import query_errors
from households.api import StaffAPIMixin
from households.filters import AREA_CODE_VALIDATOR, MAX_ID
from monitoring.api.staff import ERRORS
from reports import exports, lists
from reports import selectors as ledgers
from reports.columns import CLUE_COLUMNS, HOUSEHOLD_COLUMNS, Column, Kind, ListKind, columns_of, json_value
from reports.forms import (
    APPLIES,
    COMMON_FIELDS,
    RISK_CODE_VALIDATOR,
    AreaIndex,
    CountsQuery,
    LedgerCountsQuery,
    LedgerQuery,
)
from reports.models import ExportJob, ExportState
from reports.models.exports import KIND_CHOICES
from reports.selectors import LEDGER_LABELS, Ledger
from reports.services import exports as export_service


class LedgerCountSerializer(serializers.Serializer):
    ledger = StrictCharField()
    label = StrictCharField()
    count = serializers.IntegerField(help_text="户数；预警信息台账为线索条数")
    households = serializers.IntegerField(help_text="户数；预警信息台账为线索所涉农户数")
    people = serializers.IntegerField(help_text="这些农户的家庭成员人数")


class ExitModeCountSerializer(serializers.Serializer):
    mode = StrictCharField()
    label = StrictCharField()
    households = serializers.IntegerField()
    people = serializers.IntegerField()


class YearExitsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    households = serializers.IntegerField(help_text="当年风险消除户数")
    people = serializers.IntegerField(help_text="当年风险消除人数")
    modes = ExitModeCountSerializer(many=True)


class LedgerCountsSerializer(serializers.Serializer):
    area = StrictCharField(help_text="所筛选的区划代码前缀（空为本人全部工作区域）")
    households = serializers.IntegerField(help_text="范围内农户总数（前三本台账之和）")
    people = serializers.IntegerField(help_text="范围内农户的家庭成员总人数")
    ledgers = LedgerCountSerializer(many=True)
    exits = YearExitsSerializer(help_text="当年风险消除，按消除方式")


#: the parameters, for the query string's checks (a value given twice, an empty value)
QUERY_FILTERS = {"area": filters.CharFilter(), "year": filters.NumberFilter()}


class LedgerCountsView(StaffAPIMixin, APIView):
    """The five ledgers' counts in the caller's area (reports/selectors.py)."""

    filter_backends: list = []

    @extend_schema(
        summary="五本台账户数和人数",
        description=(
            "重点监测对象、稳定脱贫户、一般农户（三者互不重叠，之和为农户总数）、低收入群体、预警信息，"
            "各有户数和人数；另附当年风险消除户数和人数（按消除方式）。"
        ),
        parameters=[
            OpenApiParameter(
                "area",
                {"type": "string", "minLength": 1, "pattern": AREA_CODE_VALIDATOR.regex.pattern},
                description="区划代码前缀或12位区划代码，只能在本人工作区域内缩小范围",
            ),
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": 2015, "maximum": 2100},
                description="风险消除的统计年度（默认今年）",
            ),
        ],
        responses={200: LedgerCountsSerializer, 400: ERRORS[400]},
    )
    @method_decorator(replica_reads)
    def get(self, request):
        errors = query_errors(request.query_params, QUERY_FILTERS)
        if errors:
            raise serializers.ValidationError(errors)
        query = CountsQuery(request.query_params)
        if not query.is_valid():
            raise serializers.ValidationError(query.error_messages())
        body = ledgers.counts_report(user=request.user, **query.selection())
        return Response(LedgerCountsSerializer(body).data)


extra_urls: list = [path("ledgers/counts/", LedgerCountsView.as_view(), name="ledger-counts")]


# --- the five ledgers with counts, and each ledger's rows --------------------------------------

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    {"type": "string", "format": "date"},
    description="截至日期（YYYY-MM-DD，不早于2015-01-01，不晚于今天）：台账在该日结束时的状态；不填为当前",
)
AREA_PARAMETER = OpenApiParameter(
    "area",
    {"type": "string", "minLength": 1, "pattern": AREA_CODE_VALIDATOR.regex.pattern},
    description="区划代码前缀或12位区划代码，只能在本人工作区域内缩小范围",
)
LEDGER_QUERY_FILTERS = {
    **QUERY_FILTERS,
    "as_of": filters.DateFilter(),
}


class LedgersView(StaffAPIMixin, APIView):
    """The five ledgers with their counts (as ``ledgers/counts/``), at a date if asked."""

    filter_backends: list = []

    @extend_schema(
        summary="五本台账及其户数和人数",
        description="与 ledgers/counts/ 相同的回答；可加 as_of 查看某日结束时的台账。各台账的明细见 ledgers/{ledger}/。",
        parameters=[
            AREA_PARAMETER,
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": 2015, "maximum": 2100},
                description="风险消除的统计年度（默认今年）",
            ),
            AS_OF_PARAMETER,
        ],
        responses={200: LedgerCountsSerializer, **{code: ERRORS[code] for code in (400, 401, 403)}},
    )
    @method_decorator(replica_reads)
    def get(self, request):
        errors = query_errors(request.query_params, LEDGER_QUERY_FILTERS)
        if errors:
            raise serializers.ValidationError(errors)
        query = LedgerCountsQuery(request.query_params)
        if not query.is_valid():
            raise serializers.ValidationError(query.error_messages())
        selection = query.selection()
        body = ledgers.counts_report(
            user=request.user, year=selection["year"], **lists.selector_kwargs(selection)
        )
        return Response(LedgerCountsSerializer(body).data)


def _row_field(column: Column) -> serializers.Field:
    label = str(column.header)
    if column.kind == Kind.DATE:
        return serializers.DateField(allow_null=True, help_text=label)
    if column.kind == Kind.NUMBER and column.places:
        return serializers.DecimalField(
            max_digits=14, decimal_places=column.places, allow_null=True, help_text=label
        )
    if column.kind == Kind.NUMBER:
        return serializers.IntegerField(help_text=label)
    if column.kind == Kind.CHOICE:
        codes = "、".join(f"{value or '（空）'}={name}" for value, name in column.choices)
        return serializers.CharField(allow_blank=column.blank, help_text=f"{label}：{codes}")
    hint = {Kind.ID_NUMBER: "（遮盖）", Kind.PHONE: "（遮盖）"}.get(column.kind, "")
    return serializers.CharField(allow_blank=True, help_text=f"{label}{hint}")


def _row_serializer(name: str, columns) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {c.key: _row_field(c) for c in columns})


HouseholdLedgerRowSerializer = _row_serializer("HouseholdLedgerRowSerializer", HOUSEHOLD_COLUMNS)
ClueLedgerRowSerializer = _row_serializer("ClueLedgerRowSerializer", CLUE_COLUMNS)


def _ledger_row_parameters() -> list[OpenApiParameter]:
    """The rows' filters as the schema documents them (the same names as the page's form)."""
    form = LedgerQuery(kind=ListKind.EARLY_WARNING, areas=None)
    parameters = [
        OpenApiParameter(
            "ledger",
            {"type": "string", "enum": [str(k) for k in Ledger]},
            OpenApiParameter.PATH,
            required=True,
            description="台账：" + "、".join(f"{k}={LEDGER_LABELS[k]}" for k in Ledger),
        ),
        AREA_PARAMETER,
        AS_OF_PARAMETER,
    ]
    for name in (*APPLIES[ListKind.EARLY_WARNING], "township", "village", "sort"):
        field = form.fields[name]
        if isinstance(field, django_forms.DateField):
            schema = {"type": "string", "format": "date"}
        elif isinstance(field, django_forms.IntegerField):
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif isinstance(field, django_forms.ChoiceField):
            schema = {"type": "string", "enum": [str(v) for v, _label in field.choices if v != ""]}
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[0-9A-Za-z]{1,8}$"}
        only = {"found_from": "仅预警信息", "found_to": "仅预警信息", "clue_status": "仅预警信息"}.get(
            name, ""
        )
        parameters.append(
            OpenApiParameter(name, schema, description=f"{field.label}{'（' + only + '）' if only else ''}")
        )
    return parameters


ROW_FILTERS = {name: filters.CharFilter() for name in (*APPLIES[ListKind.EARLY_WARNING], *COMMON_FIELDS)}


class _KeyCountPaginator(CappedCountPaginator):
    """Counts (capped) the rows of ``count_source``, the list's filtered rows without the
    columns' joins and the order."""

    def __init__(self, object_list, per_page, *, count_source=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_source = count_source

    @cached_property
    def count(self) -> int:
        if self.count_source is None:
            return super().count
        return self.count_source.values("pk")[: COUNT_CAP + 1].count()


class LedgerPagination(Pagination):
    def paginate_queryset(self, queryset, request, view=None):
        self.django_paginator_class = partial(
            _KeyCountPaginator, count_source=getattr(view, "count_source", None)
        )
        return super().paginate_queryset(queryset, request, view)


class LedgerRowsView(StaffAPIMixin, generics.GenericAPIView):
    """One ledger's rows with the page's filters, order and columns (reports/columns.py)."""

    filter_backends: list = []
    pagination_class = LedgerPagination

    @extend_schema(
        summary="台账明细（分页）",
        description=(
            "与台账页面相同的行、筛选条件和排序；身份证号和电话遮盖。重点监测对象、稳定脱贫户、一般农户、"
            "低收入群体每行为一户，预警信息每行为一条线索。"
        ),
        parameters=_ledger_row_parameters(),
        responses={
            200: PolymorphicProxySerializer(
                component_name="LedgerRow",
                serializers=[HouseholdLedgerRowSerializer, ClueLedgerRowSerializer],
                resource_type_field_name=None,
                many=True,
            ),
            **{code: ERRORS[code] for code in (400, 401, 403, 404)},
        },
    )
    @method_decorator(replica_reads)
    def get(self, request, ledger: str):
        if ledger not in {str(k) for k in Ledger}:
            raise NotFound(_("没有这本台账。"))
        if not lists.may_read(request.user):
            raise PermissionDenied(_("您的角色不使用台账。"))
        errors = query_errors(request.query_params, ROW_FILTERS)
        if errors:
            raise serializers.ValidationError(errors)
        kind = ListKind(ledger)
        areas = AreaIndex(request.user)
        data = request.query_params.copy()
        for name in ("page", "page_size"):
            data.pop(name, None)
        unknown = sorted(set(data) - set(ROW_FILTERS))
        if unknown:
            raise serializers.ValidationError({name: _("没有这个参数。") for name in unknown})
        query = LedgerQuery(data, kind=kind, areas=areas)
        if not query.is_valid():
            raise serializers.ValidationError(query.error_messages())
        selection = query.selection()
        columns = columns_of(kind)
        rows = lists.list_rows(kind, user=request.user, selection=selection)
        self.count_source = rows.order_by()
        page = self.paginate_queryset(rows.values_list(*lists.sources(columns)))
        body = lists.read_rows(page, columns, reveal=False, names=areas.names, display=False)
        serializer = (
            ClueLedgerRowSerializer if kind == ListKind.EARLY_WARNING else HouseholdLedgerRowSerializer
        )
        return self.get_paginated_response(serializer(body, many=True).data)


extra_urls += [
    path("ledgers/", LedgersView.as_view(), name="ledgers"),
    path("ledgers/<str:ledger>/", LedgerRowsView.as_view(), name="ledger-rows"),
]


# --- exports ----------------------------------------------------------------------------------


class ExportProgressSerializer(serializers.Serializer):
    rows_written = serializers.IntegerField(help_text="已写行数")
    rows_total = serializers.IntegerField(allow_null=True, help_text="总行数（开始写之前为空）")
    percent = serializers.IntegerField(min_value=0, max_value=100)


class ExportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="本任务的地址（查询状态）")
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    params = serializers.DictField(help_text="规范化后的筛选条件和截至日期")
    state = serializers.ChoiceField(choices=ExportState.choices)
    progress = ExportProgressSerializer()
    file = serializers.CharField(allow_null=True, help_text="完成后为下载地址，否则为空")
    error = serializers.CharField(allow_blank=True, help_text="失败原因代码")
    error_message = serializers.CharField(allow_blank=True, help_text="失败原因（按用户语言）")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="文件保留至")

    def to_representation(self, job: ExportJob):
        request = self.context["request"]
        done = job.state == ExportState.DONE and bool(job.file)
        return super().to_representation(
            {
                "id": job.pk,
                "url": request.build_absolute_uri(reverse("export-detail", args=[job.pk])),
                "kind": job.kind,
                "params": job.params,
                "state": job.state,
                "progress": {
                    "rows_written": job.rows_written,
                    "rows_total": job.rows_total,
                    "percent": job.percent,
                },
                "file": request.build_absolute_uri(reverse("export-file", args=[job.pk])) if done else None,
                "error": job.error,
                "error_message": export_service.error_message(job),
                "created_at": job.created_at,
                "started_at": job.started_at,
                "finished_at": job.finished_at,
                "expires_at": job.expires_at,
            }
        )


def _export_body_field(name: str, field) -> serializers.Field:
    label = str(field.label)
    if isinstance(field, django_forms.DateField):
        return serializers.DateField(required=False, help_text=label)
    if isinstance(field, django_forms.IntegerField):
        return serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text=label)
    if isinstance(field, django_forms.ChoiceField):
        choices = [(v, name) for v, name in field.choices if v != ""]
        if any(v == "none" for v, _name in choices):
            # the registry's own enum has no "none": a string listing the codes, checked by the query
            codes = "、".join(f"{v}={name}" for v, name in choices)
            return StrictCharField(required=False, min_length=1, max_length=30, help_text=f"{label}：{codes}")
        return serializers.ChoiceField(required=False, choices=choices, help_text=label)
    if name == "area":
        return StrictCharField(
            required=False, min_length=1, max_length=12, validators=[AREA_CODE_VALIDATOR], help_text=label
        )
    return StrictCharField(
        required=False, min_length=1, max_length=8, validators=[RISK_CODE_VALIDATOR], help_text=label
    )


def _export_request_serializer() -> type[serializers.Serializer]:
    form = LedgerQuery(kind=ListKind.EARLY_WARNING, areas=None)
    names = [n for n in form.fields if n != "sort"]
    fields = {name: _export_body_field(name, form.fields[name]) for name in names}
    fields["kind"] = serializers.ChoiceField(
        choices=KIND_CHOICES, help_text="导出内容：五本台账之一或案件列表（cases）"
    )
    return type("ExportRequestSerializer", (serializers.Serializer,), fields)


ExportRequestSerializer = _export_request_serializer()


class ExportListView(StaffAPIMixin, APIView):
    """The caller's recent exports, and a new export (a background job)."""

    filter_backends: list = []

    @extend_schema(
        summary="我的导出任务",
        description="本人最近的导出任务（最新在前）。",
        parameters=[
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 100},
                description="最多列出几个（默认20）",
            )
        ],
        responses={200: ExportJobSerializer(many=True), **{code: ERRORS[code] for code in (400, 401, 403)}},
    )
    def get(self, request):
        if not lists.may_read(request.user):
            raise PermissionDenied(_("您的角色不能导出台账。"))
        errors = query_errors(request.query_params, {"limit": filters.NumberFilter()})
        limit = request.query_params.get("limit", "20")
        if not errors and not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 100):
            errors = {"limit": _("须为 1 到 %(max)s 之间的整数。") % {"max": 100}}
        if errors:
            raise serializers.ValidationError(errors)
        jobs = ExportJob.objects.filter(user=request.user).order_by("-created_at", "-id")[: int(limit)]
        return Response(ExportJobSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        summary="导出Excel（后台任务）",
        description=(
            "按台账页面的筛选条件和截至日期导出 .xlsx。立即回答 202 和任务（id、url），在 url 上查询 state "
            "（queued、running、done、failed）和 progress；完成后 file 为下载地址，文件保留 "
            "EXPORT_RETENTION_HOURS 小时。同一用户在任务未过期时重复提交相同条件，回答原任务，不重复导出。"
        ),
        request=ExportRequestSerializer,
        responses={202: ExportJobSerializer, **{code: ERRORS[code] for code in (400, 401, 403)}},
    )
    def post(self, request):
        if not lists.may_read(request.user):
            raise PermissionDenied(_("您的角色不能导出台账。"))
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = {k: json_value(v) for k, v in body.validated_data.items()}
        kind = data.pop("kind")
        job, created = export_service.request_export(
            user=request.user, kind=kind, params=data, now=timezone.now()
        )
        if created:
            security_event(
                SecurityEventKind.EXPORT,
                request=request,
                user=request.user,
                export=job.kind,
                job=job.pk,
                **job.params,
            )
        return Response(
            ExportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class ExportDetailView(StaffAPIMixin, APIView):
    filter_backends: list = []

    @extend_schema(
        summary="导出任务状态",
        description="只能查看本人的任务；他人的任务为 404。",
        responses={200: ExportJobSerializer, **{code: ERRORS[code] for code in (400, 401, 403, 404)}},
    )
    def get(self, request, pk: int):
        job = ExportJob.objects.filter(pk=pk, user=request.user).first()
        if job is None:
            raise NotFound()
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class XlsxRenderer(BaseRenderer):
    """Lets a client ask for the workbook by its media type (the body is the file itself)."""

    media_type = exports.XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ExportFileView(StaffAPIMixin, APIView):
    filter_backends: list = []
    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        summary="下载导出文件",
        description="本人已完成且未过期的导出的 .xlsx 文件；其他为 404。",
        responses={
            (200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
            **{code: ERRORS[code] for code in (400, 401, 403, 404)},
        },
    )
    def get(self, request, pk: int):
        job = ExportJob.objects.filter(pk=pk, user=request.user, state=ExportState.DONE).first()
        if job is None or not job.file:
            raise NotFound()
        try:
            handle = job.file.open("rb")
        except FileNotFoundError:
            raise NotFound() from None
        security_event(
            SecurityEventKind.EXPORT, request=request, user=request.user, export=job.kind, download=job.pk
        )
        return FileResponse(
            handle, as_attachment=True, filename=job.filename, content_type=exports.XLSX_CONTENT_TYPE
        )

    def handle_exception(self, exc):
        # a refusal is JSON in the error shape, whatever the client said it accepts
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


extra_urls += [
    path("exports/", ExportListView.as_view(), name="exports"),
    path("exports/<int:pk>/", ExportDetailView.as_view(), name="export-detail"),
    path("exports/<int:pk>/file/", ExportFileView.as_view(), name="export-file"),
]
