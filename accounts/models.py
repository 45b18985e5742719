"""Users, the area tree (province ⊃ city ⊃ county ⊃ township ⊃ village) and departments.

"Inside my area" is a prefix test on the national 12-digit division code: a county's code
starts with its province's 2 and city's 4 digits, a township's with its county's 6, a village's
with its township's 9. Every scoped model keeps the 12-digit code of the village it lies in,
indexed, so scoping is one ``LIKE 'prefix%'`` on one column, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

from accounts.validators import validate_phone

from .texts import LocalizedName, render_text


class AreaLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("乡镇")
    VILLAGE = "village", _("村")


#: How many leading digits of the 12-digit code are significant at each level.
PREFIX_LENGTH = {
    AreaLevel.PROVINCE: 2,
    AreaLevel.CITY: 4,
    AreaLevel.COUNTY: 6,
    AreaLevel.TOWNSHIP: 9,
    AreaLevel.VILLAGE: 12,
}
PARENT_LEVEL = {
    AreaLevel.CITY: AreaLevel.PROVINCE,
    AreaLevel.COUNTY: AreaLevel.CITY,
    AreaLevel.TOWNSHIP: AreaLevel.COUNTY,
    AreaLevel.VILLAGE: AreaLevel.TOWNSHIP,
}


def area_prefix_q(field: str, prefixes: list[str] | tuple[str, ...]) -> Q:
    """``Q`` that keeps rows whose ``field`` (a 12-digit code) lies under any prefix.

    An empty list of prefixes matches nothing.
    """
    if not prefixes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{field}__startswith": p}) for p in prefixes))


# --- scoping: the one policy of who sees which rows -----------------------------------------


class ScopePolicy:
    """Which rows of a model a user sees; every scoped queryset's ``for_user`` is :meth:`rows`.

    - nobody signed out or inactive sees anything; superusers (``sees_everything``) and the
      roles in ``all_rows_roles`` see every row;
    - a role outside ``area_roles`` (when set) sees nothing;
    - a department account sees :meth:`department_q` (by default its areas, like anyone; the
      registry shows departments nothing, the workflow only what they reported or were assigned);
    - everyone else sees the rows whose ``area_field`` (a 12-digit code) starts with one of
      their areas' prefixes, plus :meth:`extra_q` (e.g. the households assigned to a helper).

    A model configures the attributes and the two hooks; nothing else decides.
    """

    #: the 12-digit area code the rows are scoped by (a path such as ``"case__area_code"``)
    area_field: str = "area_code"
    #: roles that see every row, besides superusers
    all_rows_roles: frozenset[str] = frozenset()
    #: the roles scoped by area; the others see nothing (``None``: every role)
    area_roles: frozenset[str] | None = None

    def area_q(self, user) -> Q:
        """The rows inside the user's areas."""
        return area_prefix_q(self.area_field, user.scope_prefixes())

    def extra_q(self, user) -> Q | None:
        """Rows the user sees besides their areas' (``None``: none)."""
        return None

    def department_q(self, user) -> Q | None:
        """What a department account sees (``None``: nothing); by default as anyone else."""
        return self.scoped_q(user)

    def scoped_q(self, user) -> Q:
        extra = self.extra_q(user)
        return self.area_q(user) if extra is None else self.area_q(user) | extra

    def visible_q(self, user) -> Q | None:
        """The rows an active user who does not see everything sees (``None``: nothing)."""
        if self.area_roles is not None and user.role not in self.area_roles:
            return None
        if user.role == Role.DEPARTMENT:
            return self.department_q(user)
        return self.scoped_q(user)

    def rows(self, queryset, user):
        """``queryset`` narrowed to what ``user`` may see."""
        if not (user.is_authenticated and user.is_active):
            return queryset.none()
        if user.sees_everything or user.role in self.all_rows_roles:
            return queryset
        q = self.visible_q(user)
        return queryset.none() if q is None else queryset.filter(q)


class ScopedQuerySet(ScopePolicy, models.QuerySet):
    """A queryset whose ``for_user`` is the scoping policy its class configures."""

    def for_user(self, user):
        return self.rows(self, user)


class FieldScope(ScopePolicy):
    """Rows scoped by one area field, for a model without ``for_user``; departments see none."""

    def __init__(self, area_field: str):
        self.area_field = area_field

    def department_q(self, user) -> Q | None:
        return None


class AreaQuerySet(ScopedQuerySet):
    area_field = "code"

    def under(self, area: Area) -> AreaQuerySet:
        return self.filter(code__startswith=area.prefix)


class Area(models.Model):
    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH[self.level]]

    def clean(self) -> None:
        if self.level not in PREFIX_LENGTH:  # clean_fields has already reported the bad choice
            return
        if not (len(self.code) == 12 and self.code.isascii() and self.code.isdigit()):
            raise ValidationError({"code": _("区划代码须为12位数字。")})
        if self.code[PREFIX_LENGTH[self.level] :].strip("0"):
            raise ValidationError({"code": _("该层级的区划代码在有效位之后应全为0。")})
        expected_parent = PARENT_LEVEL.get(self.level)
        if self.parent_id:
            if self.parent.level != expected_parent:
                raise ValidationError({"parent": _("上级区划的层级不对。")})
            if not self.code.startswith(self.parent.prefix):
                raise ValidationError({"code": _("区划代码必须以上级区划代码开头。")})

    def ancestor(self, level: str) -> Area | None:
        node: Area | None = self
        while node is not None and node.level != level:
            node = node.parent
        return node

    @property
    def county(self) -> Area | None:
        return self.ancestor(AreaLevel.COUNTY)

    @property
    def full_name(self) -> str:
        names = []
        node: Area | None = self
        while node is not None and node.level not in (AreaLevel.PROVINCE, AreaLevel.CITY):
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))


class Department(LocalizedName, models.Model):
    """One of the county's partner departments (行业部门), editable data."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("行业部门")
        verbose_name_plural = _("行业部门")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.display_name


class Role(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", _("村干部/网格员")
    HELPER = "helper", _("帮扶责任人")
    TOWNSHIP_REVIEWER = "township_reviewer", _("乡镇审核人员")
    COUNTY_APPROVER = "county_approver", _("县级审定人员")
    DEPARTMENT = "department", _("行业部门")
    OPERATOR = "operator", _("系统管理员")


#: Which area level a role works at; its areas must be of that level.
ROLE_AREA_LEVEL = {
    Role.VILLAGE_CADRE: AreaLevel.VILLAGE,
    Role.HELPER: None,  # a helper sees what they are assigned to, plus any areas given
    Role.TOWNSHIP_REVIEWER: AreaLevel.TOWNSHIP,
    Role.COUNTY_APPROVER: AreaLevel.COUNTY,
    Role.DEPARTMENT: AreaLevel.COUNTY,
    Role.OPERATOR: None,
}


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[validate_phone])
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.VILLAGE_CADRE)
    areas = models.ManyToManyField(Area, verbose_name=_("工作区域"), blank=True, related_name="users")
    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def sees_everything(self) -> bool:
        """Superusers see the whole deployment; everyone else is scoped by area."""
        return self.is_superuser

    def scope_prefixes(self) -> list[str]:
        """Code prefixes of the areas this user works in (cached per instance)."""
        cached = getattr(self, "_scope_prefixes", None)
        if cached is None:
            cached = sorted({a.prefix for a in self.areas.all()})
            self._scope_prefixes = cached
        return cached

    def covers(self, area_code: str) -> bool:
        """Is the 12-digit ``area_code`` inside this user's areas? Never for an inactive user."""
        if not self.is_active or not area_code:
            return False
        if self.sees_everything:
            return True
        return any(area_code.startswith(p) for p in self.scope_prefixes())

    def has_role(self, *roles: str) -> bool:
        return self.is_superuser or self.role in roles


class Scope(models.TextChoices):
    ALERTS_WRITE = "alerts:write", _("推送预警")
    ALERTS_READ = "alerts:read", _("查看预警及反馈")
    TASKS_READ = "tasks:read", _("查看帮扶任务")
    TASKS_WRITE = "tasks:write", _("办结帮扶任务")
    CALLS_WRITE = "calls:write", _("一键呼叫终端发起呼叫")


class DepartmentAPIKey(AbstractAPIKey):
    """A partner department's API key: stored hashed, scoped, optionally expiring and IP-bound.

    Calls made with it act as the department's service account (``user``), so the same
    ``for_user`` scoping and services apply as for a person of that department.
    """

    department = models.ForeignKey(
        Department, verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="api_keys"
    )
    user = models.ForeignKey(
        "User", verbose_name=_("部门服务账号"), on_delete=models.PROTECT, related_name="api_keys"
    )
    scopes = models.JSONField(_("权限范围"), default=list, blank=True)
    ip_allowlist = models.TextField(
        _("IP白名单"), blank=True, help_text=_("每行一个IP地址或网段（如 10.0.0.0/24）；留空不限。")
    )
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("部门接口密钥")
        verbose_name_plural = _("部门接口密钥")

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def ip_allowed(self, ip: str) -> bool:
        import ipaddress

        entries = [e.strip() for e in (self.ip_allowlist or "").splitlines() if e.strip()]
        if not entries:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        for entry in entries:
            try:
                if addr in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


class StaffToken(AbstractAPIKey):
    """A person's API token (``Authorization: Token <prefix>.<secret>``): stored hashed, always
    expiring, revocable and rotatable by its owner; every use is logged (``ApiCallLog``).

    The prefix (8 characters, shown to the owner) names the token in pages and URLs; the
    primary key holds the hash and never leaves the server.
    """

    user = models.ForeignKey(
        "User", verbose_name=_("所属用户"), on_delete=models.CASCADE, related_name="staff_tokens"
    )
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("最近使用IP"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    #: the token this one replaced, when it was made by rotation
    rotated_from = models.CharField(_("轮换自"), max_length=8, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("个人接口令牌")
        verbose_name_plural = _("个人接口令牌")
        indexes = [models.Index(fields=["user", "revoked"])]

    @property
    def state(self) -> str:
        if self.revoked:
            return "revoked"
        if self.has_expired:
            return "expired"
        return "active"


class SecurityEventKind(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKED_OUT = "locked_out", _("登录被锁定")
    UNLOCKED = "unlocked", _("解除登录锁定")
    TOKEN_CREATED = "token_created", _("创建接口令牌")
    TOKEN_ROTATED = "token_rotated", _("轮换接口令牌")
    TOKEN_REVOKED = "token_revoked", _("吊销接口令牌")
    TOKEN_REFUSED = "token_refused", _("接口令牌被拒绝")
    EXPORT = "export", _("导出数据")
    IMPORT = "import", _("导入数据")


class SecurityEvent(models.Model):
    """What a security review asks for: sign-ins and their failures, lockouts, tokens made,
    rotated, revoked or refused, and data leaving the system. Append-only."""

    kind = models.CharField(_("事件"), max_length=20, choices=SecurityEventKind.choices, db_index=True)
    user = models.ForeignKey(
        "User", verbose_name=_("用户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: the name typed or known at the time (kept when the user is unknown or later removed)
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("安全事件")
        verbose_name_plural = _("安全事件")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username}"


class ApiCallLog(models.Model):
    """Every API call: which key or user, method, path, status, time taken."""

    api_key = models.ForeignKey(
        DepartmentAPIKey,
        verbose_name=_("密钥"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    staff_token = models.ForeignKey(
        StaffToken,
        verbose_name=_("个人令牌"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    user = models.ForeignKey(
        "User", verbose_name=_("用户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(_("方法"), max_length=10)
    path = models.CharField(_("路径"), max_length=300)
    status = models.PositiveSmallIntegerField(_("状态码"))
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"))
    ip = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("接口调用日志")
        verbose_name_plural = _("接口调用日志")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class NotificationKind(models.TextChoices):
    DUE_SOON = "due_soon", _("即将到期")
    OVERDUE = "overdue", _("已超期")
    ESCALATION = "escalation", _("超期督办")
    VISIT_OVERDUE = "visit_overdue", _("走访逾期")
    MEASURE_MISSING = "measure_missing", _("帮扶措施未落实")
    RISK_REVIEW = "risk_review", _("风险复核预警")
    YEAR_END = "year_end", _("年终风险消除评估")
    SCREENING = "screening", _("集中排查")
    EMERGENCY_CALL = "emergency_call", _("紧急呼叫")


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """A message to one person: in-app (their home page) and, where configured, by email.

    ``key`` names what it is about (e.g. the step and its deadline); one person gets one
    notification per key, however often the periodic task that raises it runs.
    """

    #: no index of its own: (recipient, key) and (recipient, read_at) lead with it, and one
    #: index less to keep is felt when a watch inserts tens of thousands of rows
    recipient = models.ForeignKey(
        "User", verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    key = models.CharField(_("事由标识"), max_length=120)
    kind = models.CharField(_("类型"), max_length=20, choices=NotificationKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=200, blank=True)
    area_code = models.CharField(_("区划代码"), max_length=12, blank=True)
    #: title and body as msgid and parameters (``accounts.texts``), rendered in the reader's
    #: language; ``title``/``body`` keep the text in the default language (emails, old rows)
    texts = models.JSONField(_("消息文本"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("消息提醒")
        verbose_name_plural = _("消息提醒")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")]
        indexes = [models.Index(fields=["recipient", "read_at"]), models.Index(fields=["key"])]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        return render_text((self.texts or {}).get("title"), self.title)

    @property
    def display_body(self) -> str:
        return render_text((self.texts or {}).get("body"), self.body)
