"""The five ledgers of Yangyuan (五本台账) as selectors over the registry and the workflow.

They are views of one source of truth, never copies: a household is in the ledger its data
puts it in. The same functions serve the API's counts, the pages and the Excel exports.

1. 重点监测对象 (key monitoring subjects): households being monitored or tracked on safety-net
   support (``monitoring_status`` monitored / secured_tracking), and any household whose case
   is in the exit procedure (it stays a monitoring subject until the exit is approved).
   Households still being identified are not yet in it; eliminated ones have left it.
2. 稳定脱贫户 (stably out-of-poverty): 脱贫户 not in ledger 1.
3. 一般农户 (ordinary rural households): 一般农户 not in ledger 1.
4. 低收入群体 (low-income population): households with a low-income status (低保, 特困,
   低保边缘, 支出型困难), whichever of ledgers 1–3 they are in.
5. 预警信息 (early-warning information): the risk clues, whatever became of them.

Ledgers 1–3 partition the households: each is in exactly one of them.

Every reader is scoped by the caller's ``for_user`` and optionally narrowed to an area-code
prefix (``area``), which can only narrow the scope. :func:`ledger_counts` is two queries: one
conditional aggregate over the households, one count of the clues.
"""

from __future__ import annotations

import enum

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from households.filters import code_range_q, with_scope_range
from households.models import Household, HouseholdType, MonitoringStatus
from monitoring.models import CaseStatus, Clue, MonitoringCase


class Ledger(enum.StrEnum):
    KEY_MONITORING = "key_monitoring"
    STABLE_OUT_OF_POVERTY = "stable_out_of_poverty"
    ORDINARY = "ordinary"
    LOW_INCOME = "low_income"
    EARLY_WARNING = "early_warning"


LEDGER_LABELS = {
    Ledger.KEY_MONITORING: _("重点监测对象"),
    Ledger.STABLE_OUT_OF_POVERTY: _("稳定脱贫户"),
    Ledger.ORDINARY: _("一般农户"),
    Ledger.LOW_INCOME: _("低收入群体"),
    Ledger.EARLY_WARNING: _("预警信息"),
}

#: The ledgers whose rows are households (the fifth is clues).
HOUSEHOLD_LEDGERS = (
    Ledger.KEY_MONITORING,
    Ledger.STABLE_OUT_OF_POVERTY,
    Ledger.ORDINARY,
    Ledger.LOW_INCOME,
)
KEY_MONITORING_STATUSES = (MonitoringStatus.MONITORED, MonitoringStatus.SECURED_TRACKING)


def key_monitoring_q() -> Q:
    """Ledger 1's rule, as a condition on ``Household``."""
    exiting = MonitoringCase.objects.filter(status=CaseStatus.EXIT_IN_PROGRESS).values("household_id")
    return Q(monitoring_status__in=KEY_MONITORING_STATUSES) | Q(pk__in=exiting)


def household_ledger_q(ledger: Ledger | str) -> Q:
    """The condition that puts a household in one of the household ledgers."""
    ledger = Ledger(ledger)
    if ledger == Ledger.KEY_MONITORING:
        return key_monitoring_q()
    if ledger == Ledger.STABLE_OUT_OF_POVERTY:
        return Q(household_type=HouseholdType.OUT_OF_POVERTY) & ~key_monitoring_q()
    if ledger == Ledger.ORDINARY:
        return Q(household_type=HouseholdType.ORDINARY) & ~key_monitoring_q()
    if ledger == Ledger.LOW_INCOME:
        return ~Q(low_income_status="")
    raise ValueError(f"{ledger} is not a household ledger")


def _narrow(qs, *, user, area: str):
    # the scope and the area also as code ranges, which an index on area_code can seek to
    qs = with_scope_range(qs, user)
    return qs.filter(Q(area_code__startswith=area) & code_range_q("area_code", [area])) if area else qs


def scoped_households(*, user, area: str = "") -> QuerySet[Household]:
    """The households the user may see, narrowed to the area-code prefix ``area``."""
    return _narrow(Household.objects.for_user(user), user=user, area=area)


def scoped_clues(*, user, area: str = "") -> QuerySet[Clue]:
    return _narrow(Clue.objects.for_user(user), user=user, area=area)


def ledger_households(ledger: Ledger | str, *, user, area: str = "") -> QuerySet[Household]:
    """The rows of ledger 1–4 (unordered: the page or export orders them)."""
    return scoped_households(user=user, area=area).filter(household_ledger_q(ledger))


def ledger_clues(*, user, area: str = "") -> QuerySet[Clue]:
    """The rows of ledger 5."""
    return scoped_clues(user=user, area=area)


def ledger_counts(*, user, area: str = "") -> dict[str, int]:
    """``{ledger: count}`` for the five ledgers, plus ``"households"`` (the total, which ledgers
    1–3 add up to). Two queries."""
    aggregates = {str(ledger): Count("pk", filter=household_ledger_q(ledger)) for ledger in HOUSEHOLD_LEDGERS}
    counts = scoped_households(user=user, area=area).aggregate(households=Count("pk"), **aggregates)
    counts[str(Ledger.EARLY_WARNING)] = ledger_clues(user=user, area=area).count()
    return counts
