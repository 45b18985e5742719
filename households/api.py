"""Staff REST endpoints for the registry: households and people, read only (config/api_urls.py).

Rows come from the same ``for_user`` querysets as the pages, so a person outside the area
gets 404, never 403. Lists show ID numbers and phones masked (and an age instead of the
birth date, which is the part of the ID number the mask hides); a single household or
person shows them in full only to the roles whose work needs them (:func:`reveals_identity`).

Lists are ordered by indexed columns and make a fixed number of queries.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts.api_auth import DepartmentKeyAuthentication, IsStaff, StaffTokenAuthentication
from accounts.models import Role
from config.api import Pagination, ReadOnlyModelSerializer, StrictCharField
from config.filters import StrictFilterBackend

from . import idnumber
from .filters import HouseholdFilter, PersonFilter, with_scope_range
from .models import Household, IncomeRecord, Person

#: Roles whose work needs a household's full ID numbers and phones (inside their area).
IDENTITY_ROLES = frozenset({Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR})


def reveals_identity(user) -> bool:
    """May ``user`` see full ID numbers and phones (on a single record of their area)?"""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or user.role in IDENTITY_ROLES)


class StableOrderingFilter(OrderingFilter):
    """``?ordering=`` on the offered columns, completed so that pages never overlap: after the
    requested keys come the view's tie-breakers for the first key (``ordering_tiebreak``), then
    ``id``, in the first key's direction, unless a unique column already decides."""

    unique_fields = frozenset({"id", "pk", "number"})

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not ordering:
            return ordering
        first = ordering[0].lstrip("-")
        descending = ordering[0].startswith("-")
        for field in [*getattr(view, "ordering_tiebreak", {}).get(first, ()), "id"]:
            if {o.lstrip("-") for o in ordering} & self.unique_fields:
                break
            ordering.append(f"-{field}" if descending else field)
        return ordering


class SearchFilterBackend(StrictFilterBackend):
    """django-filter's backend, also reading the filters of a ``POST …/search/`` body (where
    an ID number goes, never in the query string: :mod:`households.search_terms`)."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        body = getattr(view, "search_body", None)
        if body:
            data = request.query_params.copy()
            for name, value in body.items():
                data[name] = value
            kwargs["data"] = data
        return kwargs


class SearchBodySerializer(serializers.Serializer):
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text=_("身份证号（精确）、户编号（前缀）或姓名（精确）"),
    )


class PersonSearchBodySerializer(SearchBodySerializer):
    id_number = StrictCharField(
        required=False, allow_blank=True, max_length=50, help_text=_("公民身份号码（精确）")
    )


class BodySearchMixin:
    """``POST …/search/``: the list, with the search (an ID number, say) in the JSON body.

    The other filters, the ordering and the page stay in the query string; the answer is the
    list's (masked, paginated: send the same body to the ``next`` address)."""

    search_body_serializer = SearchBodySerializer

    @action(detail=False, methods=["post"], url_path="search", url_name="search")
    def search(self, request):
        body = self.search_body_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.search_body = {name: value for name, value in body.validated_data.items() if value}
        return self.list(request)


class StaffAPIMixin:
    """What every staff endpoint shares: auth, permission, filters, and the masking switch.

    ``reveal_identity`` in the serializer context is true only on a single record
    (``retrieve`` and the answers of writes) for a role that needs it.
    """

    authentication_classes = [StaffTokenAuthentication, SessionAuthentication, DepartmentKeyAuthentication]
    permission_classes = [IsStaff]
    parser_classes = [JSONParser]
    filter_backends = [SearchFilterBackend, StableOrderingFilter]
    #: no OPTIONS metadata: an undocumented 200; OPTIONS is a 405 in the error shape instead
    metadata_class = None
    #: actions whose answer is one record (full ID numbers for the roles that need them)
    single_record_actions: frozenset[str] = frozenset({"retrieve"})

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["reveal_identity"] = self.action in self.single_record_actions and reveals_identity(
            self.request.user
        )
        context.setdefault("now", timezone.now())
        return context


class UncountedPagination(Pagination):
    """Page-number pagination without ``COUNT(*)``: ``count`` is ``null`` and ``next`` is set
    when one more row exists past the page.

    For lists whose count needs a join over the whole county (people: ~800,000 rows joined
    to their households to apply the area scope, a quarter of a second on PostgreSQL).
    """

    #: deeper pages are refused (a search narrows better than paging, and OFFSET grows with it)
    max_page_number = 10_000

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        if not size:
            return None
        number = self.requested_page(request)
        if number > self.max_page_number:
            raise NotFound(_("无效页面。"))
        start = (number - 1) * size
        rows = list(queryset[start : start + size + 1])
        if number > 1 and not rows:
            raise NotFound(_("无效页面。"))
        self.number, self.size = number, size
        self.has_next = len(rows) > size
        return rows[:size]

    def _link(self, number: int) -> str:
        url = self.request.build_absolute_uri()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": None,
                "count_capped": None,
                "next": self._link(self.number + 1) if self.has_next else None,
                "previous": self._link(self.number - 1) if self.number > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"] = {"type": "integer", "nullable": True, "example": None}
        response["properties"]["count_capped"] = {"type": "boolean", "nullable": True, "example": None}
        return response


def _reveal(serializer) -> bool:
    return bool(serializer.context.get("reveal_identity"))


class MaskedIdNumberField(serializers.CharField):
    """An ID number, masked unless the context says the caller may see it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        value = value or ""
        return value if _reveal(self.root) else idnumber.mask(value)


class MaskedPhoneField(MaskedIdNumberField):
    def to_representation(self, value):
        value = value or ""
        return value if _reveal(self.root) else idnumber.mask_phone(value)


class PersonSerializer(ReadOnlyModelSerializer):
    household_number = serializers.CharField(source="household.number", read_only=True)
    id_number = MaskedIdNumberField()
    age = serializers.SerializerMethodField()
    birth_date = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = [
            "id",
            "household",
            "household_number",
            "name",
            "id_number",
            "sex",
            "age",
            "birth_date",
            "relation",
            "ethnicity",
            "is_resident",
            "health_status",
            "disability",
            "labour_capacity",
            "school_status",
            "school_grade",
            "migrant_worker",
            "public_welfare_job",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_age(self, person) -> int:
        return idnumber.age_on(person.birth_date, timezone.localdate())

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_birth_date(self, person):
        # The birth date is the part of the ID number the mask hides: shown only with it.
        return person.birth_date.isoformat() if _reveal(self.root) else None


class MemberSerializer(PersonSerializer):
    class Meta(PersonSerializer.Meta):
        fields = [f for f in PersonSerializer.Meta.fields if f not in ("household", "household_number")]
        read_only_fields = fields


class IncomeSerializer(ReadOnlyModelSerializer):
    class Meta:
        model = IncomeRecord
        fields = ["year", "members", "net_income", "per_capita_net_income", "recorded_on"]
        read_only_fields = fields


class HouseholdSerializer(ReadOnlyModelSerializer):
    village_name = serializers.CharField(source="village.name", read_only=True)
    head_name = serializers.CharField(source="head.name", read_only=True, allow_null=True)
    phone = MaskedPhoneField()

    class Meta:
        model = Household
        fields = [
            "id",
            "number",
            "village",
            "village_name",
            "area_code",
            "address",
            "head",
            "head_name",
            "phone",
            "household_type",
            "low_income_status",
            "no_labour_safety_net",
            "monitoring_status",
            "monitoring_category",
            "identified_on",
            "eliminated_on",
        ]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    monitoring_contact_phone = MaskedPhoneField()
    members = MemberSerializer(many=True, read_only=True)
    incomes = serializers.SerializerMethodField()

    class Meta(HouseholdSerializer.Meta):
        fields = [
            *HouseholdSerializer.Meta.fields,
            "military_family",
            "relocation_settlement",
            "relocation_address",
            "housing_grade",
            "cultivated_land_mu",
            "food_clothing_secure",
            "compulsory_education_secure",
            "medical_insurance_secure",
            "housing_secure",
            "drinking_water_secure",
            "monitoring_contact",
            "monitoring_contact_phone",
            "members",
            "incomes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(IncomeSerializer(many=True))
    def get_incomes(self, household):
        # the latest three years (prefetched, newest first)
        return IncomeSerializer(list(household.incomes.all())[:3], many=True).data


@extend_schema_view(
    list=extend_schema(summary="农户列表", description="本人工作区域内的农户；身份证号、电话脱敏。"),
    retrieve=extend_schema(
        summary="农户详情",
        description="村干部、乡镇审核、县级审定人员和系统管理员可见完整身份证号与电话，帮扶责任人仍为脱敏。",
    ),
    search=extend_schema(
        summary="按身份证号等查找农户",
        description="查找条件（身份证号、户编号或姓名）放在请求正文中，不放在网址中；"
        "其他筛选、排序和页码仍在查询参数中。结果与农户列表相同（脱敏、分页）。"
        "GET 列表的 search 为身份证号时返回400。",
        request=SearchBodySerializer,
        parameters=[OpenApiParameter("search", exclude=True)],
        responses={200: HouseholdSerializer(many=True)},
    ),
)
class HouseholdViewSet(BodySearchMixin, StaffAPIMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = HouseholdFilter
    # ``?ordering=area_code`` or ``-area_code``: by area, then by number. The (area_code, number)
    # index serves any area's list in this order in both directions. A plain ``number`` or
    # ``id`` order is not offered: both follow the order villages were registered in, so
    # PostgreSQL would walk the whole county's index to reach the last township's rows.
    ordering_fields = ["area_code"]
    ordering = ["area_code", "number"]
    ordering_tiebreak = {"area_code": ["number"]}

    def get_queryset(self):
        user = self.request.user
        qs = with_scope_range(Household.objects.for_user(user), user).select_related("village", "head")
        if self.action == "retrieve":
            qs = qs.prefetch_related("members", "incomes")
        return qs

    def get_serializer_class(self):
        return HouseholdDetailSerializer if self.action == "retrieve" else HouseholdSerializer


@extend_schema_view(
    list=extend_schema(
        summary="家庭成员列表",
        description="身份证号脱敏，只显示年龄。不统计总数（count 为 null），有下一页时 next 不为空。",
    ),
    retrieve=extend_schema(summary="家庭成员详情"),
    search=extend_schema(
        summary="按身份证号查找家庭成员",
        description="id_number 或 search 放在请求正文中，不放在网址中；其他筛选仍在查询参数中。"
        "结果与成员列表相同（脱敏、分页）。GET 列表带 id_number（或 search 为身份证号）时返回400。",
        request=PersonSearchBodySerializer,
        parameters=[OpenApiParameter("search", exclude=True), OpenApiParameter("id_number", exclude=True)],
        responses={200: PersonSerializer(many=True)},
    ),
)
class PersonViewSet(BodySearchMixin, StaffAPIMixin, viewsets.ReadOnlyModelViewSet):
    search_body_serializer = PersonSearchBodySerializer
    serializer_class = PersonSerializer
    pagination_class = UncountedPagination
    filterset_class = PersonFilter
    ordering_fields = ["household__area_code", "name"]
    # People by household, households by area: the (area_code, number) index of households
    # reads any area's people in order. (Person ids follow the order the registry was loaded,
    # so ``ORDER BY id`` would walk the whole county to reach the last township's people.)
    ordering = ["household__area_code", "household__number", "id"]
    ordering_tiebreak = {"household__area_code": ["household__number"]}

    def get_queryset(self):
        user = self.request.user
        qs = with_scope_range(Person.objects.for_user(user), user, "household__area_code")
        return qs.select_related("household")


extra_urls: list = []


def register(router) -> None:
    """Add this module's viewsets to the API router."""
    router.register("households", HouseholdViewSet, basename="household")
    router.register("people", PersonViewSet, basename="person")
    from .api_imports import ImportJobViewSet

    router.register("imports", ImportJobViewSet, basename="import")
