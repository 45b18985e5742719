"""What the OpenAPI schema shares: the one error shape of every 4xx answer, the filters'
bounds, and the refusals every operation documents (a postprocessing hook)."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django_filters import filters
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every 4xx answer of the API."""

    code = serializers.CharField(
        help_text="invalid / not_allowed / invalid_transition / conflict / not_found …"
    )
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField(), help_text="字段 → 错误说明")


# --- filters: their bounds in the schema -------------------------------------------------------


#: the years a date may have (the database and the conversion to UTC hold them)
YEARS = r"^(19|2[0-9])[0-9]{2}-"
#: text without a NUL character (refused everywhere, with a message that says so)
NO_NUL = r"^[^\u0000]*$"


class BoundedFilterExtension(DjangoFilterExtension):
    """django-filter parameters with the bounds their form fields enforce (``min_value``,
    ``max_value``, ``max_length``), so the schema says what the API refuses."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        if field_name in getattr(filterset_class, "id_fields", ()):
            return []  # refused in a query string (ID numbers never in a URL): a body field instead
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        extra = filter_field.extra
        bounds = {
            "minimum": extra.get("min_value"),
            "maximum": extra.get("max_value"),
            "minLength": extra.get("min_length"),
            "maxLength": extra.get("max_length"),
        }
        patterns = [v.regex.pattern for v in extra.get("validators", []) if isinstance(v, RegexValidator)]
        whole = filter_field.field_class is forms.IntegerField or (
            isinstance(filter_field, filters.ModelChoiceFilter) and not extra.get("to_field_name")
        )
        for parameter in parameters:
            schema = parameter.get("schema", {})
            target = schema.get("items", schema) if schema.get("type") == "array" else schema
            if whole and target.get("type") in ("number", "string"):
                target.clear()  # a primary key or a whole number: what the form field takes
                target.update({"type": "integer", "minimum": 1})
            numeric = target.get("type") in ("integer", "number")
            if target.get("type") == "string" and "enum" not in target:
                # an empty value is refused (config.filters): leave the parameter out instead
                target.setdefault("minLength", 1)
                if target.get("format") in ("date", "date-time"):
                    target.setdefault("pattern", YEARS)
                elif patterns:
                    target.setdefault("pattern", patterns[0])
                else:
                    target.setdefault("pattern", NO_NUL)
            for key, value in bounds.items():
                if value is None or key in target:
                    continue
                if (key in ("minimum", "maximum")) == numeric:
                    target[key] = value
        return parameters


# --- every answer an operation can give, documented -------------------------------------------

ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON_ERRORS = {
    "401": "未登录，或令牌、密钥无效、已过期、已吊销",
    "403": "角色、账号类型或密钥的权限范围不允许",
    "429": "调用过于频繁，请稍后再试（Retry-After）",
}


def document_errors(result, generator, request, public):
    """Postprocessing hook: every operation documents the refusals any call can meet — 401,
    403 and 429 always; 400 when it takes parameters or a body; 404 when its path names a row
    or it lists pages — each in the one error shape, unless the view already describes them."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            wanted = dict(COMMON_ERRORS)
            parameters = operation.get("parameters", [])
            if operation.get("requestBody") or any(p.get("in") == "query" for p in parameters):
                wanted["400"] = "输入有误（fields 按字段说明）"
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                wanted["404"] = "不存在、不在本人工作区域内，或页码超出范围"
            for status, description in wanted.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ERROR_REF}}},
                )
            operation["responses"] = dict(sorted(responses.items()))
    return result
