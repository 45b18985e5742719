"""Who may do what in the admin: a role → model → actions table, and the mixins that apply it.

The admin is the operators' (and superusers') UI: the other staff roles work in the pages, whose
forms carry the checks, and department accounts use the API. Access follows the user's ``role`` (not
Django's per-user permission rows or ``is_staff``): the table :data:`ADMIN_PERMISSIONS`, which
each app fills with the grants on its own models (its ``role_grants`` module), is the only place
that says which screens a role gets, and every ``has_*_permission`` of our ModelAdmins reads it.
Rows are then narrowed to the user's areas by the model's ``for_user`` queryset method, and
foreign-key choices in forms are narrowed the same way, so nobody can pick a village outside
their area. Superusers may do everything, except what :data:`NEVER` forbids to everyone.

Object actions are checked again inside the services, so the admin is one more entry point
that cannot skip them.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import Area, AreaLevel, FieldScope, Role

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ACTIONS = (VIEW, ADD, CHANGE, DELETE)

R = frozenset({VIEW})
RC = frozenset({VIEW, CHANGE})
RAC = frozenset({VIEW, ADD, CHANGE})
RACD = frozenset({VIEW, ADD, CHANGE, DELETE})

Grants = Mapping[str, Mapping[str, frozenset[str]]]


def each(models, actions) -> dict[str, frozenset[str]]:
    """The same ``actions`` for every model label in ``models``."""
    return dict.fromkeys(models, actions)


#: role → model label (``app_label.modelname``) → the admin actions it may take. Each app
#: declares the grants on its own models (its ``role_grants`` module, registered by its
#: ``AppConfig.ready``). A role with no entry (department accounts, which use the API) has no
#: admin access.
ADMIN_PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {role: {} for role in Role}

#: Actions nobody may take in the admin, superusers included (declared by each app too).
NEVER: dict[str, frozenset[str]] = {}


def register_grants(grants: Grants, never: Mapping[str, frozenset[str]] | None = None) -> None:
    """Add an app's role grants (role → model label → actions) and its :data:`NEVER` entries.

    Registering the same grants again changes nothing; a model label granted differently by
    two registrations is a mistake and refused.
    """
    for role, labels in grants.items():
        table = ADMIN_PERMISSIONS.setdefault(role, {})
        for label, actions in labels.items():
            if table.setdefault(label, frozenset(actions)) != actions:
                raise ValueError(f"{role} is granted {label} twice, differently")
    for label, actions in (never or {}).items():
        if NEVER.setdefault(label, frozenset(actions)) != actions:
            raise ValueError(f"{label} is forbidden twice, differently")


def allowed_actions(user, label: str) -> frozenset[str]:
    """The admin actions ``user`` may take on the model ``label`` (before area scoping)."""
    if not (user.is_authenticated and user.is_active):
        return frozenset()
    actions = RACD if user.is_superuser else ADMIN_PERMISSIONS.get(user.role, {}).get(label, frozenset())
    return actions - NEVER.get(label, frozenset())


def can(user, action: str, label: str) -> bool:
    return action in allowed_actions(user, label)


def has_admin_access(user) -> bool:
    """May this user use the admin at all? (Superusers, and every role with an entry.)"""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or bool(ADMIN_PERMISSIONS.get(user.role))


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form, letting in the roles of the table instead of ``is_staff``."""

    def confirm_login_allowed(self, user):
        if not has_admin_access(user):
            raise ValidationError(
                _("该账号不能登录管理后台。"),
                code="invalid_login",
            )


# --- scoping -------------------------------------------------------------------------------


def scope_by_area_field(queryset, user, field: str):
    """Rows whose ``field`` (a 12-digit area code) lies in the user's areas (the one policy,
    :class:`accounts.models.ScopePolicy`)."""
    return FieldScope(field).rows(queryset, user)


class _ScopedChoicesMixin:
    """Foreign-key and many-to-many choices limited to what the user may see.

    A related model registered in the admin is scoped by its ModelAdmin's
    :meth:`RoleScopedAdminMixin.scope_queryset`; an unregistered one with ``for_user`` by
    that. ``village`` fields offer only villages, ``county`` fields only counties.
    """

    def scoped_choices(self, request, db_field):
        model = db_field.remote_field.model
        queryset = model._default_manager.all()
        model_admin = self.admin_site._registry.get(model)
        if model_admin is not None and hasattr(model_admin, "scope_queryset"):
            queryset = model_admin.scope_queryset(request, queryset)
        elif hasattr(queryset, "for_user"):
            queryset = queryset.for_user(request.user)
        if model is Area:
            if db_field.name == "village":
                queryset = queryset.filter(level=AreaLevel.VILLAGE)
            elif db_field.name == "county":
                queryset = queryset.filter(level=AreaLevel.COUNTY)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = self.scoped_choices(request, db_field)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = self.scoped_choices(request, db_field)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class RoleScopedAdminMixin(_ScopedChoicesMixin):
    """For ModelAdmins: permissions from :data:`ADMIN_PERMISSIONS`, rows from ``for_user``.

    ``scope_area_field`` scopes a model that has no ``for_user`` (e.g. ``"case__area_code"``).
    A model with neither is deployment-wide (reference data). With an object, a permission
    also requires the object to be inside the user's rows, so views that look objects up
    on their own (history pages) cannot show another area's record.
    """

    scope_area_field: str | None = None

    def scope_queryset(self, request, queryset):
        if hasattr(queryset, "for_user"):
            return queryset.for_user(request.user)
        if self.scope_area_field:
            return scope_by_area_field(queryset, request.user, self.scope_area_field)
        return queryset

    @property
    def is_scoped(self) -> bool:
        return bool(self.scope_area_field) or hasattr(self.model._default_manager.all(), "for_user")

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def _in_scope(self, request, obj) -> bool:
        if obj is None or obj.pk is None or not self.is_scoped or request.user.sees_everything:
            return True
        cache = request.__dict__.setdefault("_admin_scope_cache", {})
        key = (self.opts.label_lower, obj.pk)
        if key not in cache:
            cache[key] = self.scope_queryset(request, self.model._default_manager.filter(pk=obj.pk)).exists()
        return cache[key]

    def _can(self, request, action: str, obj=None) -> bool:
        return can(request.user, action, self.opts.label_lower) and self._in_scope(request, obj)

    def has_module_permission(self, request):
        return bool(allowed_actions(request.user, self.opts.label_lower))

    def has_view_permission(self, request, obj=None):
        return self._can(request, VIEW, obj) or self._can(request, CHANGE, obj)

    def has_add_permission(self, request, *args):
        return self._can(request, ADD)

    def has_change_permission(self, request, obj=None):
        return self._can(request, CHANGE, obj)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, DELETE, obj)


class RoleScopedInlineMixin(_ScopedChoicesMixin):
    """For inlines: the same table, for the inline's model (the parent page checks the area)."""

    def _can(self, request, action: str) -> bool:
        return can(request.user, action, self.opts.label_lower)

    def has_view_permission(self, request, obj=None):
        return self._can(request, VIEW) or self._can(request, CHANGE)

    def has_add_permission(self, request, obj=None):
        return self._can(request, ADD)

    def has_change_permission(self, request, obj=None):
        return self._can(request, CHANGE)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, DELETE)


def _site_has_permission(request) -> bool:
    return has_admin_access(request.user)


def configure_admin_site(site: admin.AdminSite) -> None:
    """Chinese (translatable) titles, and access by role instead of ``is_staff``."""
    site.site_header = _("防止返贫致贫动态监测和帮扶系统")
    site.site_title = _("防返贫监测帮扶")
    site.index_title = _("管理后台")
    site.has_permission = _site_has_permission
    site.login_form = AdminLoginForm


class RoleScopedHistoryAdmin(RoleScopedAdminMixin, SimpleHistoryAdmin):
    """A role-scoped admin showing the model's history (django-simple-history).

    Reverting to an old version saves through the admin's ``save_model``; it is offered only
    with ``allow_revert`` and the change permission, and a POST is refused otherwise (the
    library only hides the button).
    """

    allow_revert = True

    def revert_disabled(self, request, obj=None):
        return not self.allow_revert or super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and (not self.allow_revert or not self.has_change_permission(request)):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
