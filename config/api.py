"""Shared REST API plumbing: one error shape for every 4xx, pagination, the schema's auth."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts.errors import ServiceError


def _flatten(detail) -> dict:
    """DRF/Django error details → ``{field: "message; message"}``."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msg in _flatten(value).items():
                    out[f"{key}.{sub}"] = msg
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    for sub, msg in _flatten(item).items():
                        out[f"{key}[{i}].{sub}"] = msg
            elif isinstance(value, list):
                out[key] = "；".join(str(v) for v in value)
            else:
                out[key] = str(value)
        return out
    if isinstance(detail, list):
        return {"non_field_errors": "；".join(str(v) for v in detail)}
    return {}


def error_body(code: str, message, fields: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "fields": {k: str(v) for k, v in (fields or {}).items()}}


def exception_handler(exc, context):
    """Every refusal as ``{"code", "message", "fields"}`` with a 4xx status."""
    if isinstance(exc, ServiceError):
        fields = {
            k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
            for k, v in exc.fields.items()
        }
        return Response(error_body(exc.code, exc.message, fields), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        fields = (
            {k: "；".join(str(m) for m in v) for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {}
        )
        message = next(iter(fields.values()), None) or "；".join(str(m) for m in exc.messages)
        return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    # Imported here: settings name this module (parser, pagination, handler), and
    # ``rest_framework.views`` reads those settings as it loads, so importing it at the top
    # would make ``import config.api`` circular when this module is the first to load.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = _("提交的数据有误，请按字段提示修改。")
        return Response(
            error_body("invalid", message, fields), status=response.status_code, headers=response.headers
        )
    detail = getattr(exc, "detail", "")
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    if isinstance(detail, dict | list):
        body = error_body(code, _("请求有误。"), _flatten(detail))
    else:
        body = error_body(code, detail)
    response.data = body
    return response


COUNT_CAP = 10_000


class CappedCountPaginator(DjangoPaginator):
    """Counts at most ``COUNT_CAP + 1`` rows: a county-wide list answers fast, and a list longer
    than the cap says so (``count_capped``) instead of counting 300,000 rows on every page."""

    @cached_property
    def count(self) -> int:
        try:
            return self.object_list[: COUNT_CAP + 1].count()
        except (AttributeError, TypeError):
            return len(self.object_list)


class ReadOnlyModelSerializer(serializers.ModelSerializer):
    # A model serializer for answers (every field read only) whose choice fields keep ``""``
    # among their values when the model field may be blank: DRF drops ``allow_blank`` from
    # read-only fields, so the schema's enum would refuse the blank the rows hold. (A comment,
    # not a docstring: the schema would show a docstring as every subclass's description.)

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        blank_choice = "choices" in kwargs and kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice:
            kwargs["allow_blank"] = True
        return kwargs


class ClosedErrorSchema(OpenApiSerializerExtension):
    """Base of the schema extensions of the error serializers (subclasses name the serializer in
    ``target_class``): the error shape is exactly ``code`` / ``message`` / ``fields``
    (``additionalProperties: false``), which also keeps it apart from a richer answer offered
    beside it in a ``oneOf`` (the alerts' batch refusal)."""

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        return {**schema, "additionalProperties": False}


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string: DRF's ``CharField`` would take ``0`` or ``1.5``
    and turn it into ``"0"``, accepting what the schema (``type: string``) refuses."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Pagination(PageNumberPagination):
    """``?page=`` (1, 2, …) and ``?page_size=`` (1–500): a value that is not such a number is a
    400 naming the parameter, never silently replaced; a page past the end is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()
    django_paginator_class = CappedCountPaginator

    def _positive(self, request, name: str, maximum: int | None = None) -> int | None:
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1:
            raise exceptions.ValidationError({name: _("只能给出一个值。")})
        try:
            number = int(values[0])
        except (TypeError, ValueError):
            number = 0
        if number < 1 or (maximum is not None and number > maximum):
            if maximum is None:
                message = _("须为正整数。")
            else:
                message = _("须为 1 到 %(max)s 之间的整数。") % {"max": maximum}
            raise exceptions.ValidationError({name: message})
        return number

    def requested_page(self, request) -> int:
        return self._positive(request, self.page_query_param) or 1

    def get_page_size(self, request):
        size = self._positive(request, self.page_size_query_param, self.max_page_size)
        return size or self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        self.requested_page(request)  # a malformed page number is a 400 before any query
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": self.max_page_size}
        return parameters

    def get_paginated_response(self, data):
        count = self.page.paginator.count
        return Response(
            {
                "count": min(count, COUNT_CAP),
                "count_capped": count > COUNT_CAP,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        base = super().get_paginated_response_schema(schema)
        base["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"true when more than {COUNT_CAP} rows match: count then says {COUNT_CAP}",
        }
        base["required"] = [*base.get("required", []), "count_capped"]
        return base


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token <prefix>.<secret> (a person's own token: /account/tokens/)",
        }


class DepartmentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.DepartmentKeyAuthentication"
    name = "DepartmentKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Api-Key <key>",
        }


class SafeJSONParser(JSONParser):
    """JSON, refusing absurdly nested documents with a 400 instead of a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON 嵌套层数过多。")) from None


def not_found(request, exception=None):
    """404 for a URL nobody routes: the JSON error shape under /api/, the usual page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("未找到。")), status=404)
    return page_not_found(request, exception)
