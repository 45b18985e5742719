"""The registry: households, people, yearly income, helpers and their assignments.

Models hold data and single-row invariants; every write goes through ``services.py``.
Each model keeps a full history (django-simple-history): who changed it, when, why, and
the row as it was at any past date (``Household.history.as_of(when)``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Role, ScopedQuerySet
from accounts.validators import validate_phone

from . import idnumber

MONEY = {"max_digits": 12, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"), message=_("金额不能为负数。"))]
NON_NEGATIVE_AREA = [MinValueValidator(Decimal("0"), message=_("面积不能为负数。"))]


def validate_id_number(value: str) -> None:
    try:
        idnumber.parse(value)
    except idnumber.IDNumberError as exc:
        raise ValidationError(exc.message, code="invalid_id_number") from None


class RegistryQuerySet(ScopedQuerySet):
    """The registry's scoping (:class:`accounts.models.ScopePolicy`): rows in the user's areas
    and, for a helper, of the households assigned to them; departments see none."""

    area_field = "area_code"
    #: this model's household id, for helpers' assignments
    household_field = "id"

    def extra_q(self, user) -> Q | None:
        if user.role != Role.HELPER:
            return None
        assigned = HelperAssignment.objects.active().filter(helper__user=user).values("household_id")
        return Q(**{f"{self.household_field}__in": assigned})

    def department_q(self, user) -> Q | None:
        return None


class HouseholdType(models.TextChoices):
    OUT_OF_POVERTY = "out_of_poverty", _("脱贫户")
    ORDINARY = "ordinary", _("一般农户")


class LowIncomeStatus(models.TextChoices):
    NONE = "", _("无")
    DIBAO = "dibao", _("低保")
    TEKUN = "tekun", _("特困供养")
    DIBAO_EDGE = "dibao_edge", _("低保边缘")
    EXPENDITURE_HARDSHIP = "expenditure_hardship", _("支出型困难")


class HousingGrade(models.TextChoices):
    A = "A", _("A级")
    B = "B", _("B级")
    C = "C", _("C级（危房）")
    D = "D", _("D级（危房）")


class MonitoringCategory(models.TextChoices):
    UNSTABLE = "unstable", _("脱贫不稳定户")
    MARGINAL = "marginal", _("边缘易致贫户")
    SUDDEN = "sudden", _("突发严重困难户")


class MonitoringStatus(models.TextChoices):
    NONE = "", _("未纳入监测")
    IDENTIFYING = "identifying", _("识别中")
    MONITORED = "monitored", _("监测帮扶中")
    SECURED_TRACKING = "secured_tracking", _("兜底保障跟踪")
    ELIMINATED = "eliminated", _("风险已消除")


class HouseholdQuerySet(RegistryQuerySet):
    pass


class Household(models.Model):
    number = models.CharField(_("户编号"), max_length=30, unique=True)
    village = models.ForeignKey(
        "accounts.Area", verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="households"
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    address = models.CharField(_("家庭住址"), max_length=200, blank=True)
    head = models.ForeignKey(
        "Person", verbose_name=_("户主"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[validate_phone])
    #: How many people the registry lists in the household (every member, resident or not),
    #: kept by the one service that adds or moves a member, so county-wide people counts read
    #: the household rows only.
    member_count = models.PositiveSmallIntegerField(_("家庭人口数"), default=0, editable=False)
    household_type = models.CharField(
        _("户类型"), max_length=20, choices=HouseholdType.choices, default=HouseholdType.ORDINARY
    )
    no_labour_safety_net = models.BooleanField(_("整户无劳动能力兜底保障户"), default=False)
    military_family = models.BooleanField(_("军烈属"), default=False)
    relocation_settlement = models.BooleanField(_("居住在易地扶贫搬迁集中安置区"), default=False)
    relocation_address = models.CharField(_("安置区地址"), max_length=200, blank=True)
    low_income_status = models.CharField(
        _("低收入类别"), max_length=30, choices=LowIncomeStatus.choices, default="", blank=True
    )
    housing_grade = models.CharField(
        _("住房安全等级"), max_length=1, choices=HousingGrade.choices, default="A"
    )
    cultivated_land_mu = models.DecimalField(
        _("耕地面积（亩）"), max_digits=8, decimal_places=2, default=0, validators=NON_NEGATIVE_AREA
    )
    # 两不愁三保障 + 饮水安全: True = secured.
    food_clothing_secure = models.BooleanField(_("吃穿不愁"), default=True)
    compulsory_education_secure = models.BooleanField(_("义务教育有保障"), default=True)
    medical_insurance_secure = models.BooleanField(_("基本医疗有保障"), default=True)
    housing_secure = models.BooleanField(_("住房安全有保障"), default=True)
    drinking_water_secure = models.BooleanField(_("饮水安全有保障"), default=True)
    # Set only by the monitoring services.
    monitoring_status = models.CharField(
        _("监测状态"), max_length=20, choices=MonitoringStatus.choices, default="", blank=True, db_index=True
    )
    monitoring_category = models.CharField(
        _("监测对象类别"), max_length=20, choices=MonitoringCategory.choices, default="", blank=True
    )
    identified_on = models.DateField(_("识别监测时间"), null=True, blank=True)
    eliminated_on = models.DateField(_("风险消除时间"), null=True, blank=True)
    monitoring_contact = models.CharField(_("监测联系人"), max_length=50, blank=True)
    monitoring_contact_phone = models.CharField(
        _("监测联系人电话"), max_length=20, blank=True, validators=[validate_phone]
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("农户")
        verbose_name_plural = _("农户")
        ordering = ["number"]
        indexes = [models.Index(fields=["area_code", "number"]), models.Index(fields=["household_type"])]

    def __str__(self) -> str:
        return f"{self.number}"

    @property
    def guarantees_secure(self) -> bool:
        return all(
            (
                self.food_clothing_secure,
                self.compulsory_education_secure,
                self.medical_insurance_secure,
                self.housing_secure,
                self.drinking_water_secure,
            )
        )

    @property
    def phone_masked(self) -> str:
        return idnumber.mask_phone(self.phone)


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    PARENT = "parent", _("父母")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", _("健康")
    CHRONIC = "chronic", _("长期慢性病")
    SERIOUS = "serious", _("患有大病")
    OTHER = "other", _("其他")


class Disability(models.TextChoices):
    NONE = "", _("无")
    GENERAL = "general", _("一般残疾")
    SEVERE = "severe", _("重度残疾")


class LabourCapacity(models.TextChoices):
    NORMAL = "normal", _("普通劳动力")
    SKILLED = "skilled", _("技能劳动力")
    WEAK = "weak", _("弱劳动力或半劳动力")
    NONE = "none", _("无劳动力")
    LOST = "lost", _("丧失劳动力")


ABLE_TO_WORK = (LabourCapacity.NORMAL, LabourCapacity.SKILLED, LabourCapacity.WEAK)


class SchoolStatus(models.TextChoices):
    NONE = "", _("非在校生")
    PRESCHOOL = "preschool", _("学前教育")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("普通高中")
    SECONDARY_VOCATIONAL = "secondary_vocational", _("中职")
    HIGHER_VOCATIONAL = "higher_vocational", _("高职高专")
    UNDERGRADUATE = "undergraduate", _("本科及以上")
    DROPPED_OUT = "dropped_out", _("失学辍学")


class PersonQuerySet(RegistryQuerySet):
    area_field = "household__area_code"
    household_field = "household_id"


class Person(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("所在户"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(
        _("公民身份号码"), max_length=18, unique=True, validators=[validate_id_number]
    )
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, editable=False)
    birth_date = models.DateField(_("出生日期"), editable=False)
    relation = models.CharField(
        _("与户主关系"), max_length=20, choices=Relation.choices, default=Relation.OTHER
    )
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True, default="汉族")
    is_resident = models.BooleanField(_("家庭常住人口"), default=True)
    health_status = models.CharField(
        _("健康状况"), max_length=20, choices=HealthStatus.choices, default=HealthStatus.HEALTHY
    )
    disability = models.CharField(
        _("残疾情况"), max_length=10, choices=Disability.choices, default="", blank=True
    )
    labour_capacity = models.CharField(
        _("劳动技能"), max_length=10, choices=LabourCapacity.choices, default=LabourCapacity.NORMAL
    )
    school_status = models.CharField(
        _("在校生情况"), max_length=30, choices=SchoolStatus.choices, default="", blank=True
    )
    school_grade = models.PositiveSmallIntegerField(_("年级"), null=True, blank=True)
    basic_medical_insurance = models.BooleanField(_("参加城乡居民（职工）基本医疗保险"), default=True)
    serious_illness_insurance = models.BooleanField(_("参加大病保险"), default=True)
    commercial_insurance = models.BooleanField(_("参加商业补充医疗保险"), default=False)
    pension_insurance = models.BooleanField(_("参加基本养老保险"), default=True)
    migrant_worker = models.BooleanField(_("外出务工"), default=False)
    work_place = models.CharField(_("务工所在地"), max_length=100, blank=True)
    work_months = models.PositiveSmallIntegerField(_("务工时间（月）"), default=0)
    public_welfare_job = models.BooleanField(_("公益性岗位"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["household_id", "id"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Normalise the ID number and derive birth date and sex from it."""
        if self.id_number:
            try:
                info = idnumber.parse(self.id_number)
            except idnumber.IDNumberError as exc:
                raise ValidationError({"id_number": exc.message}) from None
            self.id_number = info.number
            self.birth_date = info.birth_date
            self.sex = info.sex

    @property
    def id_number_masked(self) -> str:
        return idnumber.mask(self.id_number)

    @property
    def able_to_work(self) -> bool:
        return self.labour_capacity in ABLE_TO_WORK


class IncomeRecordQuerySet(RegistryQuerySet):
    area_field = "household__area_code"
    household_field = "household_id"


class IncomeRecord(models.Model):
    """A household's income and expenditure for one year (收支情况)."""

    household = models.ForeignKey(
        Household, verbose_name=_("农户"), on_delete=models.CASCADE, related_name="incomes"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    wages = models.DecimalField(_("工资性收入"), default=0, validators=NON_NEGATIVE, **MONEY)
    business = models.DecimalField(_("生产经营性收入"), default=0, validators=NON_NEGATIVE, **MONEY)
    property_income = models.DecimalField(_("财产性收入"), default=0, validators=NON_NEGATIVE, **MONEY)
    transfer = models.DecimalField(_("转移性收入"), default=0, validators=NON_NEGATIVE, **MONEY)
    business_expenditure = models.DecimalField(
        _("生产经营性支出"), default=0, validators=NON_NEGATIVE, **MONEY
    )
    insurance_payout = models.DecimalField(_("家庭理赔收入"), default=0, validators=NON_NEGATIVE, **MONEY)
    compliant_medical_spending = models.DecimalField(
        _("合规自付支出"), default=0, validators=NON_NEGATIVE, **MONEY
    )
    # Computed by services.income_record_set, never typed in.
    members = models.PositiveSmallIntegerField(_("家庭常住人口数"), default=0, editable=False)
    net_income = models.DecimalField(_("家庭纯收入"), default=0, editable=False, **MONEY)
    per_capita_net_income = models.DecimalField(
        _("人均纯收入"), null=True, blank=True, editable=False, **MONEY
    )
    recorded_on = models.DateField(_("采集日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    history = HistoricalRecords()
    objects = IncomeRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("收支情况")
        verbose_name_plural = _("收支情况")
        ordering = ["household_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["household", "year"], name="income_one_per_household_year")
        ]
        indexes = [models.Index(fields=["year", "per_capita_net_income"])]

    def __str__(self) -> str:
        return f"{self.household} {self.year}"


class Helper(models.Model):
    """A person responsible for helping households (帮扶责任人)."""

    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    political_status = models.CharField(_("政治面貌"), max_length=20, blank=True)
    unit = models.CharField(_("帮扶（选派）单位"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True, validators=[validate_phone])
    county = models.ForeignKey(
        "accounts.Area", verbose_name=_("所在县"), on_delete=models.PROTECT, related_name="helpers"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="helper_profile",
    )
    village = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("所驻村"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resident_helpers",
        help_text=_("帮扶人常驻或包联的村；批量结对时先结对本村农户，再结对同镇最近的村。"),
    )
    left_on = models.DateField(
        _("离岗日期"),
        null=True,
        blank=True,
        help_text=_("离岗后不再结对；其帮扶户改由他人帮扶，走访记录保留。"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("帮扶责任人")
        verbose_name_plural = _("帮扶责任人")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AssignmentKind(models.TextChoices):
    RESPONSIBLE = "responsible", _("帮扶责任人")
    CONTACT = "contact", _("帮扶联系人")
    DOCTOR = "doctor", _("签约医生")
    OTHER = "other", _("其他帮扶力量")


class HelperAssignmentQuerySet(RegistryQuerySet):
    area_field = "household__area_code"
    household_field = "household_id"

    def active(self, on=None):
        from django.utils import timezone

        on = on or timezone.localdate()
        return self.filter(start_date__lte=on).filter(Q(end_date__isnull=True) | Q(end_date__gte=on))


class HelperAssignment(models.Model):
    helper = models.ForeignKey(
        Helper, verbose_name=_("帮扶人"), on_delete=models.PROTECT, related_name="assignments"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("农户"), on_delete=models.CASCADE, related_name="helper_assignments"
    )
    kind = models.CharField(
        _("帮扶角色"), max_length=20, choices=AssignmentKind.choices, default="responsible"
    )
    start_date = models.DateField(_("帮扶开始时间"))
    end_date = models.DateField(_("帮扶结束时间"), null=True, blank=True)
    history = HistoricalRecords()
    objects = HelperAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("帮扶关系")
        verbose_name_plural = _("帮扶关系")
        ordering = ["-start_date"]
        indexes = [
            models.Index(fields=["household", "end_date"]),
            models.Index(fields=["helper", "end_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.helper} → {self.household}"

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("结束时间不能早于开始时间。")})


from .models_imports import ImportColumnMapping, ImportJob, ImportLayout, ImportState  # noqa: E402,F401
