"""The demo's people: members whose relations, ages and sexes fit together, with valid and
unique ID numbers, schooling, health, labour capacity and insurance that fit their age."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from households import idnumber
from households.models import (
    ABLE_TO_WORK,
    Disability,
    HealthStatus,
    LabourCapacity,
    LowIncomeStatus,
    Relation,
    SchoolStatus,
)

from .tables import (
    COMPOSITION_TABLES,
    ETHNICITY_TABLE,
    SIZE_TABLE,
    SURNAME_TABLE,
    WORK_PLACE_TABLE,
    given_name,
)

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
class Member:
    relation: str
    age: int
    sex: str
    surname: str


@dataclass
class Family:
    """A household's members as they are made: the head first, then one per relation."""

    relations: tuple[str, ...]
    head: Member
    members: list[Member] = field(default_factory=list)
    spouse: Member | None = None
    main_child: Member | None = None
    child_in_law: Member | None = None
    first_parent: Member | None = None

    def __post_init__(self):
        self.members.append(self.head)


class PersonGenerator:
    """Builds a household's members and their rows; consumes ``rng`` in a fixed order."""

    def __init__(self, rng: random.Random, *, year: int, region: str, taken_ids: set[str] | None = None):
        self.rng = rng
        self.year = year
        self.ref = dt.date(year, 1, 1)  # ages are counted on 1 January of the year
        self.ids = IDNumbers(region, self.ref, taken_ids)

    def members(self) -> list[Member]:
        """Relations, ages and sexes that fit together (spouses of similar age, children
        20–36 years younger than their parents, grandchildren younger still)."""
        rng = self.rng
        size = SIZE_TABLE.pick(rng)
        relations, lo, hi, _w = COMPOSITION_TABLES[size].pick(rng)
        head_age = rng.randint(lo, hi)
        head_sex = "M" if rng.random() < (0.6 if size == 1 else 0.82) else "F"
        family = Family(relations, Member(HEAD, head_age, head_sex, SURNAME_TABLE.pick(rng)))
        for rel in relations:
            family.members.append(self._relatives[rel](self, family))
        return family.members

    def _spouse(self, f: Family) -> Member:
        gap = self.rng.randint(-3, 6)
        age = f.head.age - gap if f.head.sex == "M" else f.head.age + gap
        sex = "F" if f.head.sex == "M" else "M"
        f.spouse = Member(SPOUSE, max(20, age), sex, SURNAME_TABLE.pick(self.rng))
        return f.spouse

    def _child(self, f: Family) -> Member:
        rng = self.rng
        if f.main_child is None and ("grandchild" in f.relations or "child_in_law" in f.relations):
            age = f.head.age - rng.randint(22, 28)
        else:
            age = f.head.age - rng.randint(20, 36)
            if age < 0:
                age = rng.randint(0, max(0, f.head.age - 20))
        father = f.head if f.head.sex == "M" or f.spouse is None else f.spouse
        child = Member(CHILD, age, "M" if rng.random() < 0.52 else "F", father.surname)
        f.main_child = f.main_child or child
        return child

    def _child_in_law(self, f: Family) -> Member:
        assert f.main_child is not None
        age = max(20, f.main_child.age + self.rng.randint(-4, 4))
        sex = "F" if f.main_child.sex == "M" else "M"
        f.child_in_law = Member(CHILD_IN_LAW, age, sex, SURNAME_TABLE.pick(self.rng))
        return f.child_in_law

    def _grandchild(self, f: Family) -> Member:
        rng = self.rng
        if f.main_child is not None:
            parent_age = f.main_child.age
            father = f.main_child if f.main_child.sex == "M" or f.child_in_law is None else f.child_in_law
            surname = father.surname
        else:  # the child works away: a grandchild left with the grandparents
            parent_age = f.head.age - rng.randint(22, 28)
            surname = f.head.surname if f.head.sex == "M" or f.spouse is None else f.spouse.surname
        age = parent_age - rng.randint(20, 32)
        if age < 0:
            age = rng.randint(0, max(0, parent_age - 20))
        return Member(GRANDCHILD, age, "M" if rng.random() < 0.52 else "F", surname)

    def _parent(self, f: Family) -> Member:
        rng = self.rng
        if f.first_parent is None:
            age = min(100, f.head.age + rng.randint(20, 34))
            sex = "F" if rng.random() < 0.6 else "M"
        else:
            age = max(f.head.age + 20, min(100, f.first_parent.age + rng.randint(-4, 4)))
            sex = "F" if f.first_parent.sex == "M" else "M"
        surname = f.head.surname if sex == "M" else SURNAME_TABLE.pick(rng)
        parent = Member(PARENT, age, sex, surname)
        f.first_parent = f.first_parent or parent
        return parent

    #: How each relation of a composition is made (a method per relation).
    _relatives = {
        "spouse": _spouse,
        "child": _child,
        "child_in_law": _child_in_law,
        "grandchild": _grandchild,
        "parent": _parent,
    }

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

    def person(self, m: Member, out_of_poverty: bool) -> dict:
        """One member's row (with ``_age``, their age on 1 January, which is not a column)."""
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
            "name": m.surname + given_name(rng, info.birth_date.year, m.sex),
            "id_number": info.number,
            "sex": info.sex,
            "birth_date": info.birth_date,
            "relation": m.relation,
            "ethnicity": ETHNICITY_TABLE.pick(rng),
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
            "work_place": WORK_PLACE_TABLE.pick(rng) if migrant else "",
            "work_months": rng.randint(4, 12) if migrant else 0,
            "public_welfare_job": (
                out_of_poverty and not migrant and 35 <= age < 70 and labour in ABLE and rng.random() < 0.08
            ),
            "_age": age,  # not a column
        }
