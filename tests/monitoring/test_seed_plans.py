"""The plans the source reports document are accepted by the starting plan rules.

Every concrete household case in the reports, with its risk(s) and the measures it got (the
measure codes are the default catalogue's nearest items):

Yangyuan, Hebei (004_9d6c3d4c4c916589):

* 沈桂花 (西城镇城内村): "发现自家房子出现裂缝，墙体变形……帮助她申请危房改造资金实施房屋新建
  项目" - housing risk 10 alone, plan 农村危房改造 M0901 alone. The report's rule: "对住房、饮水
  安全等风险单一的采取'点对点'针对性政策帮扶", so no development measure is needed even for an
  able-bodied household.
* 孙海青 (东城镇东六马坊村): "突发重病……直肠恶性肿瘤……办理了低保、临时救助和防贫保险救助，又为
  其儿子申请了雨露计划补助资金，为其妻子安排了公益岗位" - illness 01, plan M0801 低保, M0803 临时
  救助, M0302 防贫保险, M0701 雨露计划, M0401 公益岗位; the wife works, so able to work. No
  家庭医生签约 in it: illness has no must-use measure by default.
* 卜建龙 (大田洼乡油坊村): "2021年突发重病……及时将卜建龙家纳为边缘易致贫户" - illness 01,
  identified; no measure named, so no plan to check.

Pingdu, Shandong, 2020 (002_0d279473b470ddec):

* "为全市241户贫困户的C、D级住房进行改造" - housing 10, M0901 alone (households of any kind).
* "为81个单村供水村庄安装净化水设施" - drinking water 11, 水质检测与净化 M1002 alone: the
  water-supply project M1001 is not a must-use measure.
* "为22名建档立卡学生送教上门" - schooling 09, 送教上门 M0603 (children with severe
  disabilities; the household's labour is not stated: taken as unable to work).
* "符合'低保转特困'条件的建档立卡贫困人口257人按程序办理了转特困" - lack of labour 04,
  特困人员救助供养 M0802.
* "为贫困人口新安排公益岗上岗70人" - unstable work 07, 乡村公益性岗位 M0401.
* "崔家集镇王京芳在扶贫农创体内租种大棚，年收入超10万" - industry, 产业发展补贴 M0101 (risk not
  stated: 99 其他), able to work.
* "对有需求的236户重残家庭无障碍改造工程" - disability 03; barrier-free renovation is no
  catalogue measure: not checked.

Pingdu, 2024 (000_513acc3cfbd31bb7):

* "每年通过差异化分配15万至20万元用于帮扶约500户无劳动能力户" - lack of labour 04, asset
  income 产业项目入股分红 M0103 alone: the 04 consistency rule accepts asset income.
* "实施'雨露+'帮扶行动，2024年共补助459人次" - schooling 09, 雨露计划 M0701.
* "累计发放小额贷款308.3万元，受益63户" - industry 06, 脱贫人口小额信贷 M0301, able to work.
* "防止返贫致贫综合保险……多层次防止因病、因意外和因学返贫" - M0302 as an extra layer (it is
  in 孙海青's plan), not a plan by itself.

Jiaozhou, Shandong (001_b70ac55dd9757bb0):

* "里岔镇王家乔村贫困户王慎廷通过黑猪养殖实现年家庭收入达7万余元" - industry M0101 (risk 99),
  able to work.
* "切实保障因病因学因灾因意外等可能新致贫的困难群众得到即时救助" - accident 05, 临时救助 M0803.
  With Yangyuan's green channel ("对因灾因意外事故的开通'绿色通道'，先救助再帮扶") the relief
  alone is accepted for an able household while the case is provisional; the development
  measure is due once it is identified.

Huancui, Weihai (003_2dde6170744b9f8c):

* "考虑当地贫困户分布散、年龄偏大、身体残疾……租金全部用于'插花村'脱贫户增收" - lack of
  labour 04, asset income M0103.
* "果树基地优先招用有劳动能力的脱贫户" - unstable work 07, 就业岗位推荐 M0203, able to work.
"""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import ValidationError
from monitoring import defaults
from monitoring.models import CaseStatus, CountySettings, RiskMeasureRule, RiskType
from monitoring.services import assistance
from tests.households import factories as hf
from tests.monitoring import factories as mf

ABLE = ("normal", "none")
UNABLE = ("none", "lost")

# (seed, case, risks, labour, measures)
SEED_PLANS = [
    ("004", "沈桂花 危房改造", ("10",), ABLE, ["M0901"]),
    ("004", "孙海青 因病", ("01",), ABLE, ["M0801", "M0803", "M0302", "M0701", "M0401"]),
    ("002", "241户C、D级住房改造", ("10",), UNABLE, ["M0901"]),
    ("002", "241户C、D级住房改造", ("10",), ABLE, ["M0901"]),
    ("002", "81村安装净化水设施", ("11",), ABLE, ["M1002"]),
    ("002", "81村安装净化水设施", ("11",), UNABLE, ["M1002"]),
    ("002", "22名学生送教上门", ("09",), UNABLE, ["M0603"]),
    ("002", "257人低保转特困", ("04",), UNABLE, ["M0802"]),
    ("002", "70人公益岗上岗", ("07",), ABLE, ["M0401"]),
    ("002", "王京芳租种大棚", ("99",), ABLE, ["M0101"]),
    ("000", "约500户无劳动能力户资产收益分配", ("04",), UNABLE, ["M0103"]),
    ("000", "雨露+补助459人次", ("09",), UNABLE, ["M0701"]),
    ("000", "小额贷款受益63户", ("06",), ABLE, ["M0301"]),
    ("001", "王慎廷黑猪养殖", ("99",), ABLE, ["M0101"]),
    ("001", "即时帮扶（因意外）", ("05",), UNABLE, ["M0803"]),
    ("003", "插花村脱贫户租金收益", ("04",), UNABLE, ["M0103"]),
    ("003", "果树基地招用脱贫户", ("07",), ABLE, ["M0203"]),
]


@pytest.mark.parametrize(
    ("seed", "label", "risks", "labour", "codes"),
    SEED_PLANS,
    ids=[f"{s}-{label}-{'able' if lab == ABLE else 'unable'}" for s, label, _r, lab, _c in SEED_PLANS],
)
def test_each_seed_case_plan_is_accepted(areas, county_approver, seed, label, risks, labour, codes):
    case = mf.case(hf.household(areas["v11"], labour=labour), risks=risks)
    saved = assistance.plan_set(actor=county_approver, case=case, items=[{"measure": c} for c in codes])
    assert [m.measure.code for m in saved] == codes
    assert assistance.current_plan_violations(case) == []


# --- the development rule and its point-to-point exception ----------------------------------------

DEVELOPMENT = "有劳动能力的户须至少有一项开发式帮扶措施（产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶）"


def settings(**fields) -> CountySettings:
    row = CountySettings.objects.get(county__isnull=True)
    for key, value in fields.items():
        setattr(row, key, value)
    row.save()
    return row


@pytest.fixture
def able(areas):
    return hf.household(areas["v11"], labour=ABLE)


def test_housing_and_water_are_the_default_point_to_point_risks(db):
    flagged = set(RiskType.objects.filter(point_to_point=True).values_list("code", flat=True))
    assert flagged == set(defaults.POINT_TO_POINT) == {"10", "11"}
    assert CountySettings.objects.get(county__isnull=True).point_to_point_exempt is True


def test_two_risks_are_not_single_so_development_is_needed(able, county_approver):
    case = mf.case(able, risks=("10", "11"))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(
            actor=county_approver, case=case, items=[{"measure": "M0901"}, {"measure": "M1001"}]
        )
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]


def test_a_single_risk_not_flagged_needs_development(able, county_approver):
    case = mf.case(able, risks=("09",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0601"}])
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]


def test_exception_off_in_the_county_settings(able, county_approver):
    settings(point_to_point_exempt=False)
    case = mf.case(able, risks=("10",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0901"}])
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0901"}, {"measure": "M0202"}])


def test_which_risks_count_is_data_the_operator_edits(able, county_approver):
    RiskType.objects.filter(code="10").update(point_to_point=False)
    RiskType.objects.filter(code="09").update(point_to_point=True)
    housing = mf.case(able, risks=("10",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=housing, items=[{"measure": "M0901"}])
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]
    school = mf.case(hf.household(able.village, labour=ABLE), risks=("09",))
    assistance.plan_set(actor=county_approver, case=school, items=[{"measure": "M0601"}])


def test_development_rule_off_in_the_county_settings(able, county_approver):
    settings(require_development_for_able=False, point_to_point_exempt=False)
    case = mf.case(able, risks=("09",))
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0601"}])
    assert assistance.current_plan_violations(case) == []


def test_a_county_row_has_its_own_switch(areas, able, county_approver):
    CountySettings.objects.create(county=areas["county"], point_to_point_exempt=False)
    case = mf.case(able, risks=("11",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M1001"}])
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]


def provisional(household):
    return mf.case(
        household, risks=("05",), status=CaseStatus.PROVISIONAL, provisional_on=dt.date(2026, 2, 1)
    )


def test_green_channel_relief_first_then_development(able, county_approver):
    case = provisional(able)
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0803"}])
    assert assistance.current_plan_violations(case) == []
    case.status = CaseStatus.MONITORED  # identified: the development measure is now due
    case.save(update_fields=["status"])
    assert [v.message for v in assistance.current_plan_violations(case)] == [DEVELOPMENT]


def test_green_channel_relief_first_off_in_the_county_settings(able, county_approver):
    settings(relief_first=False)
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=provisional(able), items=[{"measure": "M0803"}])
    assert exc.value.message_dict["plan"] == [DEVELOPMENT]


# --- the data migration that moves the starting values ---------------------------------------------


def _rule(risk, measure):
    return RiskMeasureRule.objects.get(county=None, risk_type__code=risk, measure__code=measure)


def test_update_moves_old_default_rows_an_operator_did_not_edit(db):
    from django.apps import apps

    from monitoring.models import RiskCategoryRequirement

    RiskMeasureRule.objects.filter(pk=_rule("01", "M0504").pk).update(level="must")  # no history
    req = RiskCategoryRequirement.objects.get(county=None, risk_type__code="04")
    req.name = "因缺劳动力须有综合保障或公益岗位措施"
    req.save()
    req.categories.remove(*req.categories.filter(code="100A39"))
    defaults.update_plan_rules(apps)
    assert _rule("01", "M0504").level == "optional"
    req.refresh_from_db()
    assert sorted(req.categories.values_list("code", flat=True)) == ["100A39", "100A42", "100A48"]
    assert req.name == "因缺劳动力须有综合保障、公益岗位或产业帮扶（资产收益）措施"


def test_update_leaves_rows_an_operator_edited_and_county_rows(areas, db):
    from django.apps import apps

    edited = _rule("11", "M1001")
    edited.level = "must"
    edited.save()  # an operator's edit: a change in the history
    county_row = RiskMeasureRule.objects.create(
        county=areas["county"],
        risk_type=RiskType.objects.get(code="01"),
        measure=mf.measure("M0504"),
        level="must",
    )
    defaults.update_plan_rules(apps)
    assert _rule("11", "M1001").level == "must"
    county_row.refresh_from_db()
    assert county_row.level == "must"
