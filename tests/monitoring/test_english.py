"""English that reads as English: reference data by its English name, the texts the system
writes (notifications, system clues, year-end reasons, change-history reasons) in the
reader's language, and list filters labelled in both languages."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import Department, Notification
from accounts.texts import join_list, localized_name, render_text, text
from households.models import IncomeRecord
from monitoring.models import (
    CaseStep,
    Clue,
    ExitAssessment,
    Measure,
    MeasureCategory,
    ProcedureDefinition,
    RiskCategoryRequirement,
    RiskType,
    StepDefinition,
)
from monitoring.services.review import risk_review
from monitoring.services.watch import deadline_watch
from monitoring.services.year_end import year_end_assessment
from tests.households import factories as hf
from tests.monitoring.helpers import at, d, identified_case

CJK = re.compile(r"[\u4e00-\u9fff]")
REFERENCE = [Department, RiskType, MeasureCategory, Measure, RiskCategoryRequirement, ProcedureDefinition]


@pytest.fixture(autouse=True)
def site_language_afterwards():
    """A page in English leaves English active in this thread: put the site's language back,
    so the services of later tests write what they always write (and start from it)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def page(client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


# --- reference data -------------------------------------------------------------------------


def test_every_default_reference_row_has_an_english_name(db):
    for model in REFERENCE:
        rows = list(model.objects.all())
        assert rows, model
        missing = [r.name for r in rows if not r.name_en]
        assert missing == [], f"{model.__name__} without an English name: {missing}"
        chinese = [r.name_en for r in rows if CJK.search(r.name_en)]
        assert chinese == [], chinese
    steps = StepDefinition.objects.all()
    assert steps and [s.name for s in steps if not s.name_en or CJK.search(s.name_en)] == []


def test_a_name_in_the_active_language_with_the_chinese_one_as_fallback(db):
    illness = RiskType.objects.get(code="01")
    with translation.override("en"):
        assert str(illness) == illness.display_name == localized_name(illness) == "Illness"
        illness.name_en = ""
        assert str(illness) == "因病"  # no English name yet: the Chinese one
    illness.name_en = "Illness"
    with translation.override("zh-hans"):
        assert str(illness) == "因病"
    assert localized_name(None) == ""


def test_the_case_page_names_risks_steps_and_procedure_in_english(client, case, cadre):
    client.force_login(cadre)
    url = reverse("monitoring:case_detail", args=[case.pk])
    english = page(client, url, "en")
    assert "Illness" in english and "因病" not in english
    assert "Home verification (household consent and authorization)" in english
    assert "入户核查核实（农户承诺授权）" not in english
    assert case.procedure.name_en in english
    chinese = page(client, url, "zh-hans")
    assert "因病" in chinese and "入户核查核实（农户承诺授权）" in chinese


def test_opening_a_case_copies_the_steps_english_names(case):
    steps = CaseStep.objects.filter(case=case)
    assert steps and all(s.name_en == s.definition.name_en != "" for s in steps)


def test_the_household_page_names_measures_and_categories_in_english(client, case, cadre):
    from monitoring.models import AssistanceMeasure

    AssistanceMeasure.objects.create(
        case=case, measure=Measure.objects.get(code="M0504"), responsible_person="王帮扶"
    )
    client.force_login(cadre)
    english = page(client, reverse("monitoring:household_detail", args=[case.household_id]), "en")
    assert "Family doctor contract" in english and "Health support" in english
    assert "家庭医生签约服务" not in english


# --- texts the system writes ---------------------------------------------------------------


def test_a_stored_text_renders_in_the_readers_language(db):
    stored = text("已将%(n)s条提醒标为已读。", "已将%(n)s条提醒标为已读。", 2)
    with translation.override("en"):
        assert render_text(stored) == "Marked 2 notifications as read."
        assert render_text(text("已将%(n)s条提醒标为已读。", "已将%(n)s条提醒标为已读。", 1)) == (
            "Marked 1 notification as read."
        )
        assert render_text({}, "fallback") == "fallback"
        assert join_list(["a", "b"]) == "a, b"
    with translation.override("zh-hans"):
        assert render_text(stored) == "已将2条提醒标为已读。"
        assert join_list(["甲", "乙"]) == "甲、乙"


def test_a_deadline_notification_names_the_household_and_reads_in_english(client, case, cadre):
    deadline_watch(now=at(d(3, 3)))  # home verification is due on 4 March
    note = Notification.objects.get(recipient=cadre)
    household = case.household
    head, village = household.head.name, household.village.name
    assert household.number not in note.title
    assert note.title == f"即将到期：{village}{head}户「入户核查核实（农户承诺授权）」须于2026-03-04前办结"
    client.force_login(cadre)
    english = page(client, reverse("monitoring:notifications"), "en")
    assert (
        f'Due soon: "Home verification (household consent and authorization)" for the {head} '
        f"household in {village} is due by 2026-03-04"
    ) in english
    assert "即将到期" not in english
    assert note.title in page(client, reverse("monitoring:notifications"), "zh-hans")


def test_a_system_clue_and_its_notification_in_english(client, areas, county_approver):
    hh = hf.household(areas["v11"])
    per_capita = Decimal("5000")
    IncomeRecord.objects.create(
        household=hh,
        year=2026,
        members=1,
        wages=per_capita,
        net_income=per_capita,
        per_capita_net_income=per_capita,
    )
    risk_review(area_code="130727000000", now=at(d(11, 22), 2))
    clue = Clue.objects.get(household=hh, rule_code="income_below")
    assert clue.description == "2026年家庭人均纯收入5,000.00元，低于当年监测线8,800.00元。"
    client.force_login(county_approver)
    english = page(client, reverse("monitoring:clue_detail", args=[clue.pk]), "en")
    assert (
        "Per-capita net household income in 2026: 5,000.00 yuan, below that year's monitoring income "
        "line of 8,800.00 yuan."
    ) in english
    assert clue.description in page(client, reverse("monitoring:clue_detail", args=[clue.pk]), "zh-hans")
    notes = page(client, reverse("monitoring:notifications"), "en")
    assert "The risk review found 1 new system alert to triage" in notes
    assert "Risk review of 2026-11-22: income, expenditure or guarantees triggered alert rules." in notes


def test_year_end_reasons_in_english(client, areas, actors):
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    identified_case(hh, actors, d(3, 1))
    year_end_assessment(now=at(d(12, 1), 2))
    assessment = ExitAssessment.objects.get(case__household=hh)
    assert not assessment.eligible
    client.force_login(actors.county_approver)
    english = page(client, reverse("monitoring:year_end"), "en")
    assert "Monitoring contact person and phone number recorded" in english
    assert "Not recorded: Monitoring contact person, Monitoring contact person's phone" in english or (
        "Not recorded: Monitoring contact person, " in english
    )
    failing = english[english.index("failing-checks") :]
    assert not CJK.search(failing[: failing.index("</ul>")])
    chinese = page(client, reverse("monitoring:year_end"), "zh-hans")
    assert "已登记监测联系人及联系电话" in chinese


def test_change_history_reasons_in_english(client, case, cadre):
    """Opening the case wrote "启动识别程序" as the household's change reason."""
    client.force_login(cadre)
    url = reverse("monitoring:household_detail", args=[case.household_id])
    with translation.override("en"):
        reason = translation.gettext("启动识别程序")
    assert reason != "启动识别程序"
    english = page(client, url, "en")
    assert reason in english and "启动识别程序" not in english
    assert "启动识别程序" in page(client, url, "zh-hans")


# --- filter panels --------------------------------------------------------------------------

LOOKUP_WORDS = ("is greater than", "is less than", "is in", "is null", "contains", "starts with")


@pytest.mark.parametrize("name", ["monitoring:clue_list", "monitoring:case_list"])
def test_filter_panels_read_naturally_in_both_languages(client, county_approver, name):
    client.force_login(county_approver)
    for language in ("zh-hans", "en"):
        body = page(client, reverse(name), language)
        labels = " ".join(re.findall(r"<label[^>]*>(.*?)</label>", body, re.S))
        assert not [w for w in LOOKUP_WORDS if w in labels], (language, labels)


def test_every_list_filter_has_an_explicit_label_translated_into_english():
    from households.filters import HouseholdFilter, PersonFilter
    from monitoring.filters import CaseFilter, ClueFilter, MeasureFilter, VisitFilter

    for filterset in (HouseholdFilter, PersonFilter, CaseFilter, ClueFilter, MeasureFilter, VisitFilter):
        for name, f in filterset.base_filters.items():
            assert f._label is not None, f"{filterset.__name__}.{name} has no label"
            with translation.override("en"):
                english = str(f.label)
            assert not CJK.search(english), (filterset.__name__, name, english)
            assert not [w for w in LOOKUP_WORDS if w in english]


def test_a_clue_outcome_in_english(client, case, cadre):
    clue = Clue.objects.get(case=case)
    assert clue.outcome == "已启动识别程序"
    client.force_login(cadre)
    url = reverse("monitoring:clue_detail", args=[clue.pk])
    with translation.override("en"):
        english_outcome = translation.gettext("已启动识别程序")
    assert english_outcome in page(client, url, "en")
    assert "已启动识别程序" in page(client, url, "zh-hans")
