"""Areas and users for tests, where they are not the subject of the test."""

from __future__ import annotations

import itertools

from accounts.models import Area, AreaLevel, User

_seq = itertools.count(1)


def sequence() -> int:
    """The next number of the one counter every test factory takes unique numbers from."""
    return next(_seq)


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
        username=username or f"{role}{sequence()}", password="pass-12345", role=role, **extra
    )
    if areas:
        u.areas.set(areas)
    return u
