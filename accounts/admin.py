"""Admin for users, the area tree and departments; and the admin site's titles and access."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .models import ROLE_AREA_LEVEL, Area, AreaLevel, Department, Role, User, area_prefix_q
from .permissions import RoleScopedAdminMixin, RoleScopedHistoryAdmin, configure_admin_site

configure_admin_site(admin.site)


class _RoleAreasFormMixin:
    """A user's areas must be of the level their role works at; a department user needs one."""

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        areas = cleaned.get("areas")
        level = ROLE_AREA_LEVEL.get(role)
        if level and areas:
            wrong = [area.name for area in areas if area.level != level]
            if wrong:
                self.add_error(
                    "areas",
                    _("角色“%(role)s”只能选择%(level)s级区域：%(areas)s")
                    % {
                        "role": Role(role).label,
                        "level": AreaLevel(level).label,
                        "areas": "、".join(wrong),
                    },
                )
        if role == Role.DEPARTMENT and not cleaned.get("department"):
            self.add_error("department", _("行业部门账号须选择所属部门。"))
        return cleaned


class UserCreateForm(_RoleAreasFormMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


class UserEditForm(_RoleAreasFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


_PROFILE = (_("姓名与联系方式"), {"fields": ("full_name", "phone", "email")})
_ROLE = (_("角色与工作区域"), {"fields": ("role", "areas", "department")})


@admin.register(User)
class UserAdmin(RoleScopedAdminMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    list_display = ("username", "full_name", "role", "area_names", "department", "is_active")
    list_filter = ("role", "is_active", "department")
    search_fields = ("username", "full_name", "phone", "email")
    list_select_related = ("department",)
    autocomplete_fields = ("areas",)
    ordering = ("username",)

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        _PROFILE,
        _ROLE,
        (_("账号状态"), {"fields": ("is_active", "last_login", "date_joined")}),
    )
    superuser_fieldsets = (
        *fieldsets[:3],
        (
            _("账号状态与权限"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                    "last_login",
                    "date_joined",
                )
            },
        ),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")},
        ),
        _PROFILE,
        _ROLE,
    )
    readonly_fields = ("last_login", "date_joined")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and request.user.is_superuser:
            return self.superuser_fieldsets
        return super().get_fieldsets(request, obj)

    def scope_queryset(self, request, queryset):
        """Operators see the accounts whose areas all lie in their own, never a superuser's."""
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return queryset.none()
        if user.sees_everything:
            return queryset
        outside = Area.objects.exclude(area_prefix_q("code", user.scope_prefixes()))
        return queryset.filter(is_superuser=False).exclude(areas__in=outside)

    @property
    def is_scoped(self) -> bool:
        return True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("areas")

    @admin.display(description=_("工作区域"))
    def area_names(self, obj):
        return "、".join(area.name for area in obj.areas.all())


@admin.register(Area)
class AreaAdmin(RoleScopedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    ordering = ("code",)


@admin.register(Department)
class DepartmentAdmin(RoleScopedHistoryAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
