"""Motivation points (扶志积分): a village panel awards points to a household for listed conduct;
the household redeems them at the village point shop (积分超市) for listed goods.

The conduct list and the goods are reference data per county (rows with no county are the
defaults, loaded from ``monitoring/defaults.py``; a county with rows of its own uses those).
A household's balance is stored on its ``PointsAccount`` and can never be negative: the
services lock the account (``select_for_update``) and refuse an overdraft, and a ``CHECK``
constraint in the database refuses it whatever writes the row. Every award and redemption is
one append-only ``PointsEntry`` (who recorded it, when, why, the panel members, the balance
after it): the village's ledger.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import AreaLevel
from accounts.texts import LocalizedName, english_active

from .base import AreaScopedQuerySet


def _county(related_name: str):
    return models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level__in": [AreaLevel.PROVINCE, AreaLevel.CITY, AreaLevel.COUNTY]},
        related_name=related_name,
    )


POINTS_VALIDATORS = [
    MinValueValidator(1, message=_("积分至少为1分。")),
    MaxValueValidator(1000, message=_("积分不能超过1000分。")),
]


class ConductItem(LocalizedName, models.Model):
    """A listed conduct the panel scores (扶志积分评分项), worth a number of points."""

    county = _county("conduct_items")
    code = models.CharField(_("代码"), max_length=10)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    points = models.PositiveSmallIntegerField(_("分值"), validators=POINTS_VALIDATORS)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("扶志积分评分项")
        verbose_name_plural = _("扶志积分评分项")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="conduct_one_per_county"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(county__isnull=True), name="conduct_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class ShopItem(LocalizedName, models.Model):
    """Goods of the village point shop (积分超市), at a price in points."""

    county = _county("shop_items")
    code = models.CharField(_("代码"), max_length=10)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    unit = models.CharField(_("单位"), max_length=10, blank=True)
    unit_en = models.CharField(_("英文单位"), max_length=20, blank=True)
    price = models.PositiveSmallIntegerField(_("所需积分"), validators=POINTS_VALIDATORS)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("积分超市商品")
        verbose_name_plural = _("积分超市商品")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="shop_item_one_per_county"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(county__isnull=True), name="shop_item_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_unit(self) -> str:
        return (self.unit_en or self.unit) if english_active() else self.unit


class PointsQuerySet(AreaScopedQuerySet):
    def department_q(self, user):
        return None


class PointsAccount(models.Model):
    """A household's points: the balance and the totals, kept by the points services only."""

    household = models.OneToOneField(
        "households.Household",
        verbose_name=_("农户"),
        on_delete=models.CASCADE,
        related_name="points_account",
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    balance = models.IntegerField(_("积分余额"), default=0)
    awarded = models.PositiveIntegerField(_("累计获得"), default=0)
    redeemed = models.PositiveIntegerField(_("累计兑换"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), null=True, blank=True)

    objects = PointsQuerySet.as_manager()

    class Meta:
        verbose_name = _("扶志积分账户")
        verbose_name_plural = _("扶志积分账户")
        ordering = ["area_code", "household_id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(balance=models.F("awarded") - models.F("redeemed")), name="points_balance_adds_up"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.balance}"


class PointsEntryKind(models.TextChoices):
    AWARD = "award", _("评议加分")
    REDEEM = "redeem", _("积分兑换")


class PointsEntry(models.Model):
    """One award or redemption (append-only): the village's points ledger."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("积分账户"), on_delete=models.CASCADE, related_name="entries"
    )
    household = models.ForeignKey(
        "households.Household",
        verbose_name=_("农户"),
        on_delete=models.CASCADE,
        related_name="points_entries",
    )
    area_code = models.CharField(_("区划代码"), max_length=12)
    kind = models.CharField(_("类型"), max_length=10, choices=PointsEntryKind.choices)
    conduct = models.ForeignKey(
        ConductItem,
        verbose_name=_("评分项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    item = models.ForeignKey(
        ShopItem,
        verbose_name=_("兑换商品"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    #: signed: an award adds, a redemption subtracts
    points = models.IntegerField(_("积分"))
    balance_after = models.IntegerField(_("余额"))
    occurred_on = models.DateField(_("日期"))
    reason = models.CharField(_("事由"), max_length=300, blank=True)
    panel = models.CharField(_("评议小组成员"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登记时间"))

    objects = PointsQuerySet.as_manager()

    class Meta:
        verbose_name = _("扶志积分记录")
        verbose_name_plural = _("扶志积分记录")
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["area_code", "occurred_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="points_entry_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=(Q(kind="award", points__gt=0, conduct__isnull=False))
                | Q(kind="redeem", points__lt=0, item__isnull=False),
                name="points_entry_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.points:+d}"

    @property
    def recorded_by_name(self) -> str:
        user = self.recorded_by
        if user is None:
            return str(_("系统"))
        return user.full_name or user.username

    @property
    def what(self):
        return self.conduct if self.kind == PointsEntryKind.AWARD else self.item
