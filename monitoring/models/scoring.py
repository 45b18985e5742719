"""The quantitative identification score (识别定量模式) as data.

A ``ScoringModel`` is one version of a county's scoring model (rows with no county are the
default every county starts from): indicators over a household's data, each with a weight and
its bands (a value range and the points it gives). The model a county uses is its own active
version with the highest number, else the default's. A version that has scored a case is
locked: it can no longer be edited (the admin shows it read-only), so a past score always
reads against the model that gave it; a change is a new version ("copy as a new version" in
the admin), which scores only what is scored after it.

``HouseholdScore`` is the county-wide score of every household for clue triage, recomputed
set-based by :func:`monitoring.services.scoring.score_households`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import AreaLevel
from accounts.texts import LocalizedName

from .base import AreaScopedQuerySet


class IndicatorKind(models.TextChoices):
    """What an indicator measures; each has one definition over the registry
    (:mod:`monitoring.services.scoring`). Ratios are fractions (0.8 = 80 %)."""

    INCOME = "income", _("人均纯收入与当年监测线之比")
    MEDICAL = "medical", _("人均合规自付医疗支出与监测线之比")
    STUDENTS = "students", _("非义务教育阶段在校生人数")
    LABOUR = "labour", _("有劳动能力成员占比")
    HEALTH = "health", _("患病或残疾成员人数")
    HOUSING = "housing", _("住房安全等级（A=1至D=4）")
    GUARANTEES = "guarantees", _("两不愁三保障及饮水安全未保障项数")
    DEPENDANTS = "dependants", _("未满16周岁或65周岁以上成员占比")


class ScoringModelQuerySet(models.QuerySet):
    def current_for(self, county_code: str):
        """The county's own active version with the highest number, else the default's."""
        active = self.filter(active=True).order_by("-version")
        own = active.filter(county__code=county_code).first()
        return own if own is not None else active.filter(county__isnull=True).first()


class ScoringModel(LocalizedName, models.Model):
    county = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level__in": [AreaLevel.PROVINCE, AreaLevel.CITY, AreaLevel.COUNTY]},
        related_name="+",
    )
    version = models.PositiveIntegerField(_("版本号"), validators=[MinValueValidator(1)])
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    active = models.BooleanField(
        _("启用"), default=False, help_text=_("启用的版本中版本号最大的用于新的评分。")
    )
    note = models.TextField(_("说明"), blank=True)
    locked_at = models.DateTimeField(
        _("锁定时间"), null=True, blank=True, editable=False, help_text=_("已用于案件评分的版本不能再修改。")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScoringModelQuerySet.as_manager()

    class Meta:
        verbose_name = _("识别评分模型")
        verbose_name_plural = _("识别评分模型")
        ordering = ["county_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["county", "version"], name="scoring_model_one_per_version"),
            models.UniqueConstraint(
                fields=["version"],
                condition=models.Q(county__isnull=True),
                name="scoring_model_default_one_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} v{self.version}"

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


class ScoringIndicator(models.Model):
    model = models.ForeignKey(
        ScoringModel, verbose_name=_("评分模型"), on_delete=models.CASCADE, related_name="indicators"
    )
    kind = models.CharField(_("指标"), max_length=20, choices=IndicatorKind.choices)
    weight = models.DecimalField(
        _("权重"), max_digits=5, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("评分指标")
        verbose_name_plural = _("评分指标")
        ordering = ["model_id", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "kind"], name="scoring_indicator_one_per_kind")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class ScoringBand(models.Model):
    """``lower <= value < upper`` gives ``points`` (an empty bound is open)."""

    indicator = models.ForeignKey(
        ScoringIndicator, verbose_name=_("评分指标"), on_delete=models.CASCADE, related_name="bands"
    )
    lower = models.DecimalField(_("下限（含）"), max_digits=10, decimal_places=4, null=True, blank=True)
    upper = models.DecimalField(_("上限（不含）"), max_digits=10, decimal_places=4, null=True, blank=True)
    points = models.PositiveSmallIntegerField(_("分值"))
    label = models.CharField(_("档次说明"), max_length=100, blank=True)
    label_en = models.CharField(_("英文说明"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("评分档次")
        verbose_name_plural = _("评分档次")
        ordering = ["indicator_id", "lower", "id"]

    def __str__(self) -> str:
        return self.label or f"[{self.lower}, {self.upper})"

    def clean(self) -> None:
        if self.lower is not None and self.upper is not None and self.upper <= self.lower:
            raise ValidationError({"upper": _("上限须大于下限。")})


class HouseholdScoreQuerySet(AreaScopedQuerySet):
    def department_q(self, user):
        return None


class HouseholdScore(models.Model):
    """A household's score by the county's current model, for triage (recomputed set-based)."""

    household = models.OneToOneField(
        "households.Household",
        verbose_name=_("农户"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="score",
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    score = models.DecimalField(_("识别评分"), max_digits=8, decimal_places=2, db_index=True)
    model = models.ForeignKey(
        ScoringModel, verbose_name=_("评分模型"), on_delete=models.PROTECT, related_name="+"
    )
    computed_at = models.DateTimeField(_("计算时间"))

    objects = HouseholdScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("农户识别评分")
        verbose_name_plural = _("农户识别评分")
        ordering = ["-score"]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.score}"
