"""The plan editor: the catalogue grouped by category, each measure marked for the case's risks."""

from __future__ import annotations

import re

import pytest

from monitoring.models import MeasureCategory
from monitoring.rules import plans
from monitoring.services import assistance
from tests.households import factories as hf
from tests.monitoring import factories as mf

ABLE = ("normal", "none")


@pytest.fixture
def able(areas):
    return hf.household(areas["v11"], labour=ABLE)


def editor(client, user, case):
    client.force_login(user)
    response = client.get(f"/cases/{case.pk}/plan/")
    assert response.status_code == 200
    return response


def by_code(groups) -> dict:
    return {m["code"]: m for g in groups for m in g["measures"]}


def test_measures_grouped_by_category_and_marked_with_the_risk_they_come_from(client, county_approver, able):
    case = mf.case(able, risks=("07", "10"))
    response = editor(client, county_approver, case)
    groups = response.context["groups"]
    # every active catalogue measure once, grouped in the categories' order
    order = list(MeasureCategory.objects.order_by("sort_order").values_list("code", flat=True))
    assert [g["code"] for g in groups] == [c for c in order if c in {g["code"] for g in groups}]
    assert sum(len(g["measures"]) for g in groups) == 43
    marks = by_code(groups)
    assert (marks["M0802"]["mark"], [r["code"] for r in marks["M0802"]["risks"]]) == ("forbidden", ["07"])
    assert marks["M0802"]["reason"] == "因务工就业不稳禁选"
    assert (marks["M0901"]["mark"], marks["M0901"]["reason"]) == ("must", "住房安全必选")
    assert (marks["M0203"]["mark"], marks["M0203"]["reason"]) == ("optional", "因务工就业不稳可选")
    assert (marks["M1401"]["mark"], marks["M1401"]["risks"]) == ("unlisted", [])
    assert response.context["development"] == "needed"

    html = response.content.decode()
    assert '<optgroup label="产业帮扶">' in html
    forbidden_id = mf.measure("M0802").pk
    option = re.search(rf'<option value="{forbidden_id}"[^>]*>[^<]*</option>', html)[0]
    assert "disabled" in option and "因务工就业不稳禁选" in option
    # the must-use measure is pre-selected in the first new row
    must_id = mf.measure("M0901").pk
    first_row = html[html.index('name="items-0-measure"') :]
    first_row = first_row[: first_row.index("</select>")]
    assert f'<option value="{must_id}" selected>' in first_row
    assert 'id="development-rule"' in html
    assert "起始设置" in html and "请联系县级系统管理员" in html


def test_must_use_measure_already_in_the_plan_is_not_offered_again(client, county_approver, able):
    case = mf.case(able, risks=("10",))
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0901"}])
    response = editor(client, county_approver, case)
    html = response.content.decode()
    first_row = html[html.index('name="items-0-measure"') :]
    first_row = first_row[: first_row.index("</select>")]
    assert " selected>" in first_row  # the empty choice
    assert f'value="{mf.measure("M0901").pk}" selected' not in first_row


def test_single_housing_risk_says_development_is_not_needed(client, county_approver, able):
    case = mf.case(able, risks=("10",))
    response = editor(client, county_approver, case)
    assert response.context["development"] == "exempt"
    assert "按点对点针对性政策帮扶" in response.content.decode()


def test_household_unable_to_work_has_no_development_notice(client, county_approver, areas):
    case = mf.case(hf.household(areas["v11"], labour=("none",)), risks=("04",))
    response = editor(client, county_approver, case)
    assert response.context["development"] == ""
    assert 'id="development-rule"' not in response.content.decode()


def test_english_page_reads_as_english(client, county_approver, able):
    case = mf.case(able, risks=("03", "04"))
    client.cookies["django_language"] = "en"
    response = editor(client, county_approver, case)
    html = response.content.decode()
    assert "Forbidden" in html and "Not listed" in html
    assert "starting values" in html
    # several risks listing a measure are joined the English way
    marks = by_code(response.context["groups"])
    assert "、" not in marks["M0801"]["reason"]


def test_a_forbidden_measure_wins_over_optional_and_subtypes_follow_their_root():
    from monitoring import defaults

    rules = plans.PlanRules(
        rules={
            code: plans.RiskRules(
                must=tuple(lv.get("must", ())),
                optional=tuple(lv.get("optional", ())),
                forbidden=tuple(lv.get("forbidden", ())),
            )
            for code, lv in defaults.RULES.items()
        },
        parents={"0201": "02"},
    )
    # 04 forbids job referrals that 07 lists as optional
    assert plans.mark_of("M0203", ["07", "04"], rules) == ("forbidden", ["04"])
    assert plans.mark_of("M0806", ["0201"], rules) == ("must", ["02"])
    assert plans.mark_of("M0801", ["03", "04"], rules) == ("optional", ["03", "04"])
    assert plans.mark_of("M1401", ["03"], rules) == ("unlisted", [])


def test_green_channel_case_says_relief_comes_first(client, county_approver, able):
    import datetime as dt

    from monitoring.models import CaseStatus

    case = mf.case(able, risks=("05",), status=CaseStatus.PROVISIONAL, provisional_on=dt.date(2026, 2, 1))
    response = editor(client, county_approver, case)
    assert response.context["development"] == "relief_first"
    assert "先救助再帮扶" in response.content.decode()


def test_operator_gets_the_link_to_the_lists_and_edits_the_switches_in_the_admin(client, operator, able):
    from django.urls import reverse

    from monitoring.models import CountySettings, RiskType

    case = mf.case(able, risks=("10",))
    client.force_login(operator)
    response = client.get(f"/cases/{case.pk}/plan/")
    assert response.status_code == 200
    assert reverse("admin:monitoring_riskmeasurerule_changelist") in response.content.decode()
    row = CountySettings.objects.get(county__isnull=True)
    html = client.get(reverse("admin:monitoring_countysettings_change", args=[row.pk])).content.decode()
    for name in ("require_development_for_able", "point_to_point_exempt", "relief_first"):
        assert f'name="{name}"' in html
    risk = RiskType.objects.get(code="10")
    html = client.get(reverse("admin:monitoring_risktype_change", args=[risk.pk])).content.decode()
    assert 'name="point_to_point"' in html
