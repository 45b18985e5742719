"""Frozen monthly ledgers on a 360 px phone (Chromium, live server): a county approver goes from
the ledger figures to the frozen months, freezes last month (after ticking the confirmation),
reads the frozen rows and the difference from live; a second freeze is refused with a message."""

from __future__ import annotations

import pytest

from households.models import HouseholdType
from reports.models import FrozenMonth
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_an_approver_freezes_last_month_and_reads_it(phone_page, county):
    page, areas = phone_page, county["areas"]
    homes = [hf.household(areas["v11"], household_type=HouseholdType.ORDINARY) for _ in range(2)]
    # registered before last month ended (the factories write them by the clock: date them back)
    for home in homes:
        home.history.update(history_date="2020-01-01T00:00:00+08:00")
        home.ledger_spans.update(valid_from="2020-01-01T00:00:00+08:00")
    login(page, "approver")
    page.goto("/reports/")
    page.click("#frozen-link")
    page.wait_for_url("**/reports/frozen/")
    page.wait_for_selector("#no-frozen")
    _no_sideways_scroll(page)

    # the browser refuses the form until the confirmation is ticked
    page.click("#freeze-form button[type=submit]")
    assert page.url.endswith("/reports/frozen/") and not FrozenMonth.objects.exists()
    page.check("#id_confirm")
    page.click("#freeze-form button[type=submit]")
    page.wait_for_selector("#frozen-diff")
    frozen = FrozenMonth.objects.get()
    assert page.url.endswith(f"/reports/frozen/{frozen.pk}/")
    assert "赵县审" in page.inner_text("#frozen-sign-off")

    page.click("#frozen-tabs a[href='?ledger=ordinary']")
    page.wait_for_selector("#frozen-rows")
    rows = page.inner_text("#frozen-rows")
    assert all(home.number in rows for home in homes)
    _no_sideways_scroll(page)
    shot(page, "frozen-ledger-phone")

    page.goto("/reports/frozen/")
    page.check("#id_confirm")
    page.click("#freeze-form button[type=submit]")
    page.wait_for_selector(".alert")
    assert "不能重复封存" in page.inner_text("body")
    assert FrozenMonth.objects.count() == 1
