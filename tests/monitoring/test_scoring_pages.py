"""The identification score where people read it: the case page (breakdown, version, missing
data, recompute), clue triage (sort and filter by score), the API and the dashboard figure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from households import services as hs
from monitoring.models import (
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    HouseholdScore,
    ScoringModel,
    StatusChange,
)
from monitoring.services import scoring
from reports import figures
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import at, d, open_case


def _income(household, per_capita, members):
    hs.income_record_set(actor=None, household=household, year=2025, wages=str(Decimal(per_capita) * members))


@pytest.fixture
def scored_case(household, cadre):
    _income(household, 4000, 2)
    return open_case(household, cadre, d(3, 1))


def test_the_case_page_shows_the_score_its_version_and_breakdown(client, township_reviewer, scored_case):
    client.force_login(township_reviewer)
    page = client.get(reverse("monitoring:case_detail", args=[scored_case.pk])).content.decode()
    assert 'id="score"' in page
    assert "score-total" in page and ">35<" in page
    assert "识别定量评分（默认） · 第1版" in page
    assert "低于监测线" in page
    assert "2025年收支情况，2026年监测线" in page
    assert "评分供审核参考，不代替审核决定。" in page
    assert 'id="rescore"' in page


def test_missing_data_is_named_on_the_case_page(client, cadre, household):
    case = open_case(household, cadre, d(3, 1))  # no income record
    client.force_login(cadre)
    page = client.get(reverse("monitoring:case_detail", args=[case.pk])).content.decode()
    assert "2项指标缺少数据，未计分" in page
    assert "没有2026年及以前的收入记录" in page


def test_the_case_page_in_english(client, township_reviewer, scored_case):
    client.force_login(township_reviewer)
    client.cookies["django_language"] = "en"
    page = client.get(
        reverse("monitoring:case_detail", args=[scored_case.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content
    page = page.decode()
    assert "Identification score" in page
    assert "Below the monitoring line" in page


def test_recompute_from_the_page_uses_the_newer_version(client, cadre, scored_case, areas):
    new = ScoringModel.objects.create(county=areas["county"], version=2, name="二版", active=True)
    client.force_login(cadre)
    page = client.get(reverse("monitoring:case_detail", args=[scored_case.pk])).content.decode()
    assert "本县评分模型已更新至第2版" in page
    response = client.post(reverse("monitoring:case_rescore", args=[scored_case.pk]))
    assert response.status_code == 302
    scored_case.refresh_from_db()
    assert scored_case.score_model == new and scored_case.score == 0
    assert StatusChange.objects.filter(case=scored_case, action="score", actor=cadre).exists()


def test_recompute_refused_after_the_decision_shows_the_reason(client, cadre, scored_case):
    type(scored_case).objects.filter(pk=scored_case.pk).update(status=CaseStatus.NOT_INCLUDED)
    client.force_login(cadre)
    page = client.get(reverse("monitoring:case_detail", args=[scored_case.pk])).content.decode()
    assert 'id="rescore"' not in page
    assert "案件已不在识别阶段，评分不再重算。" in page
    response = client.post(reverse("monitoring:case_rescore", args=[scored_case.pk]), follow=True)
    assert "案件已不在识别阶段" in response.content.decode()
    scored_case.refresh_from_db()
    assert scored_case.score == Decimal("35.00")


def test_a_helper_cannot_recompute(client, helper_user, scored_case):
    hf.assign(helper_user, scored_case.household, dt.date(2026, 1, 1))
    client.force_login(helper_user)
    before = StatusChange.objects.filter(action="score").count()
    client.post(reverse("monitoring:case_rescore", args=[scored_case.pk]))
    assert StatusChange.objects.filter(action="score").count() == before


# --- triage ---------------------------------------------------------------------------------


@pytest.fixture
def triage(areas):
    """Three pending department clues on households scored 35, 8 and none."""
    out = {}
    for key, per_capita in (("poor", 3000), ("middle", 15000), ("unscored", None)):
        home = hf.household(areas["v11"], members=1)
        if per_capita:
            _income(home, per_capita, 1)
        out[key] = Clue.objects.create(
            channel=Channel.SYSTEM,
            found_date=dt.date(2026, 3, {"poor": 3, "middle": 1, "unscored": 2}[key]),
            household=home,
            area_code=home.area_code,
            status=ClueStatus.PENDING,
        )
    scoring.score_households(area_code=areas["county"].code, now=at(d(3, 5)))
    HouseholdScore.objects.filter(household=out["unscored"].household).delete()
    return out


def test_triage_sorts_and_filters_by_score(client, county_approver, triage):
    client.force_login(county_approver)
    url = reverse("monitoring:clue_list")
    page = client.get(url + "?sort=score").content.decode()
    order = [page.index(f'data-clue="{triage[k].pk}"') for k in ("poor", "middle", "unscored")]
    assert order == sorted(order)
    assert "评分 35" in page and "评分 8" in page
    # default: by found date
    page = client.get(url).content.decode()
    order = [page.index(f'data-clue="{triage[k].pk}"') for k in ("middle", "unscored", "poor")]
    assert order == sorted(order)
    page = client.get(url + "?score_min=20").content.decode()
    assert f'data-clue="{triage["poor"].pk}"' in page
    assert f'data-clue="{triage["middle"].pk}"' not in page
    assert f'data-clue="{triage["unscored"].pk}"' not in page
    page = client.get(url + "?score_max=abc").content.decode()
    assert "输入一个数字" in page


def test_the_api_gives_scores_and_sorts_clues(client, county_approver, triage, cadre, household):
    client.force_login(county_approver)
    data = client.get("/api/v1/clues/?sort=score").json()
    got = [(r["id"], r["household_score"]) for r in data["results"]]
    assert got == [(triage["poor"].pk, "35.00"), (triage["middle"].pk, "8.00"), (triage["unscored"].pk, None)]
    data = client.get("/api/v1/clues/?score_min=10").json()
    assert [r["id"] for r in data["results"]] == [triage["poor"].pk]
    assert client.get("/api/v1/clues/?score_min=-1").status_code == 400


def test_the_api_gives_a_cases_score_version_and_breakdown(client, township_reviewer, scored_case):
    client.force_login(township_reviewer)
    data = client.get(f"/api/v1/cases/{scored_case.pk}/").json()
    assert data["score"] == "35.00" and data["score_version"] == 1
    first = data["score_breakdown"][0]
    assert first["kind"] == "income" and first["points"] == 35 and first["source"]["income_year"] == 2025
    listed = client.get("/api/v1/cases/").json()["results"][0]
    assert listed["score"] == "35.00" and "score_breakdown" not in listed


# --- the dashboard figure --------------------------------------------------------------------


def test_score_against_decision_per_township(areas, county_approver):
    for village, status, score in (
        ("v11", CaseStatus.MONITORED, "60"),
        ("v11", CaseStatus.MONITORED, "40"),
        ("v12", CaseStatus.NOT_INCLUDED, "10"),
        ("v21", CaseStatus.NOT_INCLUDED, "20"),
        ("v21", CaseStatus.IDENTIFYING, "90"),  # not decided
        ("v21", CaseStatus.MONITORED, None),  # not scored
    ):
        home = hf.household(areas[village])
        fields = {"rejected_at": at(d(2, 1))} if status == CaseStatus.NOT_INCLUDED else {}
        mf.case(
            home,
            status=status,
            identified_on=None if status == CaseStatus.NOT_INCLUDED else d(1, 10),
            score=None if score is None else Decimal(score),
            **fields,
        )
    data = figures.score_vs_decision(user=county_approver, area="130727", today=d(11, 20))
    got = {r[0]: r[1:] for r in figures.localize(data, "zh-hans")["rows"]}
    assert got == {"西城镇": [2, 50.0, 1, 10.0], "东城镇": [0, 0, 1, 20.0]}
    assert "score_vs_decision" in figures.FIGURES_BY_KEY
