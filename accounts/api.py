"""/api/v1/tokens/: a person's own API tokens — list, create, rotate, revoke.

Creating and rotating need a signed-in session (a token cannot mint further tokens: a leaked
token is contained by revoking it); revoking works with either. The secret is in the answer
of create and rotate only. Tokens are named by their prefix; the stored hash never leaves."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from config.api import StrictCharField
from config.schema import ErrorSerializer

from . import tokens
from .api_auth import IsStaff, StaffTokenAuthentication
from .models import StaffToken

#: ``StaffToken.state``
TOKEN_STATES = [("active", "active"), ("expired", "expired"), ("revoked", "revoked")]


class TokenSerializer(serializers.ModelSerializer):
    expires_at = serializers.DateTimeField(source="expiry_date", read_only=True)
    state = serializers.ChoiceField(choices=TOKEN_STATES, read_only=True)

    class Meta:
        model = StaffToken
        fields = [
            "prefix",
            "name",
            "state",
            "created",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
            "rotated_from",
        ]
        read_only_fields = fields


class IssuedTokenSerializer(TokenSerializer):
    key = StrictCharField(read_only=True, help_text="完整令牌，仅此一次返回：Authorization: Token <key>")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=50, help_text="用途或设备，如“统计脚本”")
    days = serializers.IntegerField(
        min_value=1, max_value=settings.STAFF_TOKEN_MAX_DAYS, required=False, help_text="有效天数，默认 90"
    )


class TokenRotateSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=settings.STAFF_TOKEN_MAX_DAYS,
        required=False,
        help_text="新令牌的有效天数，默认同原令牌",
    )


def _err(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


NEEDS_SESSION = _("创建或轮换令牌需要登录会话（不能用令牌本身），请在“我的令牌”页面操作。")


@extend_schema_view(
    list=extend_schema(
        summary="我的接口令牌", responses={200: TokenSerializer(many=True), 401: _err("未登录")}
    ),
    retrieve=extend_schema(
        summary="我的一个接口令牌", responses={200: TokenSerializer, 401: _err("未登录"), 404: _err("不存在")}
    ),
)
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]
    parser_classes = [JSONParser]
    filter_backends: list = []
    metadata_class = None
    serializer_class = TokenSerializer
    lookup_field = "prefix"
    lookup_value_regex = "[A-Za-z0-9]{8}"

    def get_queryset(self):
        return tokens.tokens_of(self.request.user)

    def _need_session(self):
        if isinstance(self.request.auth, StaffToken):
            raise exceptions.PermissionDenied(NEEDS_SESSION)

    def _issued(self, token: StaffToken, raw: str) -> Response:
        data = IssuedTokenSerializer(token).data
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="新建接口令牌（需登录会话）",
        request=TokenCreateSerializer,
        responses={
            201: IssuedTokenSerializer,
            400: _err("输入有误"),
            401: _err("未登录"),
            403: _err("用令牌调用，或部门账号"),
            409: _err("有效令牌已达上限"),
        },
    )
    def create(self, request):
        self._need_session()
        form = TokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, raw = tokens.token_issue(actor=request.user, request=request, **form.validated_data)
        return self._issued(token, raw)

    @extend_schema(
        summary="轮换接口令牌（需登录会话）：原令牌立即失效，返回新令牌",
        request=TokenRotateSerializer,
        responses={
            201: IssuedTokenSerializer,
            400: _err("输入有误"),
            401: _err("未登录"),
            403: _err("用令牌调用"),
            404: _err("不存在"),
            409: _err("令牌已吊销或已过期"),
        },
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, prefix=None):
        self._need_session()
        token = self.get_object()
        form = TokenRotateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        new, raw = tokens.token_rotate(
            actor=request.user, token=token, request=request, **form.validated_data
        )
        return self._issued(new, raw)

    @extend_schema(
        summary="吊销接口令牌（立即失效）",
        request=None,
        responses={200: TokenSerializer, 401: _err("未登录"), 404: _err("不存在"), 409: _err("已吊销")},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, prefix=None):
        token = tokens.token_revoke(actor=request.user, token=self.get_object(), request=request)
        return Response(TokenSerializer(token).data)

    def get_object(self):
        return get_object_or_404(self.get_queryset(), prefix=self.kwargs["prefix"])


def register(router) -> None:
    router.register("tokens", TokenViewSet, basename="token")
