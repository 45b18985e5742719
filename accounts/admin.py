"""Admin for users, the area tree and departments; and the admin site's titles and access."""

from __future__ import annotations

import ipaddress

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .errors import NotAllowed
from .lockout import user_unlock
from .models import (
    ROLE_AREA_LEVEL,
    ApiCallLog,
    Area,
    AreaLevel,
    Department,
    DepartmentAPIKey,
    Role,
    Scope,
    SecurityEvent,
    StaffToken,
    User,
    area_prefix_q,
)
from .permissions import ADD, VIEW, RoleScopedAdminMixin, RoleScopedHistoryAdmin, configure_admin_site
from .services import api_key_issue, api_key_revoke
from .texts import join_list
from .tokens import token_revoke

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
                        "areas": join_list(wrong),
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
    actions = ["unlock"]

    @admin.action(description=_("解除所选用户的登录锁定"), permissions=["change"])
    def unlock(self, request, queryset):
        """Forget the selected users' failed sign-ins (:func:`accounts.lockout.user_unlock`)."""
        count = 0
        for user in queryset.prefetch_related("areas"):
            try:
                count += bool(user_unlock(actor=request.user, user=user, request=request))
            except NotAllowed as exc:
                messages.error(request, exc.message)
                return
        messages.success(
            request,
            ngettext("已解除%(n)s个用户的登录锁定。", "已解除%(n)s个用户的登录锁定。", count) % {"n": count},
        )

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
        return join_list(area.name for area in obj.areas.all())


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
    list_display = ("code", "name", "name_en", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "name_en")


# --- department API keys and the call log ---------------------------------------------------


def _key_admin_user(user) -> bool:
    """Keys and the call log are the operators' (and superusers') business only."""
    return bool(
        user.is_authenticated and user.is_active and (user.is_superuser or user.role == Role.OPERATOR)
    )


def _users_in_scope(user):
    """Accounts the user may see keys and calls of: those in their areas, and unplaced ones."""
    return User.objects.filter(
        Q(pk__in=User.objects.filter(area_prefix_q("areas__code", user.scope_prefixes())).values("pk"))
        | Q(areas__isnull=True)
    ).values("pk")


class _OperatorOnlyAdminMixin(RoleScopedAdminMixin):
    """Not in the role table: only operators (in their areas) and superusers, read-only unless
    an admin says otherwise (``operator_actions``)."""

    operator_actions: frozenset[str] = frozenset({VIEW})

    @property
    def is_scoped(self) -> bool:
        return True

    def scope_queryset(self, request, queryset):
        user = request.user
        if not _key_admin_user(user):
            return queryset.none()
        if user.sees_everything:
            return queryset
        return queryset.filter(user_id__in=_users_in_scope(user))

    def _can(self, request, action: str, obj=None) -> bool:
        return (
            _key_admin_user(request.user) and action in self.operator_actions and self._in_scope(request, obj)
        )

    def has_module_permission(self, request):
        return _key_admin_user(request.user)


class DepartmentAPIKeyIssueForm(forms.ModelForm):
    """Issuing a key: the secret is generated by ``api_key_issue`` and shown once."""

    county = forms.ModelChoiceField(
        queryset=Area.objects.filter(level=AreaLevel.COUNTY),
        label=_("服务县"),
        help_text=_("部门账号所在的县：未匹配到农户的预警在此县等待人工匹配。"),
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, label=_("权限范围")
    )

    class Meta:
        model = DepartmentAPIKey
        fields = ("department", "name", "county", "scopes", "expiry_date", "ip_allowlist")

    def clean_ip_allowlist(self):
        text = self.cleaned_data.get("ip_allowlist") or ""
        entries = [e.strip() for e in text.splitlines() if e.strip()]
        wrong = []
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                wrong.append(entry)
        if wrong:
            raise forms.ValidationError(_("不是有效的IP地址或网段：%(e)s") % {"e": join_list(wrong)})
        return "\n".join(entries)

    def clean_expiry_date(self):
        value = self.cleaned_data.get("expiry_date")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("到期时间须晚于现在。"))
        return value


@admin.register(DepartmentAPIKey)
class DepartmentAPIKeyAdmin(_OperatorOnlyAdminMixin, admin.ModelAdmin):
    """Issue a key (shown once), look at keys, revoke them (an action). Nothing else is edited:
    a key with other scopes is a new key."""

    operator_actions = frozenset({VIEW, ADD})
    form = DepartmentAPIKeyIssueForm
    list_display = (
        "prefix",
        "name",
        "department",
        "scope_list",
        "created",
        "expiry_date",
        "expired",
        "revoked",
        "last_used_at",
    )
    list_filter = ("department", "revoked")
    search_fields = ("name", "prefix", "department__name")
    list_select_related = ("department", "user")
    ordering = ("-created",)
    actions = ["revoke"]
    readonly_fields = (
        "prefix",
        "name",
        "department",
        "user",
        "scope_list",
        "ip_allowlist",
        "created",
        "expiry_date",
        "revoked",
        "last_used_at",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("department", "name", "county", "scopes", "expiry_date", "ip_allowlist")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "county" in form.base_fields:
            form.base_fields["county"].queryset = Area.objects.for_user(request.user).filter(
                level=AreaLevel.COUNTY
            )
        return form

    @admin.display(description=_("权限范围"))
    def scope_list(self, obj):
        labels = dict(Scope.choices)
        return join_list(labels.get(s, s) for s in obj.scopes or [])

    @admin.display(description=_("已过期"), boolean=True)
    def expired(self, obj):
        return obj.has_expired

    def save_model(self, request, obj, form, change):
        if change:  # nothing is edited in place
            return
        data = form.cleaned_data
        key, raw = api_key_issue(
            actor=request.user,
            department=data["department"],
            name=data["name"],
            scopes=list(data["scopes"]),
            county=data["county"],
            expires_at=data.get("expiry_date"),
            ip_allowlist=data.get("ip_allowlist") or "",
        )
        # The admin goes on with ``obj`` (log entry, redirect): make it the issued key.
        for f in key._meta.concrete_fields:
            setattr(obj, f.attname, getattr(key, f.attname))
        obj._state.adding, obj._state.db = False, key._state.db
        messages.warning(
            request,
            _("密钥已签发，只显示这一次，请立即交给%(dept)s妥善保存：%(key)s")
            % {"dept": key.department.name, "key": raw},
        )

    @admin.action(description=_("吊销所选密钥"))
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked=False):
            api_key_revoke(actor=request.user, key=key)
            count += 1
        messages.success(
            request, ngettext("已吊销%(n)s个密钥。", "已吊销%(n)s个密钥。", count) % {"n": count}
        )


@admin.register(ApiCallLog)
class ApiCallLogAdmin(_OperatorOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: who called what, when, with which result."""

    list_display = ("at", "method", "path", "status", "duration_ms", "api_key", "user", "ip")
    list_filter = ("status", "method", "api_key__department")
    search_fields = ("path", "api_key__prefix", "user__username", "ip")
    list_select_related = ("api_key", "user")
    date_hierarchy = "at"
    ordering = ("-at",)
    readonly_fields = (
        "at",
        "method",
        "path",
        "status",
        "duration_ms",
        "api_key",
        "staff_token",
        "user",
        "ip",
    )
    fields = readonly_fields


@admin.register(StaffToken)
class StaffTokenAdmin(_OperatorOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: people's API tokens (never their hash); an operator can revoke them."""

    list_display = (
        "prefix",
        "name",
        "user",
        "created",
        "expiry_date",
        "last_used_at",
        "last_used_ip",
        "revoked",
    )
    list_filter = ("revoked",)
    search_fields = ("prefix", "name", "user__username", "user__full_name")
    list_select_related = ("user",)
    ordering = ("-created",)
    readonly_fields = (
        "prefix",
        "name",
        "user",
        "created",
        "expiry_date",
        "last_used_at",
        "last_used_ip",
        "revoked",
        "revoked_at",
        "rotated_from",
    )
    fields = readonly_fields
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke_tokens(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked=False):
            try:
                token_revoke(actor=request.user, token=token, request=request)
            except NotAllowed as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return
            count += 1
        self.message_user(
            request, ngettext("已吊销%(n)s个令牌。", "已吊销%(n)s个令牌。", count) % {"n": count}
        )


@admin.register(SecurityEvent)
class SecurityEventAdmin(_OperatorOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: sign-ins, failures, lockouts, tokens and exports."""

    list_display = ("at", "kind", "username", "user", "ip")
    list_filter = ("kind",)
    search_fields = ("username", "user__username", "ip")
    list_select_related = ("user",)
    date_hierarchy = "at"
    ordering = ("-at",)
    readonly_fields = ("at", "kind", "username", "user", "ip", "detail")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The library's own key model is not used here: department keys are DepartmentAPIKey.
try:
    from rest_framework_api_key.models import APIKey as _LibraryAPIKey

    admin.site.unregister(_LibraryAPIKey)
except (ImportError, admin.sites.NotRegistered):
    pass
