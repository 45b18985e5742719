"""REST endpoint of the ledgers: the five ledgers' counts (households and people) and the
year's risk eliminations by mode, from the same selectors the pages and exports use."""

from __future__ import annotations

from django.urls import path
from django_filters import filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StrictCharField
from config.filters import query_errors
from households.api import StaffAPIMixin
from households.filters import AREA_CODE_VALIDATOR
from monitoring.api.staff import ERRORS
from reports import selectors as ledgers
from reports.forms import CountsQuery


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
