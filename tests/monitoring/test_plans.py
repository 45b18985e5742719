"""Plan validation (monitoring.rules.plans): pure rules over plain data, and the rules built from the DB."""

from __future__ import annotations

import pytest

from monitoring import defaults
from monitoring.rules import plans, transitions
from monitoring.rules.plans import PlanMeasure, PlanRules, Requirement, RiskRules

CATEGORY = {code: (name, kind) for code, name, kind in defaults.CATEGORIES}
MEASURES = {code: (name, cat) for code, name, cat, _dept, _desc in defaults.MEASURES}


def default_rules(*, musts: bool = True, forbidden: bool = True, requirements: bool = True) -> PlanRules:
    """The seeded catalogue rules as plain data (optionally without some kinds of rule)."""
    rules = {
        risk: RiskRules(
            must=tuple(levels.get("must", [])) if musts else (),
            optional=tuple(levels.get("optional", [])),
            forbidden=tuple(levels.get("forbidden", [])) if forbidden else (),
        )
        for risk, levels in defaults.RULES.items()
    }
    reqs = (
        tuple(Requirement(risk, name, frozenset(cats)) for risk, name, cats in defaults.REQUIREMENTS)
        if requirements
        else ()
    )
    return PlanRules(
        rules=rules,
        requirements=reqs,
        parents={code: parent for code, _n, parent, _s, _g in defaults.RISK_TYPES if parent},
        risk_names={code: name for code, name, *_rest in defaults.RISK_TYPES},
        measure_names={code: name for code, (name, _c) in MEASURES.items()},
        category_names={code: name for code, (name, _k) in CATEGORY.items()},
        development_categories=tuple(c for c, (_n, kind) in CATEGORY.items() if kind == "development"),
    )


def pm(code: str) -> PlanMeasure:
    name, cat = MEASURES[code]
    return PlanMeasure(code=code, category_code=cat, kind=CATEGORY[cat][1], name=name)


def check(risks, codes, *, able=False, rules=None, require_development=True):
    return plans.validate_plan(
        risk_codes=risks,
        measures=[pm(c) for c in codes],
        able_to_work=able,
        rules=rules or default_rules(),
        require_development_for_able=require_development,
    )


def rules_of(violations):
    return sorted((v.rule, v.risk_code, v.measure_code) for v in violations)


# --- must-use and forbidden ----------------------------------------------------------------


def test_valid_plan_has_no_violations():
    assert check(["01"], ["M0504", "M0502"]) == []


def test_forbidden_measure_is_refused_naming_rule_risk_and_measure():
    found = check(["07"], ["M0802"])
    assert rules_of(found) == [("forbidden", "07", "M0802")]
    assert found[0].message == "因务工就业不稳：禁选措施「特困人员救助供养」不能使用"


def test_missing_must_use_measure_is_refused():
    found = check(["10"], ["M0902"])
    assert rules_of(found) == [("must", "10", "M0901")]
    assert found[0].message == "住房安全：缺少必选措施「农村危房改造」"


def test_measure_forbidden_for_one_risk_but_optional_for_another_is_still_refused():
    # 04 因缺劳动力 forbids job referrals that 07 因务工就业不稳 allows.
    found = check(["04", "07"], ["M0801", "M0203"])
    assert ("forbidden", "04", "M0203") in rules_of(found)


def test_every_violation_is_listed_not_just_the_first():
    found = check(["10", "07"], ["M0802", "M0101"], able=True)
    assert rules_of(found) == [("forbidden", "07", "M0802"), ("must", "10", "M0901")]


def test_empty_plan_is_refused():
    found = check(["99"], [])
    assert [v.rule for v in found] == ["empty"]


def test_duplicate_measure_in_plain_input_is_reported():
    found = check(["01"], ["M0504", "M0504"])
    assert [v.rule for v in found] == ["duplicate"]


# --- consistency requirements (domain §3.3) ----------------------------------------------


@pytest.mark.parametrize(
    ("risk", "bad", "good", "message"),
    [
        ("01", "M0101", "M0502", "因病须有健康帮扶、社会帮扶或综合保障措施"),
        ("01", "M0101", "M1101", "因病须有健康帮扶、社会帮扶或综合保障措施"),
        ("01", "M0101", "M0801", "因病须有健康帮扶、社会帮扶或综合保障措施"),
        ("09", "M0101", "M0601", "因学须有教育帮扶、义务教育保障或社会帮扶措施"),
        ("09", "M0101", "M0701", "因学须有教育帮扶、义务教育保障或社会帮扶措施"),
        ("03", "M0101", "M0804", "因残须有综合保障或健康帮扶措施"),
        ("03", "M0101", "M0504", "因残须有综合保障或健康帮扶措施"),
        ("04", "M1301", "M0801", "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施"),
        ("04", "M1301", "M0401", "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施"),
        ("04", "M1301", "M0103", "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施"),
    ],
)
def test_consistency_requirement(risk, bad, good, message):
    rules = default_rules(musts=False)  # the requirement alone
    found = check([risk], [bad], rules=rules)
    assert rules_of(found) == [("requirement", risk, "")]
    assert found[0].message == message
    assert found[0].category_codes  # names the categories it wants
    assert check([risk], [good], rules=rules) == []


def test_requirement_satisfied_with_the_seeded_must_use_measures():
    assert check(["03"], ["M0804"]) == []
    found = check(["03"], ["M0101"])
    assert rules_of(found) == [("must", "03", "M0804"), ("requirement", "03", "")]


def test_requirement_without_a_name_gets_one_built_from_the_categories():
    rules = PlanRules(
        requirements=(Requirement("01", "", frozenset({"100A45"})),),
        risk_names={"01": "因病"},
        category_names={"100A45": "健康帮扶"},
    )
    found = check(["01"], ["M0101"], rules=rules)
    assert found[0].message == "因病须至少有一项以下类别的措施：健康帮扶"


# --- development measure for households able to work ----------------------------------------


def test_able_household_needs_a_development_measure():
    found = check(["09"], ["M0601"], able=True)
    assert [v.rule for v in found] == ["development"]
    assert found[0].message == (
        "有劳动能力的户须至少有一项开发式帮扶措施（产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶）"
    )
    for development in ("M0101", "M0201", "M0301", "M0401"):
        assert check(["09"], ["M0601", development], able=True) == []


def test_household_unable_to_work_does_not_need_a_development_measure():
    assert check(["09"], ["M0601"], able=False) == []


def test_county_may_switch_off_the_development_rule():
    assert check(["09"], ["M0601"], able=True, require_development=False) == []


def test_development_message_without_catalogue_names():
    found = check(["99"], ["M0801"], able=True, rules=PlanRules())
    assert found[0].message == "有劳动能力的户须至少有一项开发式帮扶措施（产业、就业、金融、公益岗位）"


# --- subtypes follow their root ----------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["0201", "0202", "0203", "0204", "0205", "0206", "0299"])
def test_natural_disaster_subtypes_follow_the_root_rules(subtype):
    found = check([subtype], ["M0803"])
    assert rules_of(found) == [("must", "02", "M0806")]
    assert found[0].message == "因自然灾害：缺少必选措施「受灾群众生活救助」"
    assert check([subtype], ["M0806"]) == []


def test_rules_written_for_a_subtype_apply_too():
    base = default_rules()
    rules = PlanRules(
        rules={**base.rules, "0201": RiskRules(forbidden=("M0901",))},
        parents=base.parents,
        risk_names=base.risk_names,
        measure_names=base.measure_names,
    )
    found = check(["0201"], ["M0806", "M0901"], rules=rules)
    assert rules_of(found) == [("forbidden", "0201", "M0901")]
    assert found[0].message == "洪涝灾害：禁选措施「农村危房改造」不能使用"
    assert check(["0202"], ["M0806", "M0901"], rules=rules) == []


def test_two_subtypes_of_one_root_report_the_root_rule_once():
    found = check(["0201", "0203"], ["M0803"])
    assert rules_of(found) == [("must", "02", "M0806")]


def test_root_codes():
    assert plans.root_codes(["0201", "02", "01", "0203"], default_rules()) == ["02", "01"]


# --- lists for the plan editor ------------------------------------------------------------------


def test_options_for_risks_lists_must_optional_forbidden():
    rules = default_rules()
    (disaster, work) = plans.options_for_risks(["0201", "07"], rules)
    assert disaster["risk"] == "0201"
    assert disaster["name"] == "洪涝灾害"
    assert disaster["must"] == [{"code": "M0806", "name": "受灾群众生活救助"}]
    assert {"code": "M0803", "name": "临时救助"} in disaster["optional"]
    assert disaster["forbidden"] == []
    assert work["forbidden"] == [{"code": "M0802", "name": "特困人员救助供养"}]
    (illness,) = plans.options_for_risks(["01"], rules)
    assert illness["requirements"] == ["因病须有健康帮扶、社会帮扶或综合保障措施"]


def test_violation_as_dict():
    (v,) = check(["07"], ["M0802"])
    assert v.as_dict() == {
        "rule": "forbidden",
        "risk": "07",
        "measure": "M0802",
        "categories": [],
        "message": "因务工就业不稳：禁选措施「特困人员救助供养」不能使用",
    }
    assert str(v) == v.message


# --- rules from the database --------------------------------------------------------------------


@pytest.mark.django_db
def test_rules_built_from_the_seeded_rows_match_the_defaults(areas):
    built = plans.plan_rules_for(areas["v11"].code)
    expected = default_rules()
    for risk, rr in expected.rules.items():
        got = built.rules[risk]
        assert sorted(got.must) == sorted(rr.must)
        assert sorted(got.optional) == sorted(rr.optional)
        assert sorted(got.forbidden) == sorted(rr.forbidden)
    assert {(r.risk_code, r.name, r.category_codes) for r in built.requirements} == {
        (r.risk_code, r.name, r.category_codes) for r in expected.requirements
    }
    assert built.root("0205") == "02"
    assert built.measure_name("M0802") == "特困人员救助供养"
    assert set(built.development_categories) == {"100A39", "100A40", "100A41", "100A42"}


@pytest.mark.django_db
def test_a_county_with_its_own_rules_uses_only_those(areas):
    from monitoring.models import Measure, RiskMeasureRule, RiskType

    RiskMeasureRule.objects.create(
        county=areas["county"],
        risk_type=RiskType.objects.get(code="01"),
        measure=Measure.objects.get(code="M0502"),
        level="must",
    )
    built = plans.plan_rules_for(areas["v11"].code)
    assert built.rules["01"].must == ("M0502",)
    assert "07" not in built.rules
    # another county keeps the defaults
    other = plans.plan_rules_for("130728100201")
    assert other.rules["10"].must == ("M0901",)
    assert "M0504" in other.rules["01"].optional


# --- measure status table -----------------------------------------------------------------------

EXPECTED = {
    ("planned", "start"): "in_progress",
    ("planned", "complete"): "implemented",
    ("planned", "stop"): "stopped",
    ("in_progress", "start"): None,
    ("in_progress", "complete"): "implemented",
    ("in_progress", "stop"): "stopped",
    ("implemented", "start"): None,
    ("implemented", "complete"): None,
    ("implemented", "stop"): None,
    ("stopped", "start"): None,
    ("stopped", "complete"): None,
    ("stopped", "stop"): None,
}


def test_the_table_covers_every_status_and_action():
    assert set(EXPECTED) == {
        (s, a) for s in transitions.MEASURE_STATUSES for a in transitions.MEASURE_ACTIONS
    }


@pytest.mark.parametrize(("status", "action"), sorted(EXPECTED))
def test_measure_transition_table(status, action):
    assert transitions.measure_next_status(status, action) == EXPECTED[(status, action)]
    refusal = transitions.measure_refusal(status, action)
    if EXPECTED[(status, action)] is None:
        assert refusal
    else:
        assert refusal is None


def test_point_to_point_exception_counts_subtypes_as_their_root():
    from dataclasses import replace

    rules = replace(default_rules(), point_to_point=frozenset({"10", "02"}))

    def dev(risks, exempt=True):
        found = plans.validate_plan(
            risk_codes=risks,
            measures=[pm("M0806")],
            able_to_work=True,
            rules=rules,
            point_to_point_exempt=exempt,
        )
        return [v.rule for v in found if v.rule == "development"]

    assert dev(["0201"]) == []  # one risk (a subtype of a flagged root)
    assert dev(["0201", "0202"]) == []  # two subtypes of one root are still one risk
    assert dev(["0201", "10"]) == ["development"]
    assert dev(["0201"], exempt=False) == ["development"]
