"""Frozen monthly ledgers (月度台账封存): a county's five ledgers as they stood at the end of a
month, kept row by row and signed off by a named person. Later edits of the registry or the
cases do not change them; the live ledgers are compared with them on the frozen month's page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Area, Role, ScopedQuerySet

#: Who reads frozen ledgers (their part of them): the staff who keep the ledgers.
READ_ROLES = frozenset({Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR})


class FrozenMonthQuerySet(ScopedQuerySet):
    """The frozen months of the counties the user works in, whole or in part (a township or
    village reads its part of the rows, :class:`FrozenRowQuerySet`); helpers and departments
    none."""

    area_field = "county__code"
    area_roles = READ_ROLES

    def area_q(self, user) -> Q:
        q = Q(pk__in=[])
        for prefix in user.scope_prefixes():
            if len(prefix) >= 6:
                q |= Q(county__code=prefix[:6].ljust(12, "0"))
            else:
                q |= Q(county__code__startswith=prefix)
        return q


class FrozenMonth(models.Model):
    county = models.ForeignKey(Area, verbose_name=_("县"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    as_of = models.DateField(_("台账日期"))
    frozen_at = models.DateTimeField(_("封存时间"))
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("封存人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: the name of who signed it off, as it was then (the system's for the month-end task)
    signed_by = models.CharField(_("签发人"), max_length=50)
    #: ``{ledger: households, f"{ledger}_people": people}`` (the early-warning ledger: clues)
    counts = models.JSONField(_("各台账数量"), default=dict)

    objects = FrozenMonthQuerySet.as_manager()

    class Meta:
        verbose_name = _("月度封存台账")
        verbose_name_plural = _("月度封存台账")
        ordering = ["-year", "-month", "county__code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "year", "month"], name="frozen_month_once"),
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.year}-{self.month:02d}"


class FrozenRowQuerySet(ScopedQuerySet):
    """A user reads the rows of their own areas (a township its villages', a village its own)."""

    area_field = "area_code"
    area_roles = READ_ROLES


class FrozenRow(models.Model):
    """One row of a frozen ledger: a household of ledgers 1–4, or a clue of ledger 5, with the
    columns a county hands upward, copied at the freeze."""

    frozen = models.ForeignKey(FrozenMonth, on_delete=models.CASCADE, related_name="rows")
    ledger = models.CharField(_("台账"), max_length=30)
    household = models.ForeignKey(
        "households.Household",
        verbose_name=_("农户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    clue_id = models.BigIntegerField(_("线索编号"), null=True, blank=True)
    number = models.CharField(_("户编号"), max_length=30, blank=True)
    head_name = models.CharField(_("户主"), max_length=50, blank=True)
    area_code = models.CharField(_("区划代码"), max_length=12)
    village_name = models.CharField(_("所在村"), max_length=100, blank=True)
    household_type = models.CharField(_("户类型"), max_length=20, blank=True)
    monitoring_category = models.CharField(_("监测对象类别"), max_length=20, blank=True)
    monitoring_status = models.CharField(_("监测状态"), max_length=20, blank=True)
    low_income_status = models.CharField(_("低收入类别"), max_length=30, blank=True)
    member_count = models.PositiveSmallIntegerField(_("家庭人口数"), default=0)
    income_year = models.PositiveSmallIntegerField(_("收入年度"), null=True, blank=True)
    per_capita_income = models.DecimalField(
        _("人均纯收入"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    risks = models.TextField(_("风险类型"), blank=True)
    found_date = models.DateField(_("发现风险日期"), null=True, blank=True)
    channel = models.CharField(_("线索来源"), max_length=20, blank=True)
    clue_status = models.CharField(_("线索状态"), max_length=20, blank=True)

    objects = FrozenRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("封存台账行")
        verbose_name_plural = _("封存台账行")
        indexes = [models.Index(fields=["frozen", "ledger", "area_code", "number"], name="frozenrow_page")]

    def __str__(self) -> str:
        return f"{self.frozen_id} {self.ledger} {self.number}"
