"""What the periodic tasks work with: their run records, the risk-review rules, the annual
screening campaign and its visit tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Role, ScopedQuerySet

from .base import AreaScopedQuerySet


class TaskName(models.TextChoices):
    DEADLINE_WATCH = "deadline_watch", _("办理时限监测")
    VISIT_WATCH = "visit_watch", _("走访逾期监测")
    RISK_REVIEW = "risk_review", _("风险复核")
    MEASURE_WATCH = "measure_watch", _("帮扶措施落实监测")
    YEAR_END_ASSESSMENT = "year_end_assessment", _("年终风险消除评估")
    SCREENING_CAMPAIGN = "screening_campaign", _("年度集中排查")
    FREEZE_LEDGERS = "freeze_ledgers", _("月度台账封存")
    EXPORT_CLEANUP = "export_cleanup", _("清理过期的导出文件")
    DASHBOARD_FIGURES = "dashboard_figures", _("统计看板预计算")
    DATA_QUALITY = "data_quality", _("数据质量检查")
    CALL_ESCALATION = "call_escalation", _("紧急呼叫逐级升级")
    HOUSEHOLD_SCORES = "household_scores", _("全县识别评分")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")
    SKIPPED = "skipped", _("已跳过（同一任务正在运行）")


class TaskRunQuerySet(ScopedQuerySet):
    """Operators see every run; county and township staff the runs over their areas, their
    counties and the whole deployment (area code ""), which concern everyone; others none."""

    all_rows_roles = frozenset({Role.OPERATOR})
    area_roles = frozenset({Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER})

    def extra_q(self, user) -> Q:
        counties = {p[:6] for p in user.scope_prefixes()}
        return Q(area_code="") | Q(area_code__in=[c + "000000" for c in counties])


class TaskRun(models.Model):
    """One run of a periodic task: when, over which area, what it found and did, errors."""

    task = models.CharField(_("任务"), max_length=30, choices=TaskName.choices)
    area_code = models.CharField(_("范围（区划代码，空为全部）"), max_length=12, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), db_index=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    #: stamped while the run works (``monitoring.services.runs``); a running row whose
    #: heartbeat is older than the lease belongs to a dead worker and is taken over
    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    as_of = models.DateTimeField(_("评估时点"))
    counts = models.JSONField(_("结果统计"), default=dict, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("手动触发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    celery_id = models.CharField(_("任务编号"), max_length=64, blank=True)

    objects = TaskRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("定时任务运行记录")
        verbose_name_plural = _("定时任务运行记录")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "area_code"],
                condition=Q(status="running"),
                name="taskrun_one_running_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_task_display()} {self.area_code or '*'} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ReviewRuleCode(models.TextChoices):
    INCOME_BELOW = "income_below", _("人均纯收入低于监测线")
    INCOME_NEAR = "income_near", _("人均纯收入略高于监测线（预警）")
    INCOME_DROP = "income_drop", _("人均纯收入较上年大幅下降")
    MEDICAL_OUT_OF_POVERTY = "medical_out_of_poverty", _("脱贫户合规自付医疗支出较大")
    MEDICAL_OTHER = "medical_other", _("一般农户合规自付医疗支出较大")
    GUARANTEE_FOOD_CLOTHING = "guarantee_food_clothing", _("吃穿出现问题")
    GUARANTEE_EDUCATION = "guarantee_education", _("义务教育保障出现问题")
    GUARANTEE_MEDICAL = "guarantee_medical", _("基本医疗保障出现问题")
    GUARANTEE_HOUSING = "guarantee_housing", _("住房安全出现问题")
    GUARANTEE_WATER = "guarantee_water", _("饮水安全出现问题")


#: What ``ReviewRule.parameter`` means for each rule (None: the rule takes none).
REVIEW_PARAMETER = {
    ReviewRuleCode.INCOME_BELOW: None,
    ReviewRuleCode.INCOME_NEAR: _("高于监测线的幅度（%）"),
    ReviewRuleCode.INCOME_DROP: _("较上年降幅超过（%）"),
    ReviewRuleCode.MEDICAL_OUT_OF_POVERTY: _("合规自付支出超过（元/年）"),
    ReviewRuleCode.MEDICAL_OTHER: _("合规自付支出超过（元/年）"),
    ReviewRuleCode.GUARANTEE_FOOD_CLOTHING: None,
    ReviewRuleCode.GUARANTEE_EDUCATION: None,
    ReviewRuleCode.GUARANTEE_MEDICAL: None,
    ReviewRuleCode.GUARANTEE_HOUSING: None,
    ReviewRuleCode.GUARANTEE_WATER: None,
}


class ReviewRule(models.Model):
    """One rule of the periodic risk review: when it raises a system clue, with which risk type.

    Rows with ``county`` empty are the defaults; a county's own row for a code replaces the
    default row of that code.
    """

    county = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level": "county"},
        related_name="+",
    )
    code = models.CharField(_("规则"), max_length=40, choices=ReviewRuleCode.choices)
    risk_type = models.ForeignKey(
        "RiskType", verbose_name=_("线索风险类型"), on_delete=models.PROTECT, related_name="+"
    )
    parameter = models.DecimalField(
        _("参数"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("收入预警幅度、降幅（%）或支出金额（元），视规则而定。"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("风险复核规则")
        verbose_name_plural = _("风险复核规则")
        ordering = ["county_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "code"], name="review_rule_one_per_county"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(county__isnull=True), name="review_rule_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.get_code_display()

    def clean(self) -> None:
        needs = REVIEW_PARAMETER.get(self.code)
        if needs is not None and self.parameter is None:
            raise ValidationError({"parameter": _("该规则须填写参数：%(p)s") % {"p": needs}})
        percent = self.code in (ReviewRuleCode.INCOME_NEAR, ReviewRuleCode.INCOME_DROP)
        if percent and self.parameter is not None and self.parameter > 100:
            raise ValidationError({"parameter": _("比例不能超过100%。")})


class ScreeningCampaign(models.Model):
    """年度集中排查: one per county and year; every household gets a visit task in the window."""

    county = models.ForeignKey(
        "accounts.Area", verbose_name=_("县"), on_delete=models.PROTECT, related_name="screening_campaigns"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    start_date = models.DateField(_("排查开始"))
    end_date = models.DateField(_("排查结束"))
    created_at = models.DateTimeField(_("创建时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("集中排查")
        verbose_name_plural = _("集中排查")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="screening_one_per_county_year")
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.year}"


class VisitTaskQuerySet(AreaScopedQuerySet):
    def open(self):
        return self.filter(visit__isnull=True)


class VisitTask(models.Model):
    """A household to visit by a date, in a screening campaign; done when a visit is recorded."""

    campaign = models.ForeignKey(
        ScreeningCampaign, verbose_name=_("集中排查"), on_delete=models.CASCADE, related_name="tasks"
    )
    household = models.ForeignKey(
        "households.Household", verbose_name=_("农户"), on_delete=models.CASCADE, related_name="visit_tasks"
    )
    area_code = models.CharField(_("区划代码"), max_length=12)
    due_date = models.DateField(_("走访期限"))
    visit = models.ForeignKey(
        "Visit",
        verbose_name=_("走访记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done_on = models.DateField(_("完成日期"), null=True, blank=True)

    objects = VisitTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("排查走访任务")
        verbose_name_plural = _("排查走访任务")
        ordering = ["due_date", "area_code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="visit_task_once_per_campaign")
        ]
        indexes = [
            models.Index(fields=["campaign", "area_code"]),
            models.Index(fields=["household", "done_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} · {self.due_date}"
