"""The fields an import fills and the header names that find them.

Columns are found by header name, not position. Each layout has built-in names; an operator
adds more as ``ImportColumnMapping`` rows (admin), which win over the built-in ones. Both
layouts are person-per-row: the household's columns repeat on each of its members' rows and
are read from the head's row (or the first row of the household).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ..models import (
    Disability,
    HealthStatus,
    HouseholdType,
    HousingGrade,
    LabourCapacity,
    LowIncomeStatus,
    MonitoringCategory,
    Relation,
    SchoolStatus,
)


@dataclass(frozen=True)
class Field:
    key: str  # "household.number", "person.id_number", "income.wages"
    label: object  # the own template's header (translatable)
    kind: str  # text, code, bool, decimal, int, date, month, village, year, risk
    required: bool = False
    choices: type | None = None

    @property
    def target(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


class EliminationMode:
    """风险消除方式 as the national export writes it (kept as the case's exit mode elsewhere)."""

    CHOICES = (("assistance", _("帮扶消除")), ("natural", _("自然消除")))


FIELDS: tuple[Field, ...] = (
    Field("household.number", _("户编号"), "text", required=True),
    Field("household.village", _("行政区划代码"), "village", required=True),
    Field("household.address", _("家庭住址"), "text"),
    Field("household.phone", _("联系电话"), "text"),
    Field("household.household_type", _("户类型"), "code", choices=HouseholdType),
    Field("household.low_income_status", _("低收入类别"), "code", choices=LowIncomeStatus),
    Field("household.housing_grade", _("住房安全等级"), "code", choices=HousingGrade),
    Field("household.cultivated_land_mu", _("耕地面积（亩）"), "decimal"),
    Field("household.no_labour_safety_net", _("整户无劳动能力兜底保障户"), "bool"),
    Field("household.military_family", _("军烈属"), "bool"),
    Field("household.drinking_water_secure", _("饮水安全有保障"), "bool"),
    Field("household.monitoring_category", _("监测对象类别"), "code", choices=MonitoringCategory),
    Field("household.identified_on", _("识别监测时间"), "month"),
    Field("household.risk_eliminated", _("风险是否已消除"), "bool"),
    Field("household.elimination_mode", _("风险消除方式"), "code", choices=EliminationMode),
    Field("household.eliminated_on", _("消除监测时间"), "month"),
    Field("household.risk_1", _("致贫/返贫风险1"), "risk"),
    Field("household.risk_2", _("致贫/返贫风险2"), "risk"),
    Field("household.risk_3", _("致贫/返贫风险3"), "risk"),
    Field("household.risk_4", _("致贫/返贫风险4"), "risk"),
    Field("household.risk_5", _("致贫/返贫风险5"), "risk"),
    Field("household.monitoring_contact", _("监测联系人"), "text"),
    Field("household.monitoring_contact_phone", _("监测联系人电话"), "text"),
    Field("person.name", _("姓名"), "text", required=True),
    Field("person.id_number", _("证件号码"), "text", required=True),
    Field("person.relation", _("与户主关系"), "code", required=True, choices=Relation),
    Field("person.ethnicity", _("民族"), "text"),
    Field("person.is_resident", _("家庭常住人口"), "bool"),
    Field("person.health_status", _("健康状况"), "code", choices=HealthStatus),
    Field("person.disability", _("残疾情况"), "code", choices=Disability),
    Field("person.labour_capacity", _("劳动技能"), "code", choices=LabourCapacity),
    Field("person.school_status", _("在校生情况"), "code", choices=SchoolStatus),
    Field("person.migrant_worker", _("外出务工"), "bool"),
    Field("person.work_months", _("务工时间（月）"), "int"),
    Field("income.year", _("收入年度"), "year"),
    Field("income.wages", _("工资性收入"), "decimal"),
    Field("income.business", _("生产经营性收入"), "decimal"),
    Field("income.property_income", _("财产性收入"), "decimal"),
    Field("income.transfer", _("转移性收入"), "decimal"),
    Field("income.business_expenditure", _("生产经营性支出"), "decimal"),
)
BY_KEY = {f.key: f for f in FIELDS}
#: the five risk columns, in order
RISK_KEYS = tuple(f"household.risk_{n}" for n in range(1, 6))


class MonitoringSource:
    """What the registry cannot know of the monitoring columns, given by the monitoring app
    (``register_monitoring_source``): the county's risk types. The base answers "no risk types"
    (a deployment without the monitoring app refuses any value in a risk column)."""

    def risk_lookup(self) -> dict[str, str]:
        """{accepted spelling (normalized, lower case): risk type code}."""
        return {}

    def risk_names(self) -> list[str]:
        """The names offered in the own template's drop-down."""
        return []

    def in_workflow(self, ids) -> set[int]:
        """The households among ``ids`` inside a case of the workflow (not one an import made):
        their monitoring columns belong to the procedure, and an import leaves them alone."""
        return set()

    def of_households(self, ids) -> dict[int, dict]:
        """{household id: {"risks": [names], "elimination_mode": "assistance"|"natural"|""}}
        for the national export."""
        return {}


_source = MonitoringSource()


def register_monitoring_source(source: MonitoringSource) -> None:
    global _source
    _source = source


def monitoring_source() -> MonitoringSource:
    return _source


#: The national system's person-per-row export (基础信息表): its header names (several
#: spellings seen in county exports). The own template uses the fields' labels.
NATIONAL_HEADERS: dict[str, tuple[str, ...]] = {
    "household.number": ("户编号",),
    "household.village": ("行政区划代码", "村代码", "所在村代码"),
    "household.address": ("家庭住址",),
    "household.phone": ("联系电话", "户主联系电话"),
    "household.household_type": ("户类型",),
    "household.low_income_status": ("低收入类别", "是否低保/特困"),
    "household.housing_grade": ("危房等级", "住房安全等级"),
    "household.cultivated_land_mu": ("耕地面积（亩）", "耕地面积(亩)", "耕地面积"),
    "household.no_labour_safety_net": ("整户无劳动能力兜底保障户",),
    "household.military_family": ("是否军烈属", "军烈属"),
    "household.drinking_water_secure": ("饮水安全有保障", "是否解决安全饮用水"),
    "household.monitoring_category": ("监测对象类别",),
    "household.identified_on": ("识别监测时间",),
    "household.risk_eliminated": ("风险是否已消除",),
    "household.elimination_mode": ("风险消除方式",),
    "household.eliminated_on": ("消除监测时间",),
    **{
        f"household.risk_{n}": (f"致贫/返贫风险{n}", f"致贫返贫风险{n}", f"返贫致贫风险{n}", f"风险类型{n}")
        for n in range(1, 6)
    },
    "household.monitoring_contact": ("监测联系人",),
    "household.monitoring_contact_phone": ("监测联系人联系方式", "监测联系人电话"),
    "person.name": ("姓名", "成员姓名"),
    "person.id_number": ("证件号码", "公民身份号码", "身份证号码"),
    "person.relation": ("与户主关系",),
    "person.ethnicity": ("民族",),
    "person.is_resident": ("是否家庭常住人口", "家庭常住人口"),
    "person.health_status": ("健康状况",),
    "person.disability": ("残疾情况",),
    "person.labour_capacity": ("劳动技能",),
    "person.school_status": ("在校生情况", "在校生状况"),
    "person.migrant_worker": ("是否外出务工", "外出务工"),
    "person.work_months": ("务工时间（月）", "务工时间(月)"),
    "income.year": ("年度", "收入年度"),
    "income.wages": ("工资性收入", "工资性收入（元）"),
    "income.business": ("生产经营性收入", "生产经营性收入（元）"),
    "income.property_income": ("财产性收入", "财产性收入（元）"),
    "income.transfer": ("转移性收入", "转移性收入（元）"),
    "income.business_expenditure": ("生产经营性支出", "生产经营性支出（元）"),
}

#: The national column order of the export (one header per field: the first spelling).
NATIONAL_ORDER = tuple(NATIONAL_HEADERS)


def normalize_header(text) -> str:
    """Headers compared without white space and with ASCII parentheses as full-width ones."""
    value = "" if text is None else str(text)
    return "".join(value.split()).replace("(", "（").replace(")", "）")


def builtin_headers(layout: str) -> dict[str, str]:
    """{normalized header: field key} built into ``layout``."""
    from django.utils import translation

    found: dict[str, str] = {}
    if layout == "national":
        for key, names in NATIONAL_HEADERS.items():
            for name in names:
                found.setdefault(normalize_header(name), key)
    else:
        for field in FIELDS:
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    found.setdefault(normalize_header(str(field.label)), field.key)
    return found


def headers(layout: str) -> dict[str, str]:
    """The built-in names of ``layout`` with the operator's rows over them."""
    from ..models import ImportColumnMapping

    found = builtin_headers(layout)
    for header, key in ImportColumnMapping.objects.filter(layout=layout).values_list("header", "field"):
        if key in BY_KEY:
            found[normalize_header(header)] = key
    return found


def code_lookup(choices) -> dict[str, str]:
    """{accepted spelling: stored value} for a code list: the value itself, its Chinese and
    English names, and the national export's words for the same thing."""
    from django.utils import translation

    items = choices.choices if hasattr(choices, "choices") else choices.CHOICES
    found: dict[str, str] = {}
    for value, label in items:
        found[normalize_header(value).lower()] = value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                found[normalize_header(str(label)).lower()] = value
    for spelling, value in SYNONYMS.get(getattr(choices, "__name__", ""), {}).items():
        found[normalize_header(spelling).lower()] = value
    return found


#: Words of the national export for our codes (its tables 1010, 100A13, 100A14, 100A12).
SYNONYMS: dict[str, dict[str, str]] = {
    "Relation": {
        "本人": "head",
        "之妻": "spouse",
        "之夫": "spouse",
        "妻": "spouse",
        "夫": "spouse",
        "之子": "child",
        "之女": "child",
        "子": "child",
        "女": "child",
        "儿子": "child",
        "女儿": "child",
        "之儿媳": "child_in_law",
        "之女婿": "child_in_law",
        "儿媳": "child_in_law",
        "女婿": "child_in_law",
        "之孙子": "grandchild",
        "之孙女": "grandchild",
        "之外孙子": "grandchild",
        "之外孙女": "grandchild",
        "孙子": "grandchild",
        "孙女": "grandchild",
        "之父": "parent",
        "之母": "parent",
        "父亲": "parent",
        "母亲": "parent",
        "之祖父": "grandparent",
        "之祖母": "grandparent",
        "之兄弟": "sibling",
        "之姐妹": "sibling",
        "兄弟": "sibling",
        "姐妹": "sibling",
        "其他": "other",
    },
    "HealthStatus": {
        "一般(长病)": "chronic",
        "长期慢性病": "chronic",
        "患大病": "serious",
        "大病": "serious",
    },
    "LabourCapacity": {"弱劳动力": "weak", "半劳动力": "weak"},
    "HouseholdType": {"脱贫户（含监测户）": "out_of_poverty"},
    "LowIncomeStatus": {"": "", "否": ""},
}
