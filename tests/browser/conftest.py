"""Browser tests: Debian's Chromium driven by Playwright against the live server.

No browser download: the executable is /usr/bin/chromium (or $CHROMIUM_PATH). Screenshots
go to artifacts/screenshots/ (phone 360×740 and desk 1280×800 widths).
"""

import os
import shutil
from pathlib import Path

import pytest

from accounts.models import Role
from tests.accounts import factories as af
from tests.monitoring.helpers import Actors
from tests.transactional import restore_reference_data

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}

if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium not found at {CHROMIUM}", allow_module_level=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def desk_page(browser, live_server):
    context = browser.new_context(viewport=DESK, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def login(page, username: str, password: str = "pass-12345") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def county(transactional_db):
    """The county's areas and its cadre, township reviewer and county approver (who sign in
    with their usernames), with the reference data back in place."""
    restore_reference_data()  # emptied by the previous transactional test
    areas = af.county_tree()
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre", full_name="张村干")
    reviewer = af.user(Role.TOWNSHIP_REVIEWER, areas["t1"], username="reviewer", full_name="李镇审")
    approver = af.user(Role.COUNTY_APPROVER, areas["county"], username="approver", full_name="赵县审")
    return {
        "areas": areas,
        "cadre": cadre,
        "reviewer": reviewer,
        "approver": approver,
        "actors": Actors(cadre, reviewer, approver),
    }
