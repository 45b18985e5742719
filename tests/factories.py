"""Test data that is not the subject of a test. Registry rows go through the real services."""

from __future__ import annotations

import datetime as dt
import itertools

from accounts.models import Area, AreaLevel, Role, User
from households import idnumber, services
from households.models import Helper

_seq = itertools.count(1)


def area(code: str, name: str, level: str, parent: Area | None = None) -> Area:
    return Area.objects.create(code=code, name=name, level=level, parent=parent)


def county_tree() -> dict[str, Area]:
    """Hebei ⊃ Zhangjiakou ⊃ Yangyuan ⊃ 2 townships ⊃ 2 villages each."""
    province = area("130000000000", "河北省", AreaLevel.PROVINCE)
    city = area("130700000000", "张家口市", AreaLevel.CITY, province)
    county = area("130727000000", "阳原县", AreaLevel.COUNTY, city)
    t1 = area("130727100000", "西城镇", AreaLevel.TOWNSHIP, county)
    t2 = area("130727200000", "东城镇", AreaLevel.TOWNSHIP, county)
    return {
        "province": province,
        "city": city,
        "county": county,
        "t1": t1,
        "t2": t2,
        "v11": area("130727100201", "一村", AreaLevel.VILLAGE, t1),
        "v12": area("130727100202", "二村", AreaLevel.VILLAGE, t1),
        "v21": area("130727200201", "三村", AreaLevel.VILLAGE, t2),
        "v22": area("130727200202", "四村", AreaLevel.VILLAGE, t2),
    }


def user(role: str, *areas: Area, username: str | None = None, **extra) -> User:
    u = User.objects.create_user(
        username=username or f"{role}{next(_seq)}", password="pass-12345", role=role, **extra
    )
    if areas:
        u.areas.set(areas)
    return u


def id_number(birth: dt.date | None = None, sex: str = "M", region: str = "130727") -> str:
    n = next(_seq)
    seq = (n * 2 + (1 if sex == "M" else 0)) % 1000
    return idnumber.make(region, birth or dt.date(1980, 1, 1) + dt.timedelta(days=n), seq)


def household(village: Area, *, members: int = 1, actor=None, **fields):
    n = next(_seq)
    hh = services.household_create(actor=actor, number=f"H{village.code}{n:05d}", village=village, **fields)
    for i in range(members):
        services.person_add(
            actor=actor,
            household=hh,
            id_number=id_number(),
            name=f"成员{n}-{i}",
            relation="head" if i == 0 else "child",
        )
    hh.refresh_from_db()
    return hh


def helper(county: Area, user_obj: User | None = None, name: str = "王帮扶") -> Helper:
    return Helper.objects.create(name=name, county=county, user=user_obj, phone="13800000000")


__all__ = ["county_tree", "user", "household", "helper", "id_number", "Role"]
