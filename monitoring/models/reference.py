"""The county's reference data, edited by an operator and loaded with defaults.

Rows with ``county`` empty are the defaults every county starts from; a county that has
rows of its own (its own threshold, settings, rules or procedure) uses those instead.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import AreaLevel, Role
from accounts.texts import LocalizedName


def _county_fk(**extra):
    return models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"level__in": [AreaLevel.PROVINCE, AreaLevel.CITY, AreaLevel.COUNTY]},
        **extra,
    )


class IncomeThresholdQuerySet(models.QuerySet):
    def default_lines(self) -> list[tuple[int, Decimal]]:
        """(year, amount) of the rows with no area (the reference lines), by year."""
        return list(self.filter(area__isnull=True).order_by("year").values_list("year", "amount"))


class IncomeThreshold(models.Model):
    """防止返贫监测线: yuan per person per year, set by the province (or county) each year."""

    area = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("适用地区（空为全国参考值）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="income_thresholds",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    amount = models.DecimalField(
        _("监测线（元/人·年）"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("1"))]
    )
    window_months = models.PositiveSmallIntegerField(
        _("收入测算期（月）"),
        default=12,
        help_text=_("识别时按识别月份前若干个月的家庭人均纯收入测算，默认12个月。"),
    )
    effective_from = models.DateField(_("生效日期"), null=True, blank=True)
    source = models.CharField(_("依据"), max_length=300, blank=True)
    history = HistoricalRecords()
    objects = IncomeThresholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("监测收入标准")
        verbose_name_plural = _("监测收入标准")
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["area", "year"], name="threshold_one_per_area_year")]

    def __str__(self) -> str:
        return f"{self.year}: {self.amount}"


class RiskType(LocalizedName, models.Model):
    """返贫致贫风险类型 with stable codes (code table 100A27 and Yangyuan's 11 types)."""

    code = models.CharField(_("代码"), max_length=8, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subtypes",
    )
    needs_subtype = models.BooleanField(_("须选择子项"), default=False)
    green_channel = models.BooleanField(_("可走绿色通道"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    # Plan rules: a household whose only risk is of this type gets "point-to-point" measures.
    point_to_point = models.BooleanField(
        _("单一风险点对点帮扶"),
        default=False,
        help_text=_(
            "户的风险只有这一类时，按点对点针对性政策帮扶，可不要求开发式帮扶措施（须县级设置开启）。"
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("风险类型")
        verbose_name_plural = _("风险类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def root(self) -> RiskType:
        return self.parent if self.parent_id else self


class MeasureKind(models.TextChoices):
    DEVELOPMENT = "development", _("开发式帮扶")
    SECURITY = "security", _("保障性帮扶")
    OTHER = "other", _("其他")


class MeasureCategory(LocalizedName, models.Model):
    code = models.CharField(_("代码"), max_length=10, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    kind = models.CharField(_("性质"), max_length=20, choices=MeasureKind.choices, default=MeasureKind.OTHER)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("帮扶措施类别")
        verbose_name_plural = _("帮扶措施类别")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.display_name


class Measure(LocalizedName, models.Model):
    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    category = models.ForeignKey(
        MeasureCategory, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="measures"
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("责任部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="measures",
    )
    county = _county_fk(related_name="measures")
    description = models.CharField(_("说明"), max_length=300, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("帮扶措施")
        verbose_name_plural = _("帮扶措施目录")
        ordering = ["category__sort_order", "code"]

    def __str__(self) -> str:
        return self.display_name


class RuleLevel(models.TextChoices):
    MUST = "must", _("必选")
    OPTIONAL = "optional", _("可选")
    FORBIDDEN = "forbidden", _("禁选")


class RiskMeasureRule(models.Model):
    """Per risk type: which catalogue measures are must-use, optional or forbidden."""

    county = _county_fk(related_name="risk_measure_rules")
    risk_type = models.ForeignKey(
        RiskType, verbose_name=_("风险类型"), on_delete=models.CASCADE, related_name="+"
    )
    measure = models.ForeignKey(
        Measure, verbose_name=_("帮扶措施"), on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("要求"), max_length=10, choices=RuleLevel.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("风险-措施对应规则")
        verbose_name_plural = _("风险-措施对应规则")
        ordering = ["risk_type__sort_order", "level", "measure__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "risk_type", "measure"], name="rule_one_per_risk_measure"
            ),
            models.UniqueConstraint(
                fields=["risk_type", "measure"],
                condition=models.Q(county__isnull=True),
                name="default_rule_one_per_risk_measure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.risk_type} · {self.measure} · {self.get_level_display()}"


class RiskCategoryRequirement(LocalizedName, models.Model):
    """Consistency rule: a risk type needs at least one measure from these categories.

    E.g. 因病 needs a health, social or safety-net measure (rule 3_11_003).
    """

    county = _county_fk(related_name="risk_category_requirements")
    risk_type = models.ForeignKey(
        RiskType, verbose_name=_("风险类型"), on_delete=models.CASCADE, related_name="+"
    )
    categories = models.ManyToManyField(MeasureCategory, verbose_name=_("至少一项属于"), related_name="+")
    name = models.CharField(_("规则名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("风险-措施一致性规则")
        verbose_name_plural = _("风险-措施一致性规则")
        ordering = ["risk_type__sort_order"]

    def __str__(self) -> str:
        return self.display_name


class CountySettings(models.Model):
    """A county's procedure settings (time limits, notice days, visit interval …)."""

    county = models.OneToOneField(
        "accounts.Area",
        verbose_name=_("县（空为默认）"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="monitoring_settings",
    )
    case_deadline_days = models.PositiveSmallIntegerField(
        _("识别办结时限（天）"), default=15, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    case_deadline_caps = models.BooleanField(
        _("以县级识别时限为上限"),
        default=False,
        help_text=_(
            "勾选后，识别程序的办结时限不超过上面的天数；不勾选时，按所选识别程序的规定时限（或各步骤的计划工期）计算。"
        ),
    )
    use_working_days = models.BooleanField(_("按工作日计算时限"), default=False)
    due_soon_days = models.PositiveSmallIntegerField(_("临期提醒（剩余天数）"), default=5)
    helper_max_households = models.PositiveSmallIntegerField(
        _("每名帮扶人最多结对户数"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("批量结对时每名帮扶责任人最多帮扶的监测户数。"),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("识别公示天数"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    exit_notice_days = models.PositiveSmallIntegerField(
        _("消除公示天数"), default=7, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    visit_interval_days = models.PositiveSmallIntegerField(
        _("走访间隔（天）"), default=30, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )
    measure_deadline_days = models.PositiveSmallIntegerField(_("识别后落实帮扶措施时限（天）"), default=30)
    min_months_before_exit = models.PositiveSmallIntegerField(_("识别后最短监测月数"), default=6)
    max_income_drop_percent = models.PositiveSmallIntegerField(
        _("收入稳定：较上年降幅不超过（%）"),
        default=20,
        validators=[MaxValueValidator(100)],
        help_text=_("风险消除评估时，人均纯收入较上年下降超过此比例视为收入不稳定。"),
    )
    exit_min_home_check_cadres = models.PositiveSmallIntegerField(
        _("风险消除入户核查最少干部人数"), default=2
    )
    deduct_medical_spending = models.BooleanField(
        _("识别测算时扣除合规自付支出"),
        default=True,
        help_text=_("计入家庭理赔收入并扣除合规自付支出（主要为医疗）。"),
    )
    screening_month = models.PositiveSmallIntegerField(
        _("年度集中排查开始月份"), default=5, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    screening_day = models.PositiveSmallIntegerField(
        _("年度集中排查开始日"), default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    screening_days = models.PositiveSmallIntegerField(
        _("年度集中排查天数"), default=30, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    require_development_for_able = models.BooleanField(_("有劳动能力的户须有开发式帮扶措施"), default=True)
    # The exception to the rule above: risk types flagged "point-to-point" (RiskType).
    point_to_point_exempt = models.BooleanField(
        _("单一风险点对点帮扶的户可不要求开发式帮扶措施"),
        default=True,
        help_text=_("户的风险只有一类且该类风险标为“单一风险点对点帮扶”（默认住房安全、饮水安全）时适用。"),
    )
    relief_first = models.BooleanField(
        _("绿色通道先救助再帮扶"),
        default=True,
        help_text=_("绿色通道先行帮扶期间，计划可只有救助措施；纳入监测后再要求开发式帮扶措施。"),
    )
    max_risk_types = models.PositiveSmallIntegerField(
        _("每户最多风险类型"), default=5, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    identification_procedure = models.ForeignKey(
        "ProcedureDefinition",
        verbose_name=_("识别程序"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    exit_procedure = models.ForeignKey(
        "ProcedureDefinition",
        verbose_name=_("风险消除程序"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("县级监测设置")
        verbose_name_plural = _("县级监测设置")
        constraints = [
            models.UniqueConstraint(
                fields=["county"], condition=models.Q(county__isnull=True), name="one_default_settings"
            )
        ]

    def __str__(self) -> str:
        return str(self.county) if self.county_id else str(_("默认设置"))

    def clean(self) -> None:
        if (
            self.identification_procedure_id
            and self.identification_procedure.kind != ProcedureKind.IDENTIFICATION
        ):
            raise ValidationError({"identification_procedure": _("请选择识别程序。")})
        if self.exit_procedure_id and self.exit_procedure.kind != ProcedureKind.EXIT:
            raise ValidationError({"exit_procedure": _("请选择风险消除程序。")})


class Holiday(models.Model):
    """Public holidays and swapped working days (调休) for working-day deadlines."""

    date = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=50)
    is_working_day = models.BooleanField(_("调休上班"), default=False)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ProcedureKind(models.TextChoices):
    IDENTIFICATION = "identification", _("识别纳入")
    EXIT = "exit", _("风险消除")


class StepKind(models.TextChoices):
    HOME_VERIFICATION = "home_verification", _("入户核查核实")
    DATA_COMPARISON = "data_comparison", _("县级信息比对")
    VILLAGE_REVIEW = "village_review", _("村级民主评议")
    VILLAGE_NOTICE = "village_notice", _("村级公示")
    TOWNSHIP_REVIEW = "township_review", _("乡镇审核")
    COUNTY_APPROVAL = "county_approval", _("县级审定")


#: Who performs each kind of step by default.
STEP_DEFAULT_ROLE = {
    StepKind.HOME_VERIFICATION: Role.VILLAGE_CADRE,
    StepKind.DATA_COMPARISON: Role.COUNTY_APPROVER,
    StepKind.VILLAGE_REVIEW: Role.VILLAGE_CADRE,
    StepKind.VILLAGE_NOTICE: Role.VILLAGE_CADRE,
    StepKind.TOWNSHIP_REVIEW: Role.TOWNSHIP_REVIEWER,
    StepKind.COUNTY_APPROVAL: Role.COUNTY_APPROVER,
}


class ProcedureDefinition(LocalizedName, models.Model):
    """A county's procedure: steps, who performs them, their time limits and overlap."""

    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=ProcedureKind.choices)
    county = _county_fk(related_name="procedures")
    description = models.TextField(_("说明"), blank=True)
    time_limit_days = models.PositiveSmallIntegerField(
        _("规定办结时限（天）"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text=_("空为按各步骤时限和先后关系计算的计划工期。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("程序定义")
        verbose_name_plural = _("程序定义")
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return self.display_name

    def planned_days(self) -> int:
        """Length of the critical path through the steps (the procedure's planned duration)."""
        steps = list(self.steps.prefetch_related("waits_for"))
        finish: dict[int, int] = {}

        def end(step) -> int:
            if step.pk not in finish:
                finish[step.pk] = (
                    max((end(d) for d in step.waits_for.all()), default=0) + step.time_limit_days
                )
            return finish[step.pk]

        return max((end(s) for s in steps), default=0)


class StepDefinition(LocalizedName, models.Model):
    procedure = models.ForeignKey(
        ProcedureDefinition, verbose_name=_("程序"), on_delete=models.CASCADE, related_name="steps"
    )
    code = models.SlugField(_("代码"), max_length=40)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=150, blank=True)
    kind = models.CharField(_("步骤类型"), max_length=30, choices=StepKind.choices)
    actor_role = models.CharField(_("办理角色"), max_length=20, choices=Role.choices)
    area_level = models.CharField(_("办理层级"), max_length=10, choices=AreaLevel.choices)
    time_limit_days = models.PositiveSmallIntegerField(_("办理时限（天）"), default=3)
    waits_for = models.ManyToManyField(
        "self", verbose_name=_("前置步骤"), symmetrical=False, blank=True, related_name="enables"
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("程序步骤")
        verbose_name_plural = _("程序步骤")
        ordering = ["procedure_id", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code"], name="step_code_unique_in_procedure")
        ]

    def __str__(self) -> str:
        return self.display_name
