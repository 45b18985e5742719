"""Registry rows for tests, where they are not the subject of the test; written through the
real services."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from accounts.models import Area, User
from households import idnumber, services
from households.models import Helper, Household
from tests.accounts.factories import sequence

SHANGHAI = ZoneInfo("Asia/Shanghai")


def id_number(birth: dt.date | None = None, sex: str = "M", region: str = "130727") -> str:
    n = sequence()
    seq = (n * 2 + (1 if sex == "M" else 0)) % 1000
    return idnumber.make(region, birth or dt.date(1980, 1, 1) + dt.timedelta(days=n), seq)


def household(
    village: Area,
    *,
    members: int = 1,
    labour: list[str] | tuple[str, ...] | None = None,
    registered: dt.date | None = None,
    actor=None,
    **fields,
) -> Household:
    """A household of ``members`` people, or of one per entry of ``labour`` with that labour
    capacity; ``registered``: pretend it was registered on that day."""
    if labour is not None:
        members = len(labour)
    n = sequence()
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
    if labour is not None:
        for person, capacity in zip(hh.members.order_by("id"), labour, strict=True):
            if person.labour_capacity != capacity:
                services.person_update(actor=None, person=person, labour_capacity=capacity)
    if registered is not None:
        registered_on(hh, registered)
    return hh


def registered_on(household: Household, day: dt.date) -> Household:
    """Pretend the household was registered on ``day`` (``created_at`` is set automatically)."""
    Household.objects.filter(pk=household.pk).update(
        created_at=dt.datetime(day.year, day.month, day.day, 8, tzinfo=SHANGHAI)
    )
    household.refresh_from_db()
    return household


def helper(county: Area, user_obj: User | None = None, name: str = "王帮扶") -> Helper:
    return Helper.objects.create(name=name, county=county, user=user_obj, phone="13800000000")


def assign(helper_user: User, household: Household, start_date: dt.date) -> None:
    """Make the helper of ``helper_user`` (their ``helper_profile``) the household's
    responsible helper from ``start_date``."""
    services.helper_assign(
        actor=None, helper=helper_user.helper_profile, household=household, start_date=start_date
    )
