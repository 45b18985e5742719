"""``GET /api/v1/quality/findings/``: the data-quality findings (疑点) of the user's area, per
rule, with the household concerned and the "fixed / explained" status. Filters: ``rule``,
``status``, ``area`` / ``township`` / ``village``, ``household``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from accounts.errors import NotAllowed
from config.api import ReadOnlyModelSerializer, StrictCharField
from households.api import StaffAPIMixin
from households.filters import with_scope_range
from monitoring.filters import QualityFindingFilter
from monitoring.models import QualityFinding
from monitoring.services.quality import RESOLVE_ROLES

from .staff import ERRORS


class QualityFindingSerializer(ReadOnlyModelSerializer):
    rule_code = StrictCharField(source="rule.code", read_only=True)
    rule_columns = StrictCharField(source="rule.columns", read_only=True)
    message = serializers.SerializerMethodField()
    household_number = StrictCharField(source="household.number", read_only=True)

    class Meta:
        model = QualityFinding
        fields = [
            "id",
            "rule",
            "rule_code",
            "rule_columns",
            "message",
            "household",
            "household_number",
            "area_code",
            "status",
            "note",
            "first_found_at",
            "last_found_at",
            "resolved_at",
        ]

    def get_message(self, finding) -> str:
        return finding.rule.display_message


@extend_schema_view(
    list=extend_schema(summary="数据质量疑点列表", responses={200: QualityFindingSerializer(many=True)}),
    retrieve=extend_schema(
        summary="数据质量疑点", responses={200: QualityFindingSerializer, 404: ERRORS[404]}
    ),
)
class QualityFindingViewSet(
    StaffAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = QualityFindingSerializer
    filterset_class = QualityFindingFilter
    ordering_fields = ["id", "area_code"]
    ordering = ["id"]
    queryset = QualityFinding.objects.none()

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return QualityFinding.objects.none()
        if not user.has_role(*RESOLVE_ROLES):
            # the same people as the /quality/ page: the area's staff who screen and resolve
            raise NotAllowed(_("您的角色不使用此页面。"))
        return with_scope_range(QualityFinding.objects.for_user(user), user).select_related(
            "rule", "household"
        )


def register(router) -> None:
    router.register("quality/findings", QualityFindingViewSet, basename="quality-finding")
