"""REST endpoint of the ledgers: the five ledgers' counts, from the same selectors the pages
and exports use."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from households.api import StaffAPIMixin
from households.filters import AREA_CODE_VALIDATOR, area_prefix
from monitoring.api import serializers as s
from monitoring.api.staff import ERRORS
from reports import selectors as ledgers

# --- ledgers --------------------------------------------------------------------------------


class LedgerCountsView(StaffAPIMixin, APIView):
    """The five ledgers' counts in the caller's area (reports/selectors.py)."""

    filter_backends: list = []

    @extend_schema(
        summary="五本台账户数",
        description="重点监测对象、稳定脱贫户、一般农户（三者互不重叠，之和为农户总数）、低收入群体、预警信息。",
        parameters=[
            OpenApiParameter(
                "area", str, description="区划代码前缀或12位区划代码，只能在本人工作区域内缩小范围"
            )
        ],
        responses={200: s.LedgerCountsSerializer, 400: ERRORS[400]},
    )
    def get(self, request):
        raw = (request.query_params.get("area") or "").strip()
        if raw:
            try:
                AREA_CODE_VALIDATOR(raw)
            except DjangoValidationError as exc:
                raise drf_serializers.ValidationError({"area": exc.messages}) from None
        area = area_prefix(raw) if raw else ""
        counts = ledgers.ledger_counts(user=request.user, area=area)
        body = {
            "area": area,
            "households": counts["households"],
            "ledgers": [
                {
                    "ledger": str(ledger),
                    "label": str(ledgers.LEDGER_LABELS[ledger]),
                    "count": counts[str(ledger)],
                }
                for ledger in ledgers.Ledger
            ],
        }
        return Response(body)


extra_urls: list = [path("ledgers/counts/", LedgerCountsView.as_view(), name="ledger-counts")]
