"""A deterministic demo county: the area tree, households, people, income, helpers and logins.

``generate_county(households=N, seed=S)`` builds a county that looks like a real one (Yangyuan,
Hebei by default): ~10 townships, villages scaled with N, households of 1–6 people (≈2.7 on
average), valid and unique ID numbers whose birth dates fit each member's relation to the head,
two years of income spread around the year's monitoring line, helpers for the 脱贫户 and one
demo login per role.

Same seed + same N + same year ⇒ the same data: everything comes from one
``random.Random(seed)`` consumed in a fixed order (no global random, no clock, no set
iteration). Rows are built in Python (no per-row query, no per-row ``full_clean``; ID numbers
are checked with :func:`households.idnumber.parse`, per-capita income computed with
:mod:`households.income`) and written in bulk (COPY on PostgreSQL) a few thousand households at a
time (see :class:`Writer`), each row with its creation history row (django-simple-history),
all in one transaction so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import operator
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Area, AreaLevel, Department, Role, User

from . import idnumber, income
from .models import (
    ABLE_TO_WORK,
    AssignmentKind,
    Disability,
    HealthStatus,
    Helper,
    HelperAssignment,
    Household,
    HouseholdType,
    IncomeRecord,
    LabourCapacity,
    LowIncomeStatus,
    Person,
    Relation,
    SchoolStatus,
)

DEFAULT_COUNTY_CODE = "130727000000"
DEFAULT_THRESHOLD = Decimal("8800")
DEMO_PASSWORD = "demo12345"
HISTORY_REASON = "生成演示数据"
TOWNSHIPS_PER_COUNTY = 10
HOUSEHOLDS_PER_VILLAGE = 800  # target average; Yangyuan-like villages of a few hundred households
HOUSEHOLDS_PER_HELPER = 20


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    area: str | None  # "village" (first village), "township" (first township), "county" or None
    phone: str
    is_staff: bool = True
    is_superuser: bool = False
    department: str | None = None


#: One login per role, plus a superuser; all with :data:`DEMO_PASSWORD`.
DEMO_USERS = (
    DemoUser("cadre", Role.VILLAGE_CADRE, "李建军", "village", "13931300001"),
    DemoUser("helper", Role.HELPER, "王秀梅", None, "13931300002"),
    DemoUser("township", Role.TOWNSHIP_REVIEWER, "张志强", "township", "13931300003"),
    DemoUser("county", Role.COUNTY_APPROVER, "刘海燕", "county", "13931300004"),
    DemoUser(
        "dept",
        Role.DEPARTMENT,
        "赵丽娟",
        "county",
        "13931300005",
        is_staff=False,
        department="medical_insurance",
    ),
    DemoUser("operator", Role.OPERATOR, "陈晓东", "county", "13931300006"),
    DemoUser("admin", Role.OPERATOR, "孙立平", "county", "13931300007", is_superuser=True),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- names --------------------------------------------------------------------------------

PROVINCE_NAMES = {"13": "河北省"}
CITY_NAMES = {"1307": "张家口市"}
COUNTY_NAMES = {
    "130722": "张北县",
    "130723": "康保县",
    "130724": "沽源县",
    "130725": "尚义县",
    "130726": "蔚县",
    "130727": "阳原县",
    "130728": "怀安县",
    "130730": "怀来县",
    "130731": "涿鹿县",
    "130732": "赤城县",
}
#: Yangyuan's towns (1xx) and townships (2xx).
TOWNSHIP_NAMES = {
    "130727": [
        ("100", "西城镇"),
        ("101", "东城镇"),
        ("102", "化稍营镇"),
        ("103", "揣骨疃镇"),
        ("104", "东井集镇"),
        ("200", "要家庄乡"),
        ("201", "东坊城堡乡"),
        ("202", "井儿沟乡"),
        ("203", "三马坊乡"),
        ("204", "高墙乡"),
        ("205", "大田洼乡"),
        ("206", "辛堡乡"),
        ("207", "马圈堡乡"),
        ("208", "浮图讲乡"),
    ]
}
PLACE_HEADS = _words(
    "东 西 南 北 前 后 上 下 中 大 小 新 高 王 李 张 刘 赵 马 石 白 杨 柳 榆 黄 "
    "三 五 七 双 红 辛 曲 岳 韩 郭 孙 吴 罗 槐 桑 泉 沙 井 水 丰 太 平 金 青 周"
)
PLACE_TAILS = _words(
    "家庄 庄 堡 营 屯 沟 窑 坊 疃 湾 坡 梁 洼 寨 岭 台 泉 井 口 店 园 桥 河 家湾 家沟 家堡 官屯 子 城 水"
)

# Surnames, weighted roughly by frequency in northern China.
SURNAMES = (
    ("王", 90), ("李", 85), ("张", 85), ("刘", 70), ("赵", 45), ("杨", 40), ("陈", 30), ("郭", 25),
    ("马", 22), ("孙", 22), ("高", 22), ("武", 15), ("贾", 15), ("田", 15), ("史", 12), ("梁", 12),
    ("宋", 12), ("韩", 12), ("冯", 10), ("董", 10), ("吴", 10), ("周", 10), ("徐", 10), ("胡", 10),
    ("朱", 9), ("郝", 9), ("白", 9), ("任", 8), ("康", 8), ("乔", 8), ("闫", 8), ("薛", 7), ("崔", 7),
    ("范", 7), ("杜", 7), ("牛", 7), ("侯", 6), ("程", 6), ("曹", 6), ("于", 6), ("魏", 6), ("吕", 6),
    ("石", 6), ("许", 5), ("邓", 5), ("袁", 5), ("谢", 5), ("苏", 5), ("常", 5), ("岳", 5), ("安", 5),
    ("付", 4), ("姚", 4), ("尹", 4), ("霍", 4), ("申", 4), ("温", 4), ("秦", 4), ("段", 4), ("黄", 4),
    ("林", 3), ("邢", 3), ("殷", 3), ("祁", 3), ("樊", 3), ("裴", 3), ("孟", 3), ("卢", 3), ("蔡", 3),
    ("聂", 2), ("籍", 2), ("尉", 2), ("麻", 2), ("智", 2), ("甄", 2), ("褚", 2), ("阎", 2), ("翟", 2),
)  # fmt: skip
GIVEN_NAMES = {
    # (era, sex): names; era by birth year: old < 1966 ≤ mid < 1991 ≤ young
    ("old", "M"): _words(
        "建国 国庆 德胜 振华 永福 富贵 长青 志刚 玉山 文明 有才 宝山 金贵 万里 春生 满仓 来福 "
        "占魁 福生 二虎 长林 树林 庆山 成林 守义 明德 根柱 存良 玉祥 连生 凤山 锁柱 广才 长海 "
        "全福"
    ),
    ("old", "F"): _words(
        "秀英 桂兰 玉兰 凤英 淑珍 秀兰 桂英 玉梅 翠花 春花 素琴 金凤 月娥 玉珍 桂芳 秀珍 兰英 "
        "凤兰 二女 改花 巧云 银花 爱莲 存女 粉英 润梅 桂花 玉芳 俊英 美兰"
    ),
    ("mid", "M"): _words(
        "建军 志强 海军 永强 军 伟 勇 磊 刚 斌 宏伟 立新 红军 海涛 晓东 卫东 建华 国华 文斌 "
        "春雷 志军 利军 海峰 建平 鹏 涛 峰 亮 强 永军 俊峰 彦军 学军 振宇 立军"
    ),
    ("mid", "F"): _words(
        "丽 艳 红梅 丽娟 晓燕 海燕 秀梅 丽华 春梅 燕 敏 静 霞 丽萍 艳红 晓红 建英 美玲 雪梅 "
        "翠萍 海英 玉霞 彩霞 丽霞 俊梅 冬梅 爱华 淑芳 利平 慧敏"
    ),
    ("young", "M"): _words(
        "浩 宇 子轩 浩然 一鸣 俊杰 博文 梓豪 鑫 昊天 宇航 晨阳 佳豪 子豪 天宇 明轩 泽宇 浩宇 "
        "嘉诚 俊熙 皓轩 睿 思远 家乐 文博 志远 瑞 航 晨 凯"
    ),
    ("young", "F"): _words(
        "欣怡 梓涵 雨萱 诗涵 佳怡 思雨 婷 悦 雪 梦琪 可馨 紫涵 雨涵 欣妍 佳琪 一诺 子涵 若曦 "
        "语嫣 心怡 晓雪 佳慧 思琪 雅琪 文静 璐 瑶 萌 琳 娜"
    ),
}
WORK_PLACES = (
    ("北京市", 30),
    ("张家口市", 20),
    ("天津市", 8),
    ("石家庄市", 6),
    ("大同市", 6),
    ("呼和浩特市", 4),
    ("阳原县城", 16),
    ("宣化区", 6),
    ("保定市", 4),
)
PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 176 177 178 180 181 182 183 185 "
    "186 187 188 189 198 199"
)
HELPER_UNITS = _words(
    "县农业农村局 县财政局 县教育局 县卫生健康局 县民政局 县人力资源和社会保障局 县医疗保障局 "
    "县住房和城乡建设局 县水务局 县自然资源和规划局 县发展和改革局 县市场监督管理局 县税务局 "
    "县供电公司 县农村信用联社 县委组织部 县委宣传部"
)
POLITICAL_STATUS = (("中共党员", 72), ("中共预备党员", 4), ("群众", 18), ("共青团员", 4), ("民主党派", 2))
SETTLEMENTS = ("阳光社区", "幸福家园小区", "惠民新村", "安居苑", "和谐家园")
ETHNICITIES = (("汉族", 985), ("回族", 6), ("满族", 5), ("蒙古族", 4))

# Household size 1–6 (mean ≈ 2.7) and, per size, the other members' relations with the head's
# age range: (relations, head age low, head age high, weight).
SIZE_WEIGHTS = ((1, 20), (2, 32), (3, 21), (4, 16), (5, 8), (6, 3))
COMPOSITIONS = {
    1: (((), 30, 90, 1),),
    2: (
        (("spouse",), 40, 85, 70),
        (("parent",), 28, 58, 10),
        (("child",), 40, 80, 20),
    ),
    3: (
        (("spouse", "child"), 28, 62, 60),
        (("spouse", "parent"), 28, 58, 15),
        (("spouse", "grandchild"), 52, 78, 15),
        (("child", "grandchild"), 50, 82, 10),
    ),
    4: (
        (("spouse", "child", "child"), 30, 55, 55),
        (("spouse", "child", "parent"), 30, 55, 20),
        (("spouse", "child", "grandchild"), 50, 76, 25),
    ),
    5: (
        (("spouse", "child", "child_in_law", "grandchild"), 48, 75, 45),
        (("spouse", "child", "child", "parent"), 32, 55, 30),
        (("spouse", "child", "child", "child"), 32, 52, 25),
    ),
    6: (
        (("spouse", "child", "child_in_law", "grandchild", "grandchild"), 50, 76, 50),
        (("spouse", "child", "child", "parent", "parent"), 32, 55, 30),
        (("spouse", "child", "child", "child", "parent"), 34, 55, 20),
    ),
}


class _Table:
    """A weighted choice table: ``table.pick(rng)`` (one ``rng.random()`` call)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        self.items = [item for item, _w in pairs]
        self.cum = list(itertools.accumulate(w for _i, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


_SURNAMES = _Table(SURNAMES)
_SIZES = _Table(SIZE_WEIGHTS)
_COMPOSITIONS = {size: _Table([(c, c[3]) for c in options]) for size, options in COMPOSITIONS.items()}
_WORK_PLACES = _Table(WORK_PLACES)
_POLITICAL = _Table(POLITICAL_STATUS)
_ETHNICITIES = _Table(ETHNICITIES)
_HOUSING = _Table((("A", 620), ("B", 360), ("C", 15), ("D", 5)))  # C, D: 危房


def _era(birth_year: int) -> str:
    return "old" if birth_year < 1966 else ("mid" if birth_year < 1991 else "young")


def _given(rng: random.Random, birth_year: int, sex: str) -> str:
    names = GIVEN_NAMES[(_era(birth_year), sex)]
    return names[int(rng.random() * len(names))]


def _phone(rng: random.Random) -> str:
    return PHONE_PREFIXES[int(rng.random() * len(PHONE_PREFIXES))] + f"{rng.randrange(10**8):08d}"


def _money(value: float) -> Decimal:
    """Whole yuan, never negative."""
    return Decimal(max(0, round(value)))


# --- plan: areas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaSpec:
    code: str
    name: str
    level: str
    parent_code: str | None


def check_county_code(code: str) -> str:
    code = (code or "").strip()
    if (
        not (len(code) == 12 and code.isascii() and code.isdigit())
        or code[6:].strip("0")
        or code[4:6] == "00"
    ):
        raise ValueError(
            f"county code must be 12 digits with a 6-digit county part, e.g. 130727000000: {code!r}"
        )
    return code


def _place_name(rng: random.Random, taken: set[str], suffix: str) -> str:
    for _attempt in range(200):
        name = (
            PLACE_HEADS[int(rng.random() * len(PLACE_HEADS))]
            + PLACE_TAILS[int(rng.random() * len(PLACE_TAILS))]
        )
        if name + suffix not in taken:
            taken.add(name + suffix)
            return name + suffix
    name = f"第{len(taken) + 1}{suffix}"
    taken.add(name)
    return name


def plan_areas(rng: random.Random, county_code: str, households: int) -> tuple[list[AreaSpec], list[int]]:
    """The area tree, top down, and how many households each village gets (same order)."""
    province = county_code[:2] + "0" * 10
    city = county_code[:4] + "0" * 8
    specs = [
        AreaSpec(province, PROVINCE_NAMES.get(county_code[:2], "示范省"), AreaLevel.PROVINCE, None),
        AreaSpec(city, CITY_NAMES.get(county_code[:4], "示范市"), AreaLevel.CITY, province),
        AreaSpec(county_code, COUNTY_NAMES.get(county_code[:6], "示范县"), AreaLevel.COUNTY, city),
    ]
    known = TOWNSHIP_NAMES.get(county_code[:6])
    if known:
        townships = known[:TOWNSHIPS_PER_COUNTY]
    else:
        taken: set[str] = set()
        townships = [
            (f"{100 + i if i < 5 else 200 + i - 5:03d}", _place_name(rng, taken, "镇" if i < 5 else "乡"))
            for i in range(TOWNSHIPS_PER_COUNTY)
        ]
    n_villages = max(2 * len(townships), math.ceil(households / HOUSEHOLDS_PER_VILLAGE))
    per_township = _split(rng, n_villages, len(townships), minimum=1, cap=799)
    village_weights: list[float] = []
    for (suffix, name), count in zip(townships, per_township, strict=True):
        code = county_code[:6] + suffix + "000"
        specs.append(AreaSpec(code, name, AreaLevel.TOWNSHIP, county_code))
        taken = set()
        for v in range(count):
            village_code = code[:9] + f"{200 + v:03d}"
            specs.append(AreaSpec(village_code, _place_name(rng, taken, "村"), AreaLevel.VILLAGE, code))
            village_weights.append(rng.uniform(0.5, 1.5))
    sizes = _largest_remainder(households, village_weights)
    if households and sizes[0] == 0:  # the demo logins work in the first village: give it households
        donor = max(range(len(sizes)), key=lambda i: sizes[i])
        sizes[donor] -= 1
        sizes[0] += 1
    return specs, sizes


def _split(rng: random.Random, total: int, parts: int, *, minimum: int, cap: int) -> list[int]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    counts = [max(minimum, min(cap, c)) for c in _largest_remainder(total, weights)]
    return counts


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, exactly, deterministically."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- plan: people ---------------------------------------------------------------------------

# The choices as plain str values: rows go to the driver as they are.
HEAD, SPOUSE, CHILD = Relation.HEAD.value, Relation.SPOUSE.value, Relation.CHILD.value
CHILD_IN_LAW, GRANDCHILD, PARENT = (
    Relation.CHILD_IN_LAW.value,
    Relation.GRANDCHILD.value,
    Relation.PARENT.value,
)
HEALTHY, CHRONIC = HealthStatus.HEALTHY.value, HealthStatus.CHRONIC.value
SERIOUS, OTHER_HEALTH = HealthStatus.SERIOUS.value, HealthStatus.OTHER.value
NO_DISABILITY, GENERAL, SEVERE = Disability.NONE.value, Disability.GENERAL.value, Disability.SEVERE.value
NORMAL, SKILLED, WEAK = LabourCapacity.NORMAL.value, LabourCapacity.SKILLED.value, LabourCapacity.WEAK.value
NO_LABOUR, LOST = LabourCapacity.NONE.value, LabourCapacity.LOST.value
ABLE = frozenset(str(c) for c in ABLE_TO_WORK)
NOT_IN_SCHOOL, PRESCHOOL, DROPPED_OUT = (
    SchoolStatus.NONE.value,
    SchoolStatus.PRESCHOOL.value,
    SchoolStatus.DROPPED_OUT.value,
)
NO_LOW, DIBAO, TEKUN = LowIncomeStatus.NONE.value, LowIncomeStatus.DIBAO.value, LowIncomeStatus.TEKUN.value
DIBAO_EDGE, HARDSHIP = LowIncomeStatus.DIBAO_EDGE.value, LowIncomeStatus.EXPENDITURE_HARDSHIP.value


class IDNumbers:
    """Unique, valid ID numbers for one county's region code: a counter per birth date and sex.

    The ``k``-th person born on a day gets a sequence number derived from ``k`` (odd for men,
    even for women); when a day's 500 sequences are used up, the day before is taken.
    """

    def __init__(self, region: str, today: dt.date, taken: set[str] | None = None):
        self.region = region[:6]
        self.today = today
        self.taken = taken or set()
        self.counters: dict[tuple[int, str], int] = {}

    def make(self, birth: dt.date, sex: str) -> idnumber.IDInfo:
        slots = 500 if sex == "M" else 499
        while True:
            key = (birth.toordinal(), sex)
            k = self.counters.get(key, 0)
            if k < slots:
                self.counters[key] = k + 1
                n = (key[0] * 7 + k) % slots
                number = idnumber.make(self.region, birth, 2 * n + 1 if sex == "M" else 2 * n + 2)
                if number in self.taken:
                    continue
                info = idnumber.parse(number, today=self.today)
                if info.sex != sex or info.birth_date != birth:  # pragma: no cover - a bug in make()
                    raise AssertionError(number)
                return info
            birth -= dt.timedelta(days=1)


@dataclass
class HouseholdPlan:
    """One household's rows (dicts of attnames) before ids are given out."""

    household: dict
    persons: list[dict]  # the head first
    incomes: list[dict]
    assignment: dict | None  # a 脱贫户's helper: {"helper": index, "start_date": ...}


@dataclass
class _Member:
    relation: str
    age: int
    sex: str
    surname: str


class Generator:
    """Builds rows as dicts of model attnames; consumes ``rng`` in a fixed order."""

    def __init__(
        self,
        rng: random.Random,
        *,
        county_code: str,
        county_name: str,
        year: int,
        thresholds: dict[int, Decimal],
        taken_ids: set[str] | None = None,
    ):
        self.rng = rng
        self.county_code = county_code
        self.county_name = county_name
        self.year = year
        self.ref = dt.date(year, 1, 1)  # ages are counted on 1 January of the year
        self.thresholds = {y: float(v) for y, v in thresholds.items()}
        self.ids = IDNumbers(county_code[:6], self.ref, taken_ids)
        self.helper_cycle: _HelperCycle | None = None

    # people ------------------------------------------------------------------------------

    def _members(self) -> list[_Member]:
        """Relations, ages and sexes that fit together (spouses of similar age, children
        20–36 years younger than their parents, grandchildren younger still)."""
        rng = self.rng
        size = _SIZES.pick(rng)
        relations, lo, hi, _w = _COMPOSITIONS[size].pick(rng)
        head_age = rng.randint(lo, hi)
        head_sex = "M" if rng.random() < (0.6 if size == 1 else 0.82) else "F"
        head = _Member(HEAD, head_age, head_sex, _SURNAMES.pick(rng))
        members = [head]
        spouse = main_child = child_in_law = first_parent = None
        for rel in relations:
            if rel == "spouse":
                gap = rng.randint(-3, 6)
                age = head_age - gap if head_sex == "M" else head_age + gap
                spouse = _Member(SPOUSE, max(20, age), "F" if head_sex == "M" else "M", _SURNAMES.pick(rng))
                members.append(spouse)
            elif rel == "child":
                if main_child is None and ("grandchild" in relations or "child_in_law" in relations):
                    age = head_age - rng.randint(22, 28)
                else:
                    age = head_age - rng.randint(20, 36)
                    if age < 0:
                        age = rng.randint(0, max(0, head_age - 20))
                father = head if head_sex == "M" or spouse is None else spouse
                child = _Member(CHILD, age, "M" if rng.random() < 0.52 else "F", father.surname)
                members.append(child)
                main_child = main_child or child
            elif rel == "child_in_law":
                assert main_child is not None
                age = max(20, main_child.age + rng.randint(-4, 4))
                sex = "F" if main_child.sex == "M" else "M"
                child_in_law = _Member(CHILD_IN_LAW, age, sex, _SURNAMES.pick(rng))
                members.append(child_in_law)
            elif rel == "grandchild":
                if main_child is not None:
                    parent_age = main_child.age
                    father = main_child if main_child.sex == "M" or child_in_law is None else child_in_law
                    surname = father.surname
                else:  # the child works away: a grandchild left with the grandparents
                    parent_age = head_age - rng.randint(22, 28)
                    surname = head.surname if head_sex == "M" or spouse is None else spouse.surname
                age = parent_age - rng.randint(20, 32)
                if age < 0:
                    age = rng.randint(0, max(0, parent_age - 20))
                members.append(_Member(GRANDCHILD, age, "M" if rng.random() < 0.52 else "F", surname))
            elif rel == "parent":
                if first_parent is None:
                    age = min(100, head_age + rng.randint(20, 34))
                    sex = "F" if rng.random() < 0.6 else "M"
                else:
                    age = max(head_age + 20, min(100, first_parent.age + rng.randint(-4, 4)))
                    sex = "F" if first_parent.sex == "M" else "M"
                surname = head.surname if sex == "M" else _SURNAMES.pick(rng)
                parent = _Member(PARENT, age, sex, surname)
                first_parent = first_parent or parent
                members.append(parent)
        return members

    def _birth(self, age: int) -> dt.date:
        """A birth date at which one is ``age`` on 1 January of the year (so never in the future)."""
        return dt.date(self.year - age, 1, 1) - dt.timedelta(days=1 + self.rng.randrange(364))

    def _school(self, age: int) -> tuple[str, int | None]:
        rng = self.rng
        if age < 3:
            return NOT_IN_SCHOOL, None
        if age <= 5:
            return (PRESCHOOL, None) if rng.random() < 0.85 else (NOT_IN_SCHOOL, None)
        if age <= 16 and rng.random() < 0.0008:
            return DROPPED_OUT, None
        if age <= 11:
            return SchoolStatus.PRIMARY.value, age - 5
        if age <= 14:
            return SchoolStatus.JUNIOR.value, age - 11
        if age <= 17:  # 15 and 16 still count as compulsory age for the export rules: in school
            r = rng.random()
            if r < 0.62:
                return SchoolStatus.SENIOR.value, age - 14
            if r < 0.9 or age < 17:
                return SchoolStatus.SECONDARY_VOCATIONAL.value, age - 14
            return NOT_IN_SCHOOL, None
        if age <= 21:
            r = rng.random()
            if r < 0.2 and age <= 20:
                return SchoolStatus.HIGHER_VOCATIONAL.value, age - 17
            if r < 0.42:
                return SchoolStatus.UNDERGRADUATE.value, age - 17
        return NOT_IN_SCHOOL, None

    def _health(self, age: int) -> tuple[str, str]:
        r = self.rng.random()
        if age < 18:
            health = HEALTHY if r < 0.98 else (CHRONIC if r < 0.995 else SERIOUS)
        elif age < 60:
            health = HEALTHY if r < 0.88 else CHRONIC if r < 0.97 else SERIOUS if r < 0.99 else OTHER_HEALTH
        else:
            health = HEALTHY if r < 0.55 else CHRONIC if r < 0.93 else SERIOUS if r < 0.98 else OTHER_HEALTH
        d = self.rng.random()
        rate = 0.02 if age < 60 else 0.07
        disability = GENERAL if d < rate * 0.8 else (SEVERE if d < rate else NO_DISABILITY)
        return health, disability

    def _labour(self, age: int, health: str, disability: str, student: bool) -> str:
        r = self.rng.random()
        if age < 16 or student:
            return NO_LABOUR
        impaired = disability == SEVERE or health == SERIOUS
        if age < 18:
            return WEAK
        if age < 60:
            if impaired:
                return LOST
            if disability == GENERAL or health == CHRONIC:
                return WEAK if r < 0.6 else NORMAL
            return SKILLED if r < 0.18 else (NORMAL if r < 0.96 else WEAK)
        if impaired:
            return LOST
        if age < 70:
            return WEAK if r < 0.6 else (NORMAL if r < 0.85 else NO_LABOUR)
        return NO_LABOUR if r < 0.78 else WEAK

    def _person(self, m: _Member, out_of_poverty: bool) -> dict:
        rng = self.rng
        info = self.ids.make(self._birth(m.age), m.sex)
        age = idnumber.age_on(info.birth_date, self.ref)
        school, grade = self._school(age)
        student = school not in (NOT_IN_SCHOOL, DROPPED_OUT, PRESCHOOL)
        health, disability = self._health(age)
        labour = self._labour(age, health, disability, student)
        migrant = labour in (NORMAL, SKILLED) and 18 <= age < 60 and rng.random() < 0.35
        insured = rng.random() < 0.9985
        return {
            "name": m.surname + _given(rng, info.birth_date.year, m.sex),
            "id_number": info.number,
            "sex": info.sex,
            "birth_date": info.birth_date,
            "relation": m.relation,
            "ethnicity": _ETHNICITIES.pick(rng),
            "is_resident": m.relation == HEAD or rng.random() < 0.98,
            "health_status": health,
            "disability": disability,
            "labour_capacity": labour,
            "school_status": school,
            "school_grade": grade,
            "basic_medical_insurance": insured,
            "serious_illness_insurance": insured,
            "commercial_insurance": rng.random() < (0.5 if out_of_poverty else 0.08),
            "pension_insurance": age >= 16 and not student and rng.random() < 0.95,
            "migrant_worker": migrant,
            "work_place": _WORK_PLACES.pick(rng) if migrant else "",
            "work_months": rng.randint(4, 12) if migrant else 0,
            "public_welfare_job": (
                out_of_poverty and not migrant and 35 <= age < 70 and labour in ABLE and rng.random() < 0.08
            ),
            "_age": age,  # not a column
        }

    # households ----------------------------------------------------------------------------

    def household(
        self, village: AreaSpec, township_name: str, seq: int, *, out_of_poverty=None
    ) -> HouseholdPlan:
        rng = self.rng
        drawn = rng.random() < 0.15
        out_of_poverty = drawn if out_of_poverty is None else out_of_poverty
        persons = [self._person(m, out_of_poverty) for m in self._members()]
        residents = [p for p in persons if p["is_resident"]]
        able = [p for p in residents if p["labour_capacity"] in ABLE]
        head_age = persons[0]["_age"]

        r = rng.random()
        if not able and len(persons) == 1 and head_age >= 60:
            low = TEKUN if r < 0.35 else (DIBAO if r < 0.75 else NO_LOW)
        elif out_of_poverty:
            low = DIBAO if r < 0.22 else DIBAO_EDGE if r < 0.27 else HARDSHIP if r < 0.28 else NO_LOW
        else:
            low = DIBAO if r < 0.04 else DIBAO_EDGE if r < 0.06 else HARDSHIP if r < 0.065 else NO_LOW
        safety_net = not able and low in (DIBAO, TEKUN)
        grade = _HOUSING.pick(rng)
        relocated = out_of_poverty and rng.random() < 0.08
        relocation_address = (
            f"{self.county_name}{SETTLEMENTS[int(rng.random() * len(SETTLEMENTS))]}{rng.randint(1, 30)}号楼"
            if relocated
            else ""
        )
        land = Decimal(0) if rng.random() < 0.08 else Decimal(f"{rng.uniform(0.5, 4.5) * len(persons):.1f}")
        household = {
            "number": f"{village.code}{seq:04d}",
            "area_code": village.code,
            "address": relocation_address or f"{self.county_name}{township_name}{village.name}{seq}号",
            "phone": "" if rng.random() < 0.05 else _phone(rng),
            "household_type": (
                HouseholdType.OUT_OF_POVERTY if out_of_poverty else HouseholdType.ORDINARY
            ).value,
            "no_labour_safety_net": safety_net,
            "military_family": rng.random() < 0.01,
            "relocation_settlement": relocated,
            "relocation_address": relocation_address,
            "low_income_status": low,
            "housing_grade": grade,
            "cultivated_land_mu": land,
            "food_clothing_secure": rng.random() < 0.999,
            "compulsory_education_secure": not any(
                p["school_status"] == DROPPED_OUT and 6 <= p["_age"] <= 16 for p in persons
            ),
            "medical_insurance_secure": all(p["basic_medical_insurance"] for p in residents),
            "housing_secure": grade in ("A", "B"),
            "drinking_water_secure": rng.random() < 0.996,
        }
        incomes = self._incomes(residents, able, out_of_poverty, low, safety_net, land)
        assignment = None
        if out_of_poverty and self.helper_cycle is not None:
            assignment = {"helper": self.helper_cycle.next(), "start_date": self.assignment_start()}
        return HouseholdPlan(household, persons, incomes, assignment)

    def _incomes(self, residents, able, out_of_poverty, low, safety_net, land) -> list[dict]:
        """Previous and current year; per-capita net income around each year's monitoring line:
        most households well above, a few percent near or below."""
        rng = self.rng
        n = len(residents)
        at_risk = rng.random() < (0.12 if safety_net else 0.07 if out_of_poverty else 0.03)
        if at_risk:
            factor = rng.uniform(0.6, 1.15)
        else:
            median = 0.45 if out_of_poverty else 0.6
            factor = (1.1 if out_of_poverty else 1.15) + rng.lognormvariate(math.log(median), 0.55)
        elders = sum(1 for p in residents if p["_age"] >= 60)
        migrants = any(p["migrant_worker"] for p in residents)
        welfare_jobs = sum(1 for p in residents if p["public_welfare_job"])
        serious = any(p["health_status"] == SERIOUS for p in residents)
        chronic = any(p["health_status"] == CHRONIC for p in residents)
        records = []
        for year, f in ((self.year - 1, factor * rng.uniform(0.9, 1.04)), (self.year, factor)):
            target = f * self.thresholds[year] * n
            transfer = elders * rng.uniform(1700, 2300) + float(land) * rng.uniform(80, 120)
            if low == DIBAO:
                transfer += n * rng.uniform(2500, 4500)
            elif low == TEKUN:
                transfer += n * rng.uniform(7000, 9000)
            if out_of_poverty:
                prop = rng.uniform(300, 1200)  # 资产收益扶贫分红
            else:
                prop = rng.uniform(500, 3000) if rng.random() < 0.1 else 0.0
            rest = max(0.0, target - transfer - prop)
            wages = welfare_jobs * rng.uniform(6000, 9600)
            if able:
                wages += rest * (rng.uniform(0.6, 0.9) if migrants else rng.uniform(0.2, 0.6))
                wages = min(wages, max(rest, welfare_jobs * 6000.0))
            business_net = max(0.0, rest - wages)
            if 0 < wages < 100:  # export rule 5_15_023 flags wages of 1–99 yuan
                business_net, wages = business_net + wages, 0.0
            expenditure = business_net * rng.uniform(0.25, 0.6)
            spending = rng.uniform(3000, 40000) if serious else (rng.uniform(500, 4000) if chronic else 0.0)
            record = {
                "year": year,
                "wages": _money(wages),
                "business": _money(business_net + expenditure),
                "property_income": _money(prop),
                "transfer": _money(transfer),
                "business_expenditure": _money(expenditure),
                "insurance_payout": _money(spending * rng.uniform(0.2, 0.5)) if serious else Decimal(0),
                "compliant_medical_spending": _money(spending),
                "members": n,
                "recorded_on": (
                    dt.date(year, 12, rng.randint(1, 28))
                    if year < self.year
                    else dt.date(year, 6, rng.randint(1, 28))
                ),
            }
            record["net_income"] = income.net_income(
                wages=record["wages"],
                business=record["business"],
                property_income=record["property_income"],
                transfer=record["transfer"],
                business_expenditure=record["business_expenditure"],
            )
            record["per_capita_net_income"] = income.per_capita(record["net_income"], n)
            records.append(record)
        return records

    # helpers -------------------------------------------------------------------------------

    def helpers(self, count: int, township_names: list[str], first_name: str) -> list[dict]:
        """``count`` helpers; from then on each 脱贫户 made gets one of them (by index)."""
        rng = self.rng
        made = []
        for i in range(count):
            birth_year = self.year - rng.randint(24, 58)
            sex = "M" if rng.random() < 0.6 else "F"
            name = _SURNAMES.pick(rng) + _given(rng, birth_year, sex)
            if i == 0:  # the demo "helper" login
                name, sex = first_name, "F"
            if rng.random() < 0.35:
                unit = township_names[int(rng.random() * len(township_names))] + "人民政府"
            else:
                unit = self.county_name + HELPER_UNITS[int(rng.random() * len(HELPER_UNITS))][1:]
            made.append(
                {
                    "name": name,
                    "sex": sex,
                    "political_status": _POLITICAL.pick(rng),
                    "unit": unit,
                    "phone": _phone(rng),
                }
            )
        self.helper_cycle = _HelperCycle(rng, count) if count else None
        return made

    def assignment_start(self) -> dt.date:
        rng = self.rng
        return dt.date(self.year - rng.randint(1, 5), rng.randint(1, 12), rng.randint(1, 28))


class _HelperCycle:
    """Each helper takes 2–4 consecutive 脱贫户 (so mostly in one village), in order, wrapping."""

    def __init__(self, rng: random.Random, count: int):
        self.rng = rng
        self.count = count
        self.index = 0
        self.left = rng.randint(2, 4)

    def next(self) -> int:
        if self.left == 0:
            self.index = (self.index + 1) % self.count
            self.left = self.rng.randint(2, 4)
        self.left -= 1
        return self.index


# --- writing -------------------------------------------------------------------------------

_PLAIN = (models.CharField, models.TextField, models.BooleanField, models.IntegerField, models.DecimalField,
          models.DateField, models.ForeignKey)  # fmt: skip


@dataclass(frozen=True)
class _TablePlan:
    table: str
    columns: list[str]
    defaults: dict  # attname -> value, for the columns a row may leave out
    required: frozenset  # attnames every row must give
    values: Callable  # row dict -> tuple in column order
    converters: tuple  # (position, function) for values the driver cannot take as they are


class Writer:
    """Inserts rows given as dicts of attnames, with their ids handed out beforehand.

    PostgreSQL: ids from the table's sequence, rows by ``COPY``; SQLite: ids after the table's
    highest, rows by ``executemany``. (``bulk_create`` + ``bulk_history_create`` + a
    ``bulk_update`` of the heads took 2–3 times as long: model instances, ``get_db_prep_save`` on
    every value, a CASE per head; ids given out first also let the head be set in one pass.) The
    columns come from the models, and a column a row leaves out takes its field's default, so a
    new field with a default needs no change here. With ``history``, each row also gets its
    creation row ("+") in its simple-history table.
    """

    def __init__(self, *, history: bool, when: dt.datetime, reason: str = HISTORY_REASON):
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"demo data is written for PostgreSQL and SQLite, not {self.vendor}")
        self.history = history
        self.when = when
        self.reason = reason
        self.history_rows = 0
        self._plans: dict[type, _TablePlan] = {}
        self._sequences: dict[type, str] = {}

    def reserve_ids(self, model, count: int) -> list[int]:
        if count == 0:
            return []
        table, pk = model._meta.db_table, model._meta.pk.column
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                if model not in self._sequences:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
                    self._sequences[model] = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT array_agg(v) FROM (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) s",
                    [self._sequences[model], count],
                )
                return cursor.fetchone()[0]
            qn = connection.ops.quote_name
            cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")  # noqa: S608
            top = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
            return list(range(top + 1, top + 1 + count))

    def _plan(self, model) -> _TablePlan:
        """A history table's own key (``history_id``) is left to the database."""
        plan = self._plans.get(model)
        if plan is not None:
            return plan
        columns, attnames, defaults, required, converters = [], [], {}, set(), []
        for f in model._meta.concrete_fields:
            if f.primary_key and f.attname == "history_id":
                continue
            columns.append(f.column)
            attnames.append(f.attname)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                defaults[f.attname] = self.when
            elif f.primary_key:
                required.add(f.attname)
            elif f.has_default() or f.null or f.empty_strings_allowed:
                defaults[f.attname] = f.get_default()  # "" for a text field without a default
            else:
                required.add(f.attname)
            convert = self._converter(f)
            if convert is not None:
                converters.append((len(columns) - 1, convert))
        getter = operator.itemgetter(*attnames)
        plan = _TablePlan(
            table=model._meta.db_table,
            columns=columns,
            defaults=defaults,
            required=frozenset(required),
            values=getter if len(attnames) > 1 else (lambda row: (getter(row),)),
            converters=tuple(converters),
        )
        self._plans[model] = plan
        return plan

    def _converter(self, f):
        if isinstance(f, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value if self.vendor == "sqlite" else None
        if isinstance(f, _PLAIN):
            return None  # psycopg and Django's sqlite3 adapters take str, int, bool, Decimal, date
        return lambda value: f.get_db_prep_save(value, connection)

    def _write(self, model, rows: list[dict]) -> list[dict]:
        """Insert; return the rows completed with their defaults."""
        plan = self._plan(model)
        full = []
        for row in rows:
            if not plan.required <= row.keys():
                missing = ", ".join(sorted(plan.required - row.keys()))
                raise KeyError(f"{model.__name__}: no value for {missing}")
            full.append({**plan.defaults, **row})
        tuples = list(map(plan.values, full))
        if plan.converters:
            for i, values in enumerate(tuples):
                values = list(values)
                for pos, convert in plan.converters:
                    if values[pos] is not None:
                        values[pos] = convert(values[pos])
                tuples[i] = tuple(values)
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in plan.columns)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {qn(plan.table)} ({cols}) FROM STDIN") as copy:
                    for values in tuples:
                        copy.write_row(values)
            else:
                marks = ", ".join(["%s"] * len(plan.columns))
                cursor.executemany(f"INSERT INTO {qn(plan.table)} ({cols}) VALUES ({marks})", tuples)  # noqa: S608
        return full

    def insert(self, model, rows: list[dict]) -> None:
        """Write ``rows`` (each with its ``id``) and, with history, their creation history rows."""
        if not rows:
            return
        full = self._write(model, rows)
        if self.history and hasattr(model, "history"):
            extra = {
                "history_date": self.when,
                "history_change_reason": self.reason,
                "history_type": "+",
                "history_user_id": None,
            }
            self._write(model.history.model, [{**row, **extra} for row in full])
            self.history_rows += len(rows)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Summary:
    county_code: str
    seed: int
    year: int
    skipped: bool = False
    areas: int = 0
    households: int = 0
    persons: int = 0
    incomes: int = 0
    helpers: int = 0
    assignments: int = 0
    users: int = 0
    history_rows: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Every row inserted, history rows included."""
        return (
            self.areas
            + self.households
            + self.persons
            + self.incomes
            + self.helpers
            + self.assignments
            + self.users
            + self.history_rows
        )


def thresholds_for(years) -> dict[int, Decimal]:
    """The default-area monitoring line of each year (else the nearest earlier year, else 8,800)."""
    from monitoring.models import IncomeThreshold

    rows = list(
        IncomeThreshold.objects.filter(area__isnull=True).order_by("year").values_list("year", "amount")
    )
    found = {}
    for year in years:
        earlier = [amount for y, amount in rows if y <= year]
        later = [amount for y, amount in rows if y > year]
        found[year] = earlier[-1] if earlier else (later[0] if later else DEFAULT_THRESHOLD)
    return found


class _Clock:
    def __init__(self):
        self.phases: dict[str, float] = {}

    def add(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - started
        return now


def county_has_households(county_code: str) -> bool:
    return Household.objects.filter(area_code__startswith=county_code[:6]).exists()


def generate_county(
    *,
    households: int,
    seed: int = 1,
    county_code: str = DEFAULT_COUNTY_CODE,
    year: int | None = None,
    if_empty: bool = False,
    history: bool = True,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Generate a demo county (see the module docstring); returns counts and timings.

    ``if_empty``: do nothing when any household exists. Without it, a county that already has
    households is refused (its household numbers and ID numbers would collide). ``year``
    defaults to this year: income is made for it and the year before, ages count on its
    1 January.
    """
    started = time.perf_counter()
    county_code = check_county_code(county_code)
    today = timezone.localdate()
    year = year or today.year
    if not 2000 < year <= today.year:
        raise ValueError(f"year must be between 2001 and {today.year}: {year}")
    if households < 0 or batch_size < 1:
        raise ValueError("households must be ≥ 0 and batch_size ≥ 1")
    summary = Summary(county_code=county_code, seed=seed, year=year)
    if if_empty and Household.objects.exists():
        summary.skipped = True
        summary.seconds = time.perf_counter() - started
        return summary
    if county_has_households(county_code):
        raise ValueError(f"county {county_code} already has households; use --if-empty or an empty database")
    # With DEBUG on, Django keeps the SQL of the last 9,000 queries: multi-megabyte statements here.
    debug, settings.DEBUG = settings.DEBUG, False
    try:
        with transaction.atomic():
            _generate(
                summary,
                households=households,
                seed=seed,
                history=history,
                batch_size=batch_size,
                progress=progress,
            )
    finally:
        settings.DEBUG = debug
    _analyze()
    summary.seconds = time.perf_counter() - started
    return summary


def _analyze() -> None:
    """Refresh the planner's statistics after a bulk load: without them PostgreSQL still
    believes the tables are nearly empty and picks plans that read the whole county."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _generate(summary: Summary, *, households, seed, history, batch_size, progress) -> None:
    clock = _Clock()
    t = time.perf_counter()
    rng = random.Random(seed)
    county_code, year = summary.county_code, summary.year
    writer = Writer(history=history, when=timezone.now())

    # areas: the few top levels one by one, townships and villages in bulk
    specs, village_sizes = plan_areas(rng, county_code, households)
    areas = {a.code: a for a in Area.objects.filter(code__in=[s.code for s in specs])}
    for level in (
        AreaLevel.PROVINCE,
        AreaLevel.CITY,
        AreaLevel.COUNTY,
        AreaLevel.TOWNSHIP,
        AreaLevel.VILLAGE,
    ):
        new = [
            Area(
                code=s.code,
                name=s.name,
                level=s.level,
                parent=areas.get(s.parent_code) if s.parent_code else None,
            )
            for s in specs
            if s.level == level and s.code not in areas
        ]
        Area.objects.bulk_create(new, batch_size=batch_size)
        areas.update((a.code, a) for a in new)
        summary.areas += len(new)
    county = areas[county_code]
    townships = [areas[s.code] for s in specs if s.level == AreaLevel.TOWNSHIP]
    villages = [s for s in specs if s.level == AreaLevel.VILLAGE]
    village_ids = {code: a.pk for code, a in areas.items()}
    township_names = {a.code[:9]: a.name for a in townships}
    t = clock.add("areas", t)

    taken = set(
        Person.objects.filter(id_number__startswith=county_code[:6]).values_list("id_number", flat=True)
    )
    gen = Generator(
        rng,
        county_code=county_code,
        county_name=county.name,
        year=year,
        thresholds=thresholds_for((year - 1, year)),
        taken_ids=taken,
    )

    # helpers; the first is the demo "helper" login, with the first village's 脱贫户
    helper_login = next(u for u in DEMO_USERS if u.role == Role.HELPER)
    helpers = gen.helpers(
        max(1, households // HOUSEHOLDS_PER_HELPER), [a.name for a in townships], helper_login.full_name
    )
    for row, pk in zip(helpers, writer.reserve_ids(Helper, len(helpers)), strict=True):
        row["id"], row["county_id"] = pk, county.pk
    writer.insert(Helper, helpers)
    summary.helpers = len(helpers)
    t = clock.add("helpers", t)

    def plans() -> Iterator[HouseholdPlan]:
        for v_index, (village, size) in enumerate(zip(villages, village_sizes, strict=True)):
            for seq in range(1, size + 1):
                force = True if v_index == 0 and seq == 1 else None
                yield gen.household(village, township_names[village.code[:9]], seq, out_of_poverty=force)

    stream = plans()
    while chunk := list(itertools.islice(stream, batch_size)):
        t = clock.add("build", t)
        persons = [p for plan in chunk for p in plan.persons]
        incomes = [r for plan in chunk for r in plan.incomes]
        hh_ids = iter(writer.reserve_ids(Household, len(chunk)))
        person_ids = iter(writer.reserve_ids(Person, len(persons)))
        income_ids = iter(writer.reserve_ids(IncomeRecord, len(incomes)))
        assignments = []
        for plan in chunk:
            hh = plan.household
            hh["id"] = hh_id = next(hh_ids)
            hh["village_id"] = village_ids[hh["area_code"]]
            for p in plan.persons:
                p["id"], p["household_id"] = next(person_ids), hh_id
            # the head's row is written after the household's: foreign keys are checked at commit
            hh["head_id"] = plan.persons[0]["id"]
            for r in plan.incomes:
                r["id"], r["household_id"] = next(income_ids), hh_id
            if plan.assignment is not None:
                assignments.append(
                    {
                        "helper_id": helpers[plan.assignment["helper"]]["id"],
                        "household_id": hh_id,
                        "kind": AssignmentKind.RESPONSIBLE.value,
                        "start_date": plan.assignment["start_date"],
                    }
                )
        for row, pk in zip(assignments, writer.reserve_ids(HelperAssignment, len(assignments)), strict=True):
            row["id"] = pk
        t = clock.add("ids", t)
        writer.insert(Household, [plan.household for plan in chunk])
        t = clock.add("households", t)
        writer.insert(Person, persons)
        t = clock.add("persons", t)
        writer.insert(IncomeRecord, incomes)
        t = clock.add("incomes", t)
        writer.insert(HelperAssignment, assignments)
        t = clock.add("assignments", t)
        summary.households += len(chunk)
        summary.persons += len(persons)
        summary.incomes += len(incomes)
        summary.assignments += len(assignments)
        if progress:
            progress(summary.households, households)

    summary.history_rows = writer.history_rows
    first_village = areas[villages[0].code] if villages else None
    summary.users = ensure_demo_users(
        county=county, township=townships[0], village=first_village, helper_id=helpers[0]["id"]
    )
    clock.add("users", t)
    summary.phases = clock.phases


def ensure_demo_users(*, county: Area, township: Area, village: Area | None, helper_id: int | None) -> int:
    """Create the demo logins that do not exist yet (existing ones are left as they are)."""
    names = [u.username for u in DEMO_USERS]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [u for u in DEMO_USERS if u.username not in existing]
    if not missing:
        return 0
    password = make_password(DEMO_PASSWORD)  # hashed once, shared by the demo logins
    areas = {"county": county, "township": township, "village": village}
    for spec in missing:
        department = None
        if spec.department:
            department, _created = Department.objects.get_or_create(
                code=spec.department, defaults={"name": "医疗保障局"}
            )
        user = User.objects.create(
            username=spec.username,
            password=password,
            full_name=spec.full_name,
            phone=spec.phone,
            role=spec.role,
            is_staff=spec.is_staff,
            is_superuser=spec.is_superuser,
            department=department,
        )
        area = areas.get(spec.area) if spec.area else None
        if area is not None:
            user.areas.set([area])
        if spec.role == Role.HELPER and helper_id is not None:
            helper = Helper.objects.filter(pk=helper_id, user__isnull=True).first()
            if helper is not None:
                helper.user = user
                helper._change_reason = "关联演示账号"
                helper.save(update_fields=["user"])
    return len(missing)
