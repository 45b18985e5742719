"""The menu at desk and phone widths, in both languages, for every role: nothing wider than
the window, "Log out" always reachable, one row of links at 1280 px for the staff roles."""

from __future__ import annotations

import pytest

from accounts.models import Department, Role, User
from tests.accounts import factories as af
from tests.browser.conftest import DESK, PHONE, login
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)

#: username → (role, area key or None, superuser)
USERS = {
    "cadre": (Role.VILLAGE_CADRE, "v11", False),
    "helper": (Role.HELPER, None, False),
    "township": (Role.TOWNSHIP_REVIEWER, "t1", False),
    "county": (Role.COUNTY_APPROVER, "county", False),
    "dept": (Role.DEPARTMENT, "county", False),
    "operator": (Role.OPERATOR, "county", False),
    "admin": (Role.OPERATOR, "county", True),
}


@pytest.fixture
def people(transactional_db):
    restore_reference_data()
    areas = af.county_tree()
    dept = Department.objects.get(code="education")
    for username, (role, area, superuser) in USERS.items():
        extra = {"department": dept} if role == Role.DEPARTMENT else {}
        user = af.user(
            role, *([areas[area]] if area else []), username=username, full_name="欧阳晓明", **extra
        )
        if superuser:
            User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
        if role == Role.HELPER:
            hf.helper(areas["county"], user, name="欧阳晓明")
    return areas


def _check(page, width: int, *, one_row: bool, who: str = "") -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{who}: page is {scroll}px wide at {width}px"
    if width < 1200:  # the menu is behind the toggler: open it
        page.click(".navbar-toggler")
        page.wait_for_selector("#mainnav.show")
    box = page.locator("#logout-button").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{who}: Log out is cut off: {box}"
    if one_row:
        rows = page.evaluate(
            "new Set([...document.querySelectorAll('#mainnav .nav-link')].map(a => Math.round(a.getBoundingClientRect().top))).size"
        )
        widths = page.evaluate(
            "[...document.querySelectorAll('#topnav .navbar-brand, #mainnav .nav-link, .nav-account')].map(a => a.textContent.trim().slice(0,20) + '=' + Math.round(a.getBoundingClientRect().width))"
        )
        assert rows == 1, f"{widths} {who}: the menu takes {rows} rows at {width}px"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_menu_fits_at_desk_and_phone_widths(browser, live_server, people, language):
    for viewport in (DESK, PHONE):
        for username, (_role, _area, superuser) in USERS.items():
            context = browser.new_context(viewport=viewport, base_url=live_server.url)
            context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            page = context.new_page()
            page.set_default_timeout(15000)
            login(page, username)
            page.goto("/")
            _check(
                page,
                viewport["width"],
                one_row=viewport is DESK and not superuser,
                who=f"{username}/{language}",
            )
            context.close()


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desk", "phone"])
def test_the_data_menu_opens_to_runs_quality_and_import(browser, live_server, people, viewport):
    """The folded "data" entries are one tap away, on a phone inside the opened menu too."""
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, "county")
    page.goto("/")
    if viewport["width"] < 1200:
        page.click(".navbar-toggler")
        page.wait_for_selector("#mainnav.show")
    assert not page.locator("a.dropdown-item[href='/households/imports/']").is_visible()
    page.click("#nav-data")
    for href in ("/runs/", "/quality/", "/households/imports/"):
        link = page.locator(f"a.dropdown-item[href='{href}']")
        assert link.is_visible(), href
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (href, box)
    page.click("a.dropdown-item[href='/households/imports/']")
    page.wait_for_url("**/households/imports/")
    context.close()
