"""The province's data-quality checks (数据质量清洗: screen → correct → screen again) as data.

A ``QualityRule`` is a numbered rule (the province's id), the columns it concerns, a condition
(one of the set-based checks ``monitoring/services/quality.py`` knows, with its parameters)
and the message shown with each finding. Rows with no county are the defaults (loaded from
``monitoring/defaults.py``); a county's row with the same id replaces the default there.
A ``QualityFinding`` (疑点) is one household a rule found; a cadre marks it fixed or explains
it; the next run closes the ones no longer found.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.texts import localized_name

from .base import AreaScopedQuerySet


class QualityCondition(models.TextChoices):
    PER_CAPITA_ABOVE_AT_ENTRY = "per_capita_above_at_entry", _("纳入时人均纯收入高于上限")
    WAGES_BETWEEN = "wages_between", _("工资性收入在区间内")
    PER_CAPITA_BELOW = "per_capita_below", _("人均纯收入低于下限（未纳入监测）")
    LAND_OUTSIDE = "land_outside", _("耕地面积超出区间")
    NO_LABOUR_NOT_FLAGGED = "no_labour_not_flagged", _("整户无劳动能力未标注兜底保障")
    RISK_WITHOUT_MEASURE = "risk_without_measure", _("有某类风险而无对应类别措施")
    EARLY_ASSISTANCE_EXIT = "early_assistance_exit", _("识别后过早帮扶消除")
    DATES_MISSING = "dates_missing", _("识别或消除时间缺失")
    RISK_COUNT = "risk_count", _("风险数不在1至5项")
    NO_MEASURE_WITHIN = "no_measure_within", _("识别后规定天数内无帮扶措施")
    CATEGORY_TYPE = "category_type", _("监测对象类别与户类型不符")


class QualityRule(models.Model):
    county = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("县"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("留空为默认规则；填写则替换该县的同编号规则。"),
    )
    code = models.CharField(_("规则编号"), max_length=20)
    columns = models.CharField(_("涉及字段"), max_length=200)
    condition = models.CharField(_("判断条件"), max_length=40, choices=QualityCondition.choices)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    message = models.CharField(_("疑点说明"), max_length=200)
    message_en = models.CharField(_("英文说明"), max_length=300, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("数据质量规则")
        verbose_name_plural = _("数据质量规则")
        ordering = ["code", "county_id"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="quality_rule_one_per_county"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(county__isnull=True), name="quality_rule_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_message}"

    @property
    def name(self) -> str:
        return self.message

    @property
    def name_en(self) -> str:
        return self.message_en

    @property
    def display_message(self) -> str:
        return localized_name(self)


class FindingStatus(models.TextChoices):
    OPEN = "open", _("待核实")
    FIXED = "fixed", _("已修正")
    EXPLAINED = "explained", _("已说明")


class QualityFindingQuerySet(AreaScopedQuerySet):
    def department_q(self, user):
        return None


class QualityFinding(models.Model):
    rule = models.ForeignKey(
        QualityRule, verbose_name=_("规则"), on_delete=models.CASCADE, related_name="findings"
    )
    household = models.ForeignKey(
        "households.Household",
        verbose_name=_("农户"),
        on_delete=models.CASCADE,
        related_name="quality_findings",
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)
    first_found_at = models.DateTimeField(_("首次发现"))
    last_found_at = models.DateTimeField(_("最近发现"))
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = QualityFindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据质量疑点")
        verbose_name_plural = _("数据质量疑点")
        ordering = ["rule__code", "area_code", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "household"], name="quality_finding_one_per_rule")
        ]
        indexes = [models.Index(fields=["status", "area_code"])]

    def __str__(self) -> str:
        return f"{self.rule.code} {self.household}"
