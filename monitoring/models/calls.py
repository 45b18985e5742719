"""The one-key emergency call (一键呼叫): a call for a household, its escalation chain and hops.

A call goes first to the household's helper contact; while nobody acknowledges it, it moves
along the county's chain (:class:`CallChainStep`, data an operator edits) one hop at a time,
each hop after the previous one's minutes. Raising a call plans every hop at once with the time
it falls due (:class:`CallHop`, ``notify_at``); the minute task notifies the hops whose time
has come, so escalation is computed from stored times. Acknowledging (or closing) a call stops
the hops still planned; every hop, acknowledgement and closure is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import AreaLevel

from .base import AreaScopedQuerySet

USER = settings.AUTH_USER_MODEL


class CallLevel(models.TextChoices):
    """Who a hop of the chain goes to."""

    HELPER_CONTACT = "helper_contact", _("帮扶联系人")
    RESPONSIBLE_HELPER = "responsible_helper", _("帮扶责任人")
    DOCTOR = "doctor", _("签约家庭医生")
    VILLAGE_CADRE = "village_cadre", _("村干部")
    TOWNSHIP = "township", _("乡镇")


class CallChainStep(models.Model):
    """One hop of a county's escalation chain: who is told, and how many minutes they have to
    acknowledge before the call moves on. Rows with no county are the default chain; a county
    with rows of its own uses only those."""

    county = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level__in": [AreaLevel.PROVINCE, AreaLevel.CITY, AreaLevel.COUNTY]},
        related_name="call_chain",
    )
    position = models.PositiveSmallIntegerField(_("顺序"))
    level = models.CharField(_("通知对象"), max_length=30, choices=CallLevel.choices)
    minutes = models.PositiveSmallIntegerField(
        _("应答时限（分钟）"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("通知后在此时间内无人应答即转下一级。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("紧急呼叫升级链")
        verbose_name_plural = _("紧急呼叫升级链")
        ordering = ["county_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["county", "position"], name="call_chain_one_per_position"),
            models.UniqueConstraint(fields=["county", "level"], name="call_chain_one_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_level_display()} ({self.minutes})"


class CallStatus(models.TextChoices):
    OPEN = "open", _("待应答")
    ACKNOWLEDGED = "acknowledged", _("已应答")
    CLOSED = "closed", _("已办结")


ACTIVE_CALL_STATUSES = (CallStatus.OPEN, CallStatus.ACKNOWLEDGED)


class CallSource(models.TextChoices):
    PAGE = "page", _("干部或帮扶人页面")
    API = "api", _("接口")
    DEVICE = "device", _("呼叫终端")


class EmergencyCallQuerySet(AreaScopedQuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_CALL_STATUSES)

    def department_rows(self, department_id) -> Q:
        return Q(department_id=department_id)


class EmergencyCall(models.Model):
    household = models.ForeignKey(
        "households.Household", verbose_name=_("农户"), on_delete=models.CASCADE, related_name="calls"
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    status = models.CharField(_("状态"), max_length=20, choices=CallStatus.choices, default=CallStatus.OPEN)
    source = models.CharField(_("来源"), max_length=10, choices=CallSource.choices, default=CallSource.PAGE)
    raised_at = models.DateTimeField(_("呼叫时间"))
    raised_by = models.ForeignKey(
        USER, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("终端所属部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    note = models.CharField(_("呼叫说明"), max_length=500, blank=True)
    acknowledged_at = models.DateTimeField(_("应答时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        USER, verbose_name=_("应答人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, verbose_name=_("办结人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.TextField(_("处置情况"), blank=True)
    clue = models.ForeignKey(
        "monitoring.Clue",
        verbose_name=_("登记的风险线索"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = EmergencyCallQuerySet.as_manager()

    class Meta:
        verbose_name = _("紧急呼叫")
        verbose_name_plural = _("紧急呼叫")
        ordering = ["-raised_at", "-id"]
        constraints = [
            # one call at a time per household: a second press joins the call in progress
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="call_one_active_per_household",
            )
        ]
        indexes = [models.Index(fields=["area_code", "status", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.household} {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CALL_STATUSES


class HopState(models.TextChoices):
    PLANNED = "planned", _("待通知")
    NOTIFIED = "notified", _("已通知")
    SKIPPED = "skipped", _("无人可通知，已跳过")
    STOPPED = "stopped", _("已应答，未通知")


class CallHop(models.Model):
    """One hop of a call: who it goes to, when it falls due, when it was notified.

    Planned with the call (``notify_at`` from the chain's minutes); the minute task notifies it
    when ``notify_at`` has come and the call is still unacknowledged."""

    #: no index of its own: the unique (call, position) leads with it, and every index is
    #: rewritten when the minute's tick marks 10,000 hops notified
    call = models.ForeignKey(
        EmergencyCall, verbose_name=_("呼叫"), on_delete=models.CASCADE, related_name="hops", db_index=False
    )
    position = models.PositiveSmallIntegerField(_("顺序"))
    level = models.CharField(_("通知对象"), max_length=30, choices=CallLevel.choices)
    recipients = models.JSONField(_("通知账号"), default=list, blank=True)
    names = models.CharField(_("通知人"), max_length=300, blank=True)
    notify_at = models.DateTimeField(_("应通知时间"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=HopState.choices, default=HopState.PLANNED)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("呼叫升级记录")
        verbose_name_plural = _("呼叫升级记录")
        ordering = ["call_id", "position"]
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="call_hop_one_per_position")]
        indexes = [
            models.Index(fields=["notify_at"], condition=Q(state="planned"), name="call_hop_due"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.position} {self.level}"
