"""Default reference data, from ``docs/domain.md`` and the seeds (Yangyuan first).

Loaded by a data migration; everything here is then data an operator edits in the admin.
The must/optional/forbidden lists and the step time limits are starting values built from
the national consistency rules (domain §3.3) and Yangyuan's practice; a county replaces them
with its own.
"""

from __future__ import annotations

from decimal import Decimal

DEPARTMENTS = [
    ("education", "教育局"),
    ("civil_affairs", "民政局"),
    ("medical_insurance", "医疗保障局"),
    ("health", "卫生健康局"),
    ("housing", "住房和城乡建设局"),
    ("water", "水务局"),
    ("human_resources", "人力资源和社会保障局"),
    ("disabled_federation", "残疾人联合会"),
    ("emergency", "应急管理局"),
    ("public_security", "公安局"),
    ("agriculture", "农业农村局"),
    ("finance", "财政局"),
]

# code, name, parent code, needs subtype, green channel
RISK_TYPES = [
    ("01", "因病", None, False, False),
    ("02", "因自然灾害", None, True, True),
    ("0201", "洪涝灾害", "02", False, True),
    ("0202", "地质灾害", "02", False, True),
    ("0203", "旱灾", "02", False, True),
    ("0204", "生物灾害", "02", False, True),
    ("0205", "气象灾害", "02", False, True),
    ("0206", "地震灾害", "02", False, True),
    ("0299", "其他自然灾害", "02", False, True),
    ("03", "因残", None, False, False),
    ("04", "因缺劳动力", None, False, False),
    ("05", "因意外事故", None, False, True),
    ("06", "因产业（项目）失败", None, False, False),
    ("07", "因务工就业不稳", None, False, False),
    ("09", "因学", None, False, False),
    ("10", "住房安全", None, False, False),
    ("11", "饮水安全", None, False, False),
    ("99", "其他", None, False, False),
]

# code, name, kind
CATEGORIES = [
    ("100A39", "产业帮扶", "development"),
    ("100A40", "就业帮扶", "development"),
    ("100A41", "金融帮扶", "development"),
    ("100A42", "公益岗位帮扶", "development"),
    ("100A45", "健康帮扶", "security"),
    ("100A46", "义务教育保障", "security"),
    ("100A47", "其他教育帮扶", "security"),
    ("100A48", "综合保障", "security"),
    ("100A50", "住房安全保障", "security"),
    ("100A51", "饮水安全保障", "security"),
    ("100A52", "社会帮扶", "other"),
    ("100A53", "搬迁", "other"),
    ("100A54", "生产生活条件改善", "other"),
    ("100A55", "基础设施建设", "other"),
]

# code, name, category code, department code (None = village/township itself), description
MEASURES = [
    ("M0101", "产业发展补贴", "100A39", "agriculture", "种养殖等到户产业奖补"),
    ("M0102", "农业技术指导", "100A39", "agriculture", "技术员上门指导"),
    ("M0103", "产业项目入股分红", "100A39", "agriculture", "资产收益分红"),
    ("M0104", "消费帮扶", "100A39", "agriculture", "832平台等帮助销售农产品"),
    ("M0105", "产业技术培训", "100A39", "agriculture", ""),
    ("M0106", "光伏收益分配", "100A39", "agriculture", ""),
    ("M0201", "外出务工交通补贴", "100A40", "human_resources", "跨省务工一次性交通补助"),
    ("M0202", "职业技能培训", "100A40", "human_resources", ""),
    ("M0203", "就业岗位推荐", "100A40", "human_resources", ""),
    ("M0204", "稳岗就业奖补", "100A40", "human_resources", ""),
    ("M0205", "帮扶车间就近就业", "100A40", "human_resources", ""),
    ("M0301", "脱贫人口小额信贷", "100A41", "finance", "5万元以下、3年以内、免担保免抵押"),
    ("M0302", "防止返贫致贫综合保险", "100A41", "finance", "防贫保险"),
    ("M0401", "乡村公益性岗位", "100A42", "human_resources", ""),
    ("M0402", "生态护林员岗位", "100A42", "agriculture", ""),
    ("M0501", "城乡居民医保参保资助", "100A45", "medical_insurance", ""),
    ("M0502", "医疗救助", "100A45", "medical_insurance", ""),
    ("M0503", "大病专项救治", "100A45", "health", ""),
    ("M0504", "家庭医生签约服务", "100A45", "health", ""),
    ("M0505", "门诊慢特病保障", "100A45", "medical_insurance", ""),
    ("M0601", "控辍保学", "100A46", "education", ""),
    ("M0602", "义务教育阶段生活补助", "100A46", "education", ""),
    ("M0603", "送教上门", "100A46", "education", "重度残疾儿童"),
    ("M0701", "雨露计划", "100A47", "agriculture", "中职、高职在校生补助"),
    ("M0702", "普通高中（中职）国家助学金", "100A47", "education", ""),
    ("M0703", "生源地信用助学贷款", "100A47", "education", ""),
    ("M0801", "最低生活保障", "100A48", "civil_affairs", ""),
    ("M0802", "特困人员救助供养", "100A48", "civil_affairs", ""),
    ("M0803", "临时救助", "100A48", "civil_affairs", ""),
    ("M0804", "残疾人两项补贴", "100A48", "disabled_federation", "困难残疾人生活补贴和重度残疾人护理补贴"),
    ("M0805", "城乡居民养老保险代缴", "100A48", "human_resources", ""),
    ("M0806", "受灾群众生活救助", "100A48", "emergency", ""),
    ("M0901", "农村危房改造", "100A50", "housing", "C、D级危房"),
    ("M0902", "住房安全鉴定", "100A50", "housing", ""),
    ("M1001", "农村饮水安全工程", "100A51", "water", ""),
    ("M1002", "水质检测与净化", "100A51", "water", ""),
    ("M1101", "社会爱心捐助", "100A52", None, ""),
    ("M1102", "结对帮扶慰问", "100A52", None, ""),
    ("M1201", "易地搬迁安置", "100A53", "agriculture", ""),
    ("M1202", "搬迁后续扶持", "100A53", "agriculture", ""),
    ("M1301", "人居环境改善", "100A54", "agriculture", "卫生厕所改造等"),
    ("M1302", "生产条件改善", "100A54", "agriculture", ""),
    ("M1401", "入户道路硬化", "100A55", None, ""),
]

# risk code -> {level: [measure codes]}; subtypes of 02 follow 02.
RULES = {
    # No must-use measure for illness: the seeds' illness plans go through the safety net
    # (Yangyuan, 孙海青: 低保, 临时救助, 防贫保险, 雨露计划, 公益岗位), not one fixed measure.
    "01": {"optional": ["M0504", "M0501", "M0502", "M0503", "M0505", "M0801", "M0803", "M0302"]},
    "02": {"must": ["M0806"], "optional": ["M0803", "M0302", "M0901", "M0101"]},
    "03": {"must": ["M0804"], "optional": ["M0801", "M0603", "M0401", "M0504"]},
    "04": {"optional": ["M0801", "M0802", "M0805", "M0103"], "forbidden": ["M0201", "M0203", "M0202"]},
    "05": {"must": ["M0803"], "optional": ["M0302", "M0502", "M0401"]},
    "06": {"optional": ["M0101", "M0102", "M0105", "M0301", "M0104"]},
    "07": {"optional": ["M0201", "M0202", "M0203", "M0204", "M0205", "M0401"], "forbidden": ["M0802"]},
    "09": {"optional": ["M0601", "M0602", "M0701", "M0702", "M0703"]},
    "10": {"must": ["M0901"], "optional": ["M0902", "M1201"]},
    # Water: a water-supply project or a purification device (Pingdu 2020: 81 single-village
    # supplies got purification), either one.
    "11": {"optional": ["M1001", "M1002"]},
}

# risk code -> (rule name, [category codes]): at least one measure of these categories.
REQUIREMENTS = [
    ("01", "因病须有健康帮扶、社会帮扶或综合保障措施", ["100A45", "100A52", "100A48"]),
    ("09", "因学须有教育帮扶、义务教育保障或社会帮扶措施", ["100A46", "100A47", "100A52"]),
    ("03", "因残须有综合保障或健康帮扶措施", ["100A48", "100A45"]),
    # Asset income (产业项目入股分红) counts: Pingdu distributes project income to ~500
    # households without labour (2024).
    ("04", "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施", ["100A48", "100A42", "100A39"]),
]

#: Risk types whose single-risk households get "point-to-point" measures and may go without a
#: development measure (Yangyuan: "对住房、饮水安全等风险单一的采取点对点针对性政策帮扶").
POINT_TO_POINT = ["10", "11"]

#: Starting values changed since the first release, (old, new), applied to county-less rows an
#: operator has not edited (see :func:`update_plan_rules`).
CHANGED_RULES = [
    (("01", "M0504", "must"), ("01", "M0504", "optional")),
    (("11", "M1001", "must"), ("11", "M1001", "optional")),
]
CHANGED_REQUIREMENTS = [
    (
        ("04", "因缺劳动力须有综合保障或公益岗位措施", ["100A48", "100A42"]),
        ("04", "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施", ["100A48", "100A42", "100A39"]),
    ),
]

THRESHOLDS = [
    (2019, "5000", "湖南县级标准（domain.md §1.2）"),
    (2020, "4000", "约为扶贫标准1.5倍（国务院扶贫办，domain.md §1.2）"),
    (2022, "7000", "安徽固镇（domain.md §1.2）"),
    (2023, "7500", "参考值（domain.md §1.2）"),
    (2024, "8500", "江西南康（domain.md §1.2）"),
    (2025, "8800", "部分省份参考值，请按本省标准修改（domain.md §1.2）"),
    (2026, "8800", "沿用上年参考值，请按本省当年标准修改"),
]

# (code, name, kind, role, level, days, waits_for codes)
OVERLAPPED = [
    (
        "home_verification",
        "入户核查核实（农户承诺授权）",
        "home_verification",
        "village_cadre",
        "village",
        3,
        [],
    ),
    (
        "data_comparison",
        "县级信息比对",
        "data_comparison",
        "county_approver",
        "county",
        5,
        ["home_verification"],
    ),
    (
        "village_review",
        "村级民主评议",
        "village_review",
        "village_cadre",
        "village",
        2,
        ["home_verification"],
    ),
    ("village_notice", "村级公示", "village_notice", "village_cadre", "village", 7, ["village_review"]),
    (
        "township_review",
        "乡镇核查初审",
        "township_review",
        "township_reviewer",
        "township",
        5,
        ["home_verification"],
    ),
    (
        "county_approval",
        "县级审定",
        "county_approval",
        "county_approver",
        "county",
        3,
        ["data_comparison", "village_notice", "township_review"],
    ),
]
SERIAL = [
    (
        "home_verification",
        "入户核查核实（农户承诺授权）",
        "home_verification",
        "village_cadre",
        "village",
        7,
        [],
    ),
    (
        "village_review",
        "村级民主评议",
        "village_review",
        "village_cadre",
        "village",
        3,
        ["home_verification"],
    ),
    ("village_notice", "村级公示", "village_notice", "village_cadre", "village", 7, ["village_review"]),
    (
        "township_review",
        "乡镇审核",
        "township_review",
        "township_reviewer",
        "township",
        5,
        ["village_notice"],
    ),
    (
        "data_comparison",
        "县级信息比对",
        "data_comparison",
        "county_approver",
        "county",
        5,
        ["township_review"],
    ),
    ("county_approval", "县级审定", "county_approval", "county_approver", "county", 3, ["data_comparison"]),
]
EXIT = [
    (
        "home_verification",
        "入户核查（不少于2名干部）",
        "home_verification",
        "village_cadre",
        "village",
        5,
        [],
    ),
    (
        "village_review",
        "村级民主评议",
        "village_review",
        "village_cadre",
        "village",
        3,
        ["home_verification"],
    ),
    ("village_notice", "村级公示", "village_notice", "village_cadre", "village", 9, ["village_review"]),
    (
        "township_review",
        "乡镇审核验收",
        "township_review",
        "township_reviewer",
        "township",
        5,
        ["village_notice"],
    ),
    (
        "county_approval",
        "县级审定公告",
        "county_approval",
        "county_approver",
        "county",
        3,
        ["township_review"],
    ),
]
PROCEDURES = [
    (
        "阳原县叠加识别程序（15天）",
        "identification",
        "入户核查后，乡镇核查与村级评议同步；村级公示与乡镇审核、县级比对同步，全程15天办结。",
        OVERLAPPED,
    ),
    (
        "串联识别程序（30天）",
        "identification",
        "入户核查、村级评议公示、乡镇审核、县级比对审定依次进行。",
        SERIAL,
    ),
    ("风险消除程序", "exit", "入户核查、民主评议、公示7天、乡镇审核验收、县级审定公告。", EXIT),
]


def load(apps) -> None:  # noqa: C901 - one straight pass over the tables above
    """Create the defaults (idempotent: existing codes are left as the operator set them)."""
    Department = apps.get_model("accounts", "Department")
    RiskType = apps.get_model("monitoring", "RiskType")
    MeasureCategory = apps.get_model("monitoring", "MeasureCategory")
    Measure = apps.get_model("monitoring", "Measure")
    RiskMeasureRule = apps.get_model("monitoring", "RiskMeasureRule")
    RiskCategoryRequirement = apps.get_model("monitoring", "RiskCategoryRequirement")
    IncomeThreshold = apps.get_model("monitoring", "IncomeThreshold")
    CountySettings = apps.get_model("monitoring", "CountySettings")
    ProcedureDefinition = apps.get_model("monitoring", "ProcedureDefinition")
    StepDefinition = apps.get_model("monitoring", "StepDefinition")

    departments = {}
    for code, name in DEPARTMENTS:
        departments[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
    risks = {}
    for order, (code, name, parent, needs_subtype, green) in enumerate(RISK_TYPES):
        risks[code], _ = RiskType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": risks.get(parent),
                "needs_subtype": needs_subtype,
                "green_channel": green,
                "sort_order": order,
            },
        )
    categories = {}
    for order, (code, name, kind) in enumerate(CATEGORIES):
        categories[code], _ = MeasureCategory.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "sort_order": order}
        )
    measures = {}
    for code, name, category, department, description in MEASURES:
        measures[code], _ = Measure.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": categories[category],
                "department": departments.get(department),
                "description": description,
            },
        )
    for risk, levels in RULES.items():
        for level, codes in levels.items():
            for code in codes:
                RiskMeasureRule.objects.get_or_create(
                    county=None, risk_type=risks[risk], measure=measures[code], defaults={"level": level}
                )
    for risk, name, codes in REQUIREMENTS:
        req, created = RiskCategoryRequirement.objects.get_or_create(
            county=None, risk_type=risks[risk], defaults={"name": name}
        )
        if created:
            req.categories.set([categories[c] for c in codes])
    for year, amount, source in THRESHOLDS:
        IncomeThreshold.objects.get_or_create(
            area=None, year=year, defaults={"amount": amount, "source": source}
        )

    procedures = {}
    for name, kind, description, steps in PROCEDURES:
        proc, created = ProcedureDefinition.objects.get_or_create(
            county=None, name=name, defaults={"kind": kind, "description": description}
        )
        procedures[name] = proc
        if not created:
            continue
        made = {}
        for order, (code, step_name, step_kind, role, level, days, waits) in enumerate(steps):
            made[code] = StepDefinition.objects.create(
                procedure=proc,
                code=code,
                name=step_name,
                kind=step_kind,
                actor_role=role,
                area_level=level,
                time_limit_days=days,
                sort_order=order,
            )
            made[code].waits_for.set([made[w] for w in waits])
    if not CountySettings.objects.filter(county__isnull=True).exists():
        CountySettings.objects.create(
            county=None,
            identification_procedure=procedures[PROCEDURES[0][0]],
            exit_procedure=procedures[PROCEDURES[2][0]],
        )
    mark_point_to_point(apps)


def mark_point_to_point(apps) -> None:
    """Flag the default point-to-point risk types (once the field exists; left as set after)."""
    RiskType = apps.get_model("monitoring", "RiskType")
    if "point_to_point" not in {f.name for f in RiskType._meta.get_fields()}:
        return
    RiskType.objects.filter(code__in=POINT_TO_POINT, point_to_point=False).update(point_to_point=True)


def update_plan_rules(apps) -> None:
    """Bring the county-less plan rules to the current starting values.

    A default row is changed only while it still is the old starting value and, for measure
    rules, its history shows no operator edit (only its creation); county rows are left alone.
    """
    RiskMeasureRule = apps.get_model("monitoring", "RiskMeasureRule")
    History = apps.get_model("monitoring", "HistoricalRiskMeasureRule")
    RiskCategoryRequirement = apps.get_model("monitoring", "RiskCategoryRequirement")
    MeasureCategory = apps.get_model("monitoring", "MeasureCategory")
    for (risk, measure, level), (_r, _m, new_level) in CHANGED_RULES:
        row = RiskMeasureRule.objects.filter(
            county=None, risk_type__code=risk, measure__code=measure, level=level
        ).first()
        if row is None or History.objects.filter(id=row.pk).exclude(history_type="+").exists():
            continue
        row.level = new_level
        row.save(update_fields=["level"])
    for (risk, name, codes), (_r, new_name, new_codes) in CHANGED_REQUIREMENTS:
        for req in RiskCategoryRequirement.objects.filter(county=None, risk_type__code=risk, name=name):
            if sorted(req.categories.values_list("code", flat=True)) != sorted(codes):
                continue
            req.name = new_name
            req.save(update_fields=["name"])
            req.categories.set(MeasureCategory.objects.filter(code__in=new_codes))


# Risk review rules: code, risk type code, parameter.
# Medical spending amounts follow the medical-insurance department's monthly push (domain §6:
# self-paid ≥5,000 yuan for people out of poverty, ≥20,000 for other rural people).
REVIEW_RULES = [
    ("income_below", "99", None),
    ("income_near", "99", Decimal("10")),
    ("income_drop", "99", Decimal("30")),
    ("medical_out_of_poverty", "01", Decimal("5000")),
    ("medical_other", "01", Decimal("20000")),
    ("guarantee_food_clothing", "99", None),
    ("guarantee_education", "09", None),
    ("guarantee_medical", "01", None),
    ("guarantee_housing", "10", None),
    ("guarantee_water", "11", None),
]

# Celery beat: name, task, crontab (minute, hour, day of month, month of year), description.
SCHEDULES = [
    (
        "月度台账封存（每月1日）",
        "monitoring.tasks.freeze_ledgers",
        ("30", "0", "1", "*"),
        "每月1日凌晨封存上月各县五本台账（已封存的月份跳过）。",
    ),
    (
        "风险复核（每夜）",
        "monitoring.tasks.risk_review",
        ("30", "1", "*", "*"),
        "全县农户收入与保障数据复核，生成系统预警线索。",
    ),
    (
        "集中排查任务（每日检查）",
        "monitoring.tasks.screening_campaign",
        ("0", "3", "*", "*"),
        "到达县设置的排查开始日时为全县农户生成走访任务。",
    ),
    (
        "办理时限监测（每日清晨）",
        "monitoring.tasks.deadline_watch",
        ("0", "6", "*", "*"),
        "临期与超期提醒，超期记录逐级督办。",
    ),
    (
        "走访逾期监测（每日）",
        "monitoring.tasks.visit_watch",
        ("10", "6", "*", "*"),
        "监测户帮扶责任人走访逾期提醒。",
    ),
    (
        "帮扶措施落实监测（每日）",
        "monitoring.tasks.measure_watch",
        ("20", "6", "*", "*"),
        "识别后逾期未落实帮扶措施的提醒。",
    ),
    (
        "年终风险消除评估（12月1日）",
        "monitoring.tasks.year_end_assessment",
        ("0", "2", "1", "12"),
        "列出符合与不符合风险消除条件的监测户。",
    ),
    (
        "统计看板预计算（每夜）",
        "reports.tasks.dashboard_figures",
        ("0", "4", "*", "*"),
        "计算全县及各乡镇的统计看板图表数据，看板页面读取计算结果。",
    ),
    (
        "清理过期的导出文件（每日）",
        "reports.tasks.export_cleanup",
        ("0", "4", "*", "*"),
        "删除超过保留期（EXPORT_RETENTION_HOURS）的导出文件，并把导出任务标为已过期。",
    ),
    (
        "数据质量检查（每日凌晨）",
        "monitoring.tasks.data_quality",
        ("30", "4", "*", "*"),
        "按省数据质量清洗规则筛查疑点，复查已修正的疑点。",
    ),
    (
        "紧急呼叫逐级升级（每分钟）",
        "monitoring.tasks.call_escalation",
        ("*", "*", "*", "*"),
        "按升级链的应答时限，把无人应答的一键呼叫转给下一级并通知。",
    ),
    (
        "全县识别评分（每夜）",
        "monitoring.tasks.household_scores",
        ("45", "4", "*", "*"),
        "按本县当前识别评分模型为全县农户评分，供线索研判排序和筛选。",
    ),
]


def load_all(apps) -> None:
    """Every default the migrations load, in their order: for a database emptied by
    ``manage.py flush`` (the benchmark county's ``--flush``). A loader added for a new kind of
    default goes here too."""
    load(apps)
    mark_point_to_point(apps)
    update_plan_rules(apps)
    load_review_rules(apps)
    load_english_names(apps)
    load_schedules(apps)
    load_quality_rules(apps)
    load_points_lists(apps)
    load_call_chain(apps)
    load_scoring_model(apps)


def load_review_rules(apps) -> None:
    """Default review rules (idempotent: codes an operator already has are left alone)."""
    RiskType = apps.get_model("monitoring", "RiskType")
    ReviewRule = apps.get_model("monitoring", "ReviewRule")
    risks = {r.code: r for r in RiskType.objects.all()}
    for code, risk, parameter in REVIEW_RULES:
        if risk in risks and not ReviewRule.objects.filter(county__isnull=True, code=code).exists():
            ReviewRule.objects.create(county=None, code=code, risk_type=risks[risk], parameter=parameter)


def load_schedules(apps) -> None:
    """Default beat schedules (idempotent: a schedule an operator edited keeps its times)."""
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour, day, month), description in SCHEDULES:
        if PeriodicTask.objects.filter(task=task).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day,
            month_of_year=month,
            day_of_week="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, description=description)


# English names of the defaults above, by code (procedures by their Chinese name, steps by
# procedure and step code); an operator edits them in the admin like the Chinese names.
DEPARTMENTS_EN = {
    "education": "Education Bureau",
    "civil_affairs": "Civil Affairs Bureau",
    "medical_insurance": "Healthcare Security Bureau",
    "health": "Health Commission",
    "housing": "Housing and Urban-Rural Development Bureau",
    "water": "Water Resources Bureau",
    "human_resources": "Human Resources and Social Security Bureau",
    "disabled_federation": "Disabled Persons' Federation",
    "emergency": "Emergency Management Bureau",
    "public_security": "Public Security Bureau",
    "agriculture": "Agriculture and Rural Affairs Bureau",
    "finance": "Finance Bureau",
}
RISK_TYPES_EN = {
    "01": "Illness",
    "02": "Natural disaster",
    "0201": "Flood",
    "0202": "Geological hazard",
    "0203": "Drought",
    "0204": "Pests and plant disease",
    "0205": "Severe weather",
    "0206": "Earthquake",
    "0299": "Other natural disaster",
    "03": "Disability",
    "04": "Lack of labour",
    "05": "Accident",
    "06": "Failed farm or business project",
    "07": "Unstable employment",
    "09": "Schooling costs",
    "10": "Unsafe housing",
    "11": "Unsafe drinking water",
    "99": "Other",
}
CATEGORIES_EN = {
    "100A39": "Industry support",
    "100A40": "Employment support",
    "100A41": "Financial support",
    "100A42": "Public-service jobs",
    "100A45": "Health support",
    "100A46": "Compulsory education",
    "100A47": "Other education support",
    "100A48": "Social safety net",
    "100A50": "Housing safety",
    "100A51": "Drinking water safety",
    "100A52": "Community support",
    "100A53": "Relocation",
    "100A54": "Better living and working conditions",
    "100A55": "Infrastructure",
}
MEASURES_EN = {
    "M0101": "Farm and business development subsidy",
    "M0102": "Agricultural technical guidance",
    "M0103": "Dividends from project shares",
    "M0104": "Help selling farm produce",
    "M0105": "Farming skills training",
    "M0106": "Solar power income share",
    "M0201": "Travel subsidy for migrant work",
    "M0202": "Vocational skills training",
    "M0203": "Job referral",
    "M0204": "Job retention bonus",
    "M0205": "Local job in an assistance workshop",
    "M0301": "Microcredit for households out of poverty",
    "M0302": "Anti-poverty comprehensive insurance",
    "M0401": "Rural public-service job",
    "M0402": "Forest ranger job",
    "M0501": "Help paying basic medical insurance",
    "M0502": "Medical assistance",
    "M0503": "Treatment for serious illness",
    "M0504": "Family doctor contract",
    "M0505": "Chronic and special outpatient illness cover",
    "M0601": "Keeping children in school",
    "M0602": "Living allowance for compulsory education",
    "M0603": "Home schooling",
    "M0701": "Rain and Dew Plan",
    "M0702": "National grant for senior or vocational high school",
    "M0703": "Student loan from the home county",
    "M0801": "Minimum living allowance (dibao)",
    "M0802": "Support for persons in extreme poverty",
    "M0803": "Temporary assistance",
    "M0804": "Two disability allowances",
    "M0805": "Pension insurance contributions paid",
    "M0806": "Relief for disaster victims",
    "M0901": "Dilapidated house renovation",
    "M0902": "House safety inspection",
    "M1001": "Rural drinking water project",
    "M1002": "Water testing and purification",
    "M1101": "Charitable donations",
    "M1102": "Paired support visits",
    "M1201": "Relocation and resettlement",
    "M1202": "Follow-up support after relocation",
    "M1301": "Better living environment",
    "M1302": "Better farming conditions",
    "M1401": "Paved road to the house",
}
REQUIREMENTS_EN = {
    "因病须有健康帮扶、社会帮扶或综合保障措施": (
        "Illness needs a health, community support or safety-net measure"
    ),
    "因学须有教育帮扶、义务教育保障或社会帮扶措施": (
        "Schooling costs need an education, compulsory education or community support measure"
    ),
    "因残须有综合保障或健康帮扶措施": "Disability needs a safety-net or health measure",
    "因缺劳动力须有综合保障或公益岗位措施": "Lack of labour needs a safety-net or public-service job measure",
    "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施": (
        "Lack of labour needs a safety-net, public-service job or asset-income industry measure"
    ),
}
PROCEDURES_EN = {
    "阳原县叠加识别程序（15天）": "Yangyuan overlapped identification procedure (15 days)",
    "串联识别程序（30天）": "Serial identification procedure (30 days)",
    "风险消除程序": "Risk elimination procedure",
}
STEPS_EN = {
    "阳原县叠加识别程序（15天）": {
        "home_verification": "Home verification (household consent and authorization)",
        "data_comparison": "County data comparison",
        "village_review": "Village democratic review",
        "village_notice": "Village public notice",
        "township_review": "Township check and first review",
        "county_approval": "County approval",
    },
    "串联识别程序（30天）": {
        "home_verification": "Home verification (household consent and authorization)",
        "village_review": "Village democratic review",
        "village_notice": "Village public notice",
        "township_review": "Township review",
        "data_comparison": "County data comparison",
        "county_approval": "County approval",
    },
    "风险消除程序": {
        "home_verification": "Home check (at least 2 cadres)",
        "village_review": "Village democratic review",
        "village_notice": "Village public notice",
        "township_review": "Township review and acceptance",
        "county_approval": "County approval and announcement",
    },
}


def _fill(queryset, names: dict, field: str = "code") -> None:
    for row in queryset.filter(name_en="", **{f"{field}__in": list(names)}):
        row.name_en = names[getattr(row, field)]
        row.save(update_fields=["name_en"])


def load_english_names(apps) -> None:
    """Fill the English names of the default rows (idempotent: a name an operator set is kept)."""
    _fill(apps.get_model("accounts", "Department").objects, DEPARTMENTS_EN)
    _fill(apps.get_model("monitoring", "RiskType").objects, RISK_TYPES_EN)
    _fill(apps.get_model("monitoring", "MeasureCategory").objects, CATEGORIES_EN)
    _fill(apps.get_model("monitoring", "Measure").objects, MEASURES_EN)
    _fill(apps.get_model("monitoring", "RiskCategoryRequirement").objects, REQUIREMENTS_EN, "name")
    _fill(apps.get_model("monitoring", "ProcedureDefinition").objects, PROCEDURES_EN, "name")
    StepDefinition = apps.get_model("monitoring", "StepDefinition")
    for step in StepDefinition.objects.filter(name_en="").select_related("procedure"):
        name_en = STEPS_EN.get(step.procedure.name, {}).get(step.code)
        if name_en:
            step.name_en = name_en
            step.save(update_fields=["name_en"])
    CaseStep = apps.get_model("monitoring", "CaseStep")
    copied = []
    for step in CaseStep.objects.filter(name_en="", definition__isnull=False).select_related("definition"):
        if step.definition.name_en and step.name == step.definition.name:
            step.name_en = step.definition.name_en
            copied.append(step)
    CaseStep.objects.bulk_update(copied, ["name_en"], batch_size=1000)


# The province's data-quality rules (数据质量清洗操作手册) and those that follow from the domain
# rules: code, columns involved, condition (monitoring.models.quality.QualityCondition),
# parameters, message, English message. Loaded by a data migration; an operator edits them and
# adds a county's own rows in the admin.
QUALITY_RULES = [
    (
        "1111_18",
        "人均纯收入, 识别监测时间",
        "per_capita_above_at_entry",
        {"limit": 20000, "from_year": 2023},
        "纳入监测时人均纯收入高于20000元",
        "Per-capita net income above 20,000 at entry",
    ),
    (
        "5_15_023",
        "工资性收入",
        "wages_between",
        {"min": 1, "max": 99},
        "工资性收入在1至99元之间",
        "Wage income between 1 and 99",
    ),
    (
        "3_11_010",
        "人均纯收入, 监测状态",
        "per_capita_below",
        {"limit": 4000},
        "人均纯收入低于4000元且未纳入监测",
        "Per-capita net income below 4,000 and not monitored",
    ),
    (
        "5_14_008",
        "耕地面积（亩）",
        "land_outside",
        {"min": 0, "max": 100},
        "耕地面积不在0至100亩之间",
        "Cultivated land outside 0–100 mu",
    ),
    (
        "Q01",
        "劳动技能, 整户无劳动能力兜底保障户",
        "no_labour_not_flagged",
        {},
        "全家无劳动能力的监测户未标注整户无劳动能力兜底保障",
        "No one able to work but not flagged as a no-labour safety-net household",
    ),
    (
        "Q02",
        "致贫返贫风险, 帮扶措施",
        "risk_without_measure",
        {"risk": "11", "category": "100A51"},
        "有饮水安全风险但无饮水安全保障措施",
        "A drinking-water risk without a drinking-water measure",
    ),
    (
        "Q03",
        "识别监测时间, 风险消除时间, 风险消除方式",
        "early_assistance_exit",
        {"days": 61},
        "识别后不足2个月即帮扶消除",
        "Eliminated through assistance within 2 months of identification",
    ),
    (
        "Q04",
        "识别监测时间, 消除监测时间",
        "dates_missing",
        {},
        "监测户缺少识别监测时间或消除监测时间",
        "Identification or elimination date missing",
    ),
    (
        "Q05",
        "致贫返贫风险1-5",
        "risk_count",
        {"min": 1, "max": 5},
        "风险类型不在1至5项之间",
        "Not 1 to 5 risk types",
    ),
    (
        "Q06",
        "识别监测时间, 帮扶措施",
        "no_measure_within",
        {"days": 30},
        "识别后一个月内未落实帮扶措施",
        "No assistance measure within a month of identification",
    ),
    (
        "Q07",
        "监测对象类别, 户类型",
        "category_type",
        {},
        "监测对象类别与户类型不符（脱贫不稳定户应为脱贫户，边缘易致贫户应为一般农户）",
        "Category does not match the household type",
    ),
]


def load_quality_rules(apps) -> None:
    """Default data-quality rules (idempotent: a rule an operator edited keeps its values)."""
    QualityRule = apps.get_model("monitoring", "QualityRule")
    for code, columns, condition, params, message, message_en in QUALITY_RULES:
        QualityRule.objects.get_or_create(
            county=None,
            code=code,
            defaults={
                "columns": columns,
                "condition": condition,
                "params": params,
                "message": message,
                "message_en": message_en,
            },
        )


# --- motivation points (扶志积分) ----------------------------------------------------------------
# Jiaozhou's practice: a village panel scores a household's conduct — public morals
# (社会公德), hard work and cleanliness (勤劳卫生习惯) — and the points buy daily goods at the
# village point shop. (code, name, English name, points)
CONDUCT_ITEMS = [
    ("C01", "庭院整洁、室内卫生", "Clean yard and home", 5),
    ("C02", "勤劳务工或发展生产", "Works or runs a farm or business", 10),
    ("C03", "孝老爱亲、邻里和睦", "Cares for elders, gets on with neighbours", 5),
    ("C04", "参加村内公益劳动或志愿服务", "Village public work or volunteering", 5),
    ("C05", "遵纪守法、移风易俗", "Law-abiding, thrifty weddings and funerals", 5),
    ("C06", "参加技能培训", "Attended skills training", 5),
    ("C07", "子女按时上学", "Children attend school", 5),
    ("C08", "按时参加村民会议和政策学习", "Attends village meetings and policy study", 3),
]
# (code, name, English name, unit, English unit, price in points)
SHOP_ITEMS = [
    ("G01", "食用油（5升）", "Cooking oil (5 l)", "桶", "can", 40),
    ("G02", "大米（10斤）", "Rice (5 kg)", "袋", "bag", 30),
    ("G03", "面粉（10斤）", "Flour (5 kg)", "袋", "bag", 25),
    ("G04", "洗衣粉", "Washing powder", "袋", "bag", 8),
    ("G05", "香皂", "Soap", "块", "bar", 3),
    ("G06", "毛巾", "Towel", "条", "piece", 5),
    ("G07", "牙膏", "Toothpaste", "支", "tube", 5),
    ("G08", "卫生纸", "Toilet paper", "提", "pack", 10),
]


def load_points_lists(apps) -> None:
    """The default conduct list and shop goods (idempotent: an edited row keeps its values)."""
    ConductItem = apps.get_model("monitoring", "ConductItem")
    ShopItem = apps.get_model("monitoring", "ShopItem")
    for order, (code, name, name_en, points) in enumerate(CONDUCT_ITEMS, start=1):
        ConductItem.objects.get_or_create(
            county=None,
            code=code,
            defaults={"name": name, "name_en": name_en, "points": points, "sort_order": order},
        )
    for order, (code, name, name_en, unit, unit_en, price) in enumerate(SHOP_ITEMS, start=1):
        ShopItem.objects.get_or_create(
            county=None,
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "unit": unit,
                "unit_en": unit_en,
                "price": price,
                "sort_order": order,
            },
        )


# The one-key call's default chain (Jiaozhou: the call connects in turn to the helper contact,
# the responsible helper and the paired doctor of the "1+1+1+N" team; then the village and the
# township): (position, level, minutes to acknowledge before the next hop). The seeds give the
# order, not the minutes; a county sets its own in the admin.
CALL_CHAIN = [
    (1, "helper_contact", 5),
    (2, "responsible_helper", 10),
    (3, "doctor", 10),
    (4, "village_cadre", 15),
    (5, "township", 30),
]


def load_call_chain(apps) -> None:
    """The default escalation chain (idempotent: a default row an operator edited stays)."""
    CallChainStep = apps.get_model("monitoring", "CallChainStep")
    for position, level, minutes in CALL_CHAIN:
        if not CallChainStep.objects.filter(county__isnull=True, level=level).exists():
            CallChainStep.objects.create(county=None, position=position, level=level, minutes=minutes)


# The identification score (识别定量模式, Jiaozhou). The seed names the practice (every
# indicator of a household's living quantified, points out of 100) without its tables, so
# the default bands follow the national identification criteria (domain §2: the monitoring
# line, about 1.5 times the poverty line for the marginal band; compliant out-of-pocket
# spending; 两不愁三保障 and drinking water). Each: kind, weight, [(lower, upper, points,
# label, label in English)], lower inclusive, upper exclusive, None open.
SCORING_MODEL = {
    "version": 1,
    "name": "识别定量评分（默认）",
    "name_en": "Identification score (default)",
    "note": "按家庭收支、刚性支出、劳动能力、健康、住房、两不愁三保障及饮水、赡养负担量化打分，满分100分，供审核参考。",
}
SCORING_INDICATORS = [
    (
        "income",
        "1.00",
        [
            (None, "1", 35, "低于监测线", "Below the monitoring line"),
            ("1", "1.5", 20, "监测线1至1.5倍", "1 to 1.5 times the line"),
            ("1.5", "2", 8, "监测线1.5至2倍", "1.5 to 2 times the line"),
        ],
    ),
    (
        "medical",
        "1.00",
        [
            ("0.5", None, 15, "人均合规自付达监测线一半以上", "Half the line or more per person"),
            ("0.2", "0.5", 8, "人均合规自付为监测线20%至50%", "20 to 50 % of the line per person"),
        ],
    ),
    (
        "students",
        "1.00",
        [
            ("1", "2", 5, "1名非义务教育在校生", "One student beyond compulsory schooling"),
            ("2", None, 10, "2名及以上", "Two or more"),
        ],
    ),
    (
        "labour",
        "1.00",
        [
            (None, "0.0001", 10, "无劳动能力成员", "No member able to work"),
            ("0.0001", "0.5", 5, "有劳动能力成员不足一半", "Fewer than half able to work"),
        ],
    ),
    (
        "health",
        "1.00",
        [
            ("1", "2", 5, "1人患病或残疾", "One member ill or disabled"),
            ("2", None, 10, "2人及以上患病或残疾", "Two or more ill or disabled"),
        ],
    ),
    (
        "housing",
        "1.00",
        [
            ("2", "3", 3, "B级", "Grade B"),
            ("3", None, 8, "C级或D级危房", "Unsafe (grade C or D)"),
        ],
    ),
    (
        "guarantees",
        "1.00",
        [
            ("1", "2", 5, "1项未保障", "One not secured"),
            ("2", None, 7, "2项及以上未保障", "Two or more not secured"),
        ],
    ),
    (
        "dependants",
        "1.00",
        [
            ("0.5", None, 5, "老幼成员占一半以上", "Half or more are children or elderly"),
        ],
    ),
]


def load_scoring_model(apps) -> None:
    """The default scoring model, version 1 (idempotent: an existing version 1 is kept)."""
    ScoringModel = apps.get_model("monitoring", "ScoringModel")
    ScoringIndicator = apps.get_model("monitoring", "ScoringIndicator")
    ScoringBand = apps.get_model("monitoring", "ScoringBand")
    model, created = ScoringModel.objects.get_or_create(
        county=None, version=SCORING_MODEL["version"], defaults={**SCORING_MODEL, "active": True}
    )
    if not created:
        return
    for order, (kind, weight, bands) in enumerate(SCORING_INDICATORS, start=1):
        indicator = ScoringIndicator.objects.create(
            model=model, kind=kind, weight=Decimal(weight), sort_order=order
        )
        for lower, upper, points, label, label_en in bands:
            ScoringBand.objects.create(
                indicator=indicator,
                lower=None if lower is None else Decimal(lower),
                upper=None if upper is None else Decimal(upper),
                points=points,
                label=label,
                label_en=label_en,
            )
