"""Rows as dicts of model attnames: households with their members and two years of income
around the monitoring line, helpers and their assignments."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from households import income
from households.models import HouseholdType

from .areas import AreaSpec
from .people import (
    ABLE,
    CHRONIC,
    DIBAO,
    DIBAO_EDGE,
    DROPPED_OUT,
    HARDSHIP,
    NO_LOW,
    SERIOUS,
    TEKUN,
    PersonGenerator,
)
from .tables import (
    HELPER_UNITS,
    HOUSING_TABLE,
    POLITICAL_TABLE,
    SETTLEMENTS,
    SURNAME_TABLE,
    given_name,
    money,
    phone_number,
)


@dataclass
class HouseholdPlan:
    """One household's rows (dicts of attnames) before ids are given out."""

    household: dict
    persons: list[dict]  # the head first
    incomes: list[dict]
    assignment: dict | None  # a 脱贫户's helper: {"helper": index, "start_date": ...}


class Generator(PersonGenerator):
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
        super().__init__(rng, year=year, region=county_code[:6], taken_ids=taken_ids)
        self.county_code = county_code
        self.county_name = county_name
        self.thresholds = {y: float(v) for y, v in thresholds.items()}
        self.helper_cycle: HelperCycle | None = None

    # households ----------------------------------------------------------------------------

    def household(
        self, village: AreaSpec, township_name: str, seq: int, *, out_of_poverty=None
    ) -> HouseholdPlan:
        rng = self.rng
        drawn = rng.random() < 0.15
        out_of_poverty = drawn if out_of_poverty is None else out_of_poverty
        persons = [self.person(m, out_of_poverty) for m in self.members()]
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
        grade = HOUSING_TABLE.pick(rng)
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
            "phone": "" if rng.random() < 0.05 else phone_number(rng),
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
                "wages": money(wages),
                "business": money(business_net + expenditure),
                "property_income": money(prop),
                "transfer": money(transfer),
                "business_expenditure": money(expenditure),
                "insurance_payout": money(spending * rng.uniform(0.2, 0.5)) if serious else Decimal(0),
                "compliant_medical_spending": money(spending),
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
            name = SURNAME_TABLE.pick(rng) + given_name(rng, birth_year, sex)
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
                    "political_status": POLITICAL_TABLE.pick(rng),
                    "unit": unit,
                    "phone": phone_number(rng),
                }
            )
        self.helper_cycle = HelperCycle(rng, count) if count else None
        return made

    def assignment_start(self) -> dt.date:
        rng = self.rng
        return dt.date(self.year - rng.randint(1, 5), rng.randint(1, 12), rng.randint(1, 28))


class HelperCycle:
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
