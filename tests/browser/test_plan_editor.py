"""The plan editor on a phone: the catalogue by category, each measure marked for the case's
risks, the must-use measure pre-selected and the forbidden one disabled (Chromium, 360 px)."""

from __future__ import annotations

import pytest

from monitoring.models import Measure
from tests.browser.conftest import login, shot
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.transactional import reference_data_afterwards  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _pk(code: str) -> str:
    return str(Measure.objects.get(code=code).pk)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_plan_editor_marks_measures_at_phone_width(phone_page, county, language):
    household = hf.household(county["areas"]["v11"], labour=("normal", "none"))
    case = mf.case(household, risks=("07", "10"))
    page = phone_page
    login(page, "approver")
    page.context.add_cookies([{"name": "django_language", "value": language, "url": page.url}])
    page.goto(f"/cases/{case.pk}/plan/")
    page.wait_for_selector("#plan-form")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"
    assert page.locator("details.measure-group").count() == 14
    assert page.get_attribute("[data-measure='M0901']", "data-mark") == "must"
    assert page.get_attribute("[data-measure='M0802']", "data-mark") == "forbidden"
    assert page.input_value("#id_items-0-measure") == _pk("M0901")  # must-use, pre-selected
    assert page.locator(f"#id_items-1-measure option[value='{_pk('M0802')}']").is_disabled()
    assert page.locator("#development-rule").is_visible()
    shot(page, f"plan-editor-marks-phone-{language}")
