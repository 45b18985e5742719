"""Per-capita net income (家庭年人均纯收入), computed, never typed in. Pure functions.

net = wages + business + property + transfers − business expenditure
per-capita = net ÷ resident members

At identification a county may also count insurance payouts (理赔收入) as income and take
compliant out-of-pocket spending (合规自付支出, mainly medical) off it; that is a county
setting (``deduct_medical``), off for the headline figure.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def net_income(
    *,
    wages=0,
    business=0,
    property_income=0,
    transfer=0,
    business_expenditure=0,
    insurance_payout=0,
    compliant_medical_spending=0,
    deduct_medical: bool = False,
) -> Decimal:
    net = _d(wages) + _d(business) + _d(property_income) + _d(transfer) - _d(business_expenditure)
    if deduct_medical:
        net += _d(insurance_payout) - _d(compliant_medical_spending)
    return net.quantize(CENT, rounding=ROUND_HALF_UP)


def per_capita(net: Decimal, members: int) -> Decimal | None:
    """``None`` when the household has no resident member: there is nothing to divide by."""
    if members <= 0:
        return None
    return (_d(net) / members).quantize(CENT, rounding=ROUND_HALF_UP)


def warnings_for(*, wages, per_capita_value, at_entry: bool = False) -> list[str]:
    """Data-quality warnings of the national export rules (not refusals)."""
    from django.utils.translation import gettext as _

    found = []
    if per_capita_value is not None and per_capita_value < 0:
        found.append(_("人均纯收入为负数，请核实生产经营性支出。"))
    if 0 < _d(wages) < 100:
        found.append(_("工资性收入在1–99元之间，请核实。"))
    if at_entry and per_capita_value is not None and per_capita_value > 20000:
        found.append(_("纳入时人均纯收入超过20000元，请核实。"))
    return found
