"""The demo's vocabulary: place, person and helper names, weights, and weighted choice tables.

Every pick consumes the generator's ``random.Random`` in a fixed way (one ``rng.random()`` per
:meth:`Table.pick`), so the same seed gives the same county.
"""

from __future__ import annotations

import bisect
import itertools
import random
from decimal import Decimal


def words(text: str) -> tuple[str, ...]:
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
PLACE_HEADS = words(
    "东 西 南 北 前 后 上 下 中 大 小 新 高 王 李 张 刘 赵 马 石 白 杨 柳 榆 黄 "
    "三 五 七 双 红 辛 曲 岳 韩 郭 孙 吴 罗 槐 桑 泉 沙 井 水 丰 太 平 金 青 周"
)
PLACE_TAILS = words(
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
    ("old", "M"): words(
        "建国 国庆 德胜 振华 永福 富贵 长青 志刚 玉山 文明 有才 宝山 金贵 万里 春生 满仓 来福 "
        "占魁 福生 二虎 长林 树林 庆山 成林 守义 明德 根柱 存良 玉祥 连生 凤山 锁柱 广才 长海 "
        "全福"
    ),
    ("old", "F"): words(
        "秀英 桂兰 玉兰 凤英 淑珍 秀兰 桂英 玉梅 翠花 春花 素琴 金凤 月娥 玉珍 桂芳 秀珍 兰英 "
        "凤兰 二女 改花 巧云 银花 爱莲 存女 粉英 润梅 桂花 玉芳 俊英 美兰"
    ),
    ("mid", "M"): words(
        "建军 志强 海军 永强 军 伟 勇 磊 刚 斌 宏伟 立新 红军 海涛 晓东 卫东 建华 国华 文斌 "
        "春雷 志军 利军 海峰 建平 鹏 涛 峰 亮 强 永军 俊峰 彦军 学军 振宇 立军"
    ),
    ("mid", "F"): words(
        "丽 艳 红梅 丽娟 晓燕 海燕 秀梅 丽华 春梅 燕 敏 静 霞 丽萍 艳红 晓红 建英 美玲 雪梅 "
        "翠萍 海英 玉霞 彩霞 丽霞 俊梅 冬梅 爱华 淑芳 利平 慧敏"
    ),
    ("young", "M"): words(
        "浩 宇 子轩 浩然 一鸣 俊杰 博文 梓豪 鑫 昊天 宇航 晨阳 佳豪 子豪 天宇 明轩 泽宇 浩宇 "
        "嘉诚 俊熙 皓轩 睿 思远 家乐 文博 志远 瑞 航 晨 凯"
    ),
    ("young", "F"): words(
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
PHONE_PREFIXES = words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 176 177 178 180 181 182 183 185 "
    "186 187 188 189 198 199"
)
HELPER_UNITS = words(
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


class Table:
    """A weighted choice table: ``table.pick(rng)`` (one ``rng.random()`` call)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        self.items = [item for item, _w in pairs]
        self.cum = list(itertools.accumulate(w for _i, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


SURNAME_TABLE = Table(SURNAMES)
SIZE_TABLE = Table(SIZE_WEIGHTS)
COMPOSITION_TABLES = {size: Table([(c, c[3]) for c in options]) for size, options in COMPOSITIONS.items()}
WORK_PLACE_TABLE = Table(WORK_PLACES)
POLITICAL_TABLE = Table(POLITICAL_STATUS)
ETHNICITY_TABLE = Table(ETHNICITIES)
HOUSING_TABLE = Table((("A", 620), ("B", 360), ("C", 15), ("D", 5)))  # C, D: 危房


def era(birth_year: int) -> str:
    return "old" if birth_year < 1966 else ("mid" if birth_year < 1991 else "young")


def given_name(rng: random.Random, birth_year: int, sex: str) -> str:
    names = GIVEN_NAMES[(era(birth_year), sex)]
    return names[int(rng.random() * len(names))]


def phone_number(rng: random.Random) -> str:
    return PHONE_PREFIXES[int(rng.random() * len(PHONE_PREFIXES))] + f"{rng.randrange(10**8):08d}"


def money(value: float) -> Decimal:
    """Whole yuan, never negative."""
    return Decimal(max(0, round(value)))
