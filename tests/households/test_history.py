"""History: every registry write keeps the row as it was, who changed it and why."""

import pytest
from django.utils import timezone, translation

from accounts.errors import ValidationError
from households import services
from households.models import Household, Person
from tests.households import factories as hf


def test_household_as_it_was_before_an_edit(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre, phone="13800000001")
    before = timezone.now()
    services.household_update(
        actor=cadre, household=hh, phone="13900000002", housing_grade="D", reason="入户核实更正"
    )

    past = Household.history.as_of(before).get(pk=hh.pk)
    assert past.phone == "13800000001"
    assert past.housing_grade == "A"
    now = Household.history.as_of(timezone.now()).get(pk=hh.pk)
    assert now.phone == "13900000002"
    assert now.housing_grade == "D"


def test_history_records_the_actor_and_the_reason(areas, cadre):
    hh = services.household_create(actor=cadre, number="H1", village=areas["v11"])
    services.household_update(actor=cadre, household=hh, phone="13700000003", reason="电话变更")
    created, updated = hh.history.order_by("history_date")
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        cadre,
        "登记农户",
    )
    assert (updated.history_type, updated.history_user, updated.history_change_reason) == (
        "~",
        cadre,
        "电话变更",
    )


def test_default_reasons_are_chinese(areas, cadre):
    with translation.override("zh-hans"):
        hh = services.household_create(actor=cadre, number="H1", village=areas["v11"])
        services.household_update(actor=cadre, household=hh, phone="13700000003")
        person = services.person_add(
            actor=cadre, household=hh, id_number=hf.id_number(), name="张三", relation="head"
        )
        services.person_update(actor=cadre, person=person, ethnicity="回族")
    assert [h.history_change_reason for h in hh.history.order_by("history_date")] == [
        "登记农户",
        "修改农户信息",
        "设定户主",
    ]
    assert [h.history_change_reason for h in person.history.order_by("history_date")] == [
        "新增家庭成员",
        "修改成员信息",
    ]


def test_setting_the_head_is_recorded_with_the_actor(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    latest = hh.history.first()
    assert latest.head_id == hh.head_id
    assert latest.history_user == cadre
    assert latest.history_change_reason == "设定户主"


def test_income_history_records_the_figures_before_a_correction(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=6000)
    before = timezone.now()
    services.income_record_set(actor=cadre, household=hh, year=2024, wages=9000)
    past = type(rec).history.as_of(before).get(pk=rec.pk)
    assert past.per_capita_net_income == 3000
    latest = rec.history.first()
    assert (latest.history_user, latest.history_change_reason) == (cadre, "录入收支情况")


# --- moving a person ------------------------------------------------------------------------


def test_person_moved_history_shows_the_old_household(areas, township_reviewer):
    actor = township_reviewer
    a = hf.household(areas["v11"], members=2, actor=actor)
    b = hf.household(areas["v12"], members=1, actor=actor)
    mover = a.members.exclude(pk=a.head_id).get()
    before = timezone.now()

    services.person_move(actor=actor, person=mover, to_household=b, relation="spouse", reason="结婚迁入")

    mover.refresh_from_db()
    assert mover.household == b
    assert mover.relation == "spouse"
    past = Person.history.as_of(before).get(pk=mover.pk)
    assert past.household_id == a.pk
    assert past.relation == "child"
    # Filter the snapshot in Python: filtering the as_of queryset itself is applied before the
    # "latest record of each" step on PostgreSQL (DISTINCT ON), which answers another question.
    assert {p.pk for p in Person.history.as_of(before) if p.household_id == a.pk} == {
        a.head_id,
        mover.pk,
    }
    latest = mover.history.first()
    assert (latest.history_user, latest.history_change_reason) == (actor, "结婚迁入")
    assert latest.prev_record.household_id == a.pk


def test_moving_the_head_out_clears_the_old_head_and_keeps_it_in_history(areas, cadre):
    a = hf.household(areas["v11"], members=2, actor=cadre)
    b = hf.household(areas["v11"], members=0, actor=cadre)
    head = a.head
    before = timezone.now()

    services.person_move(actor=cadre, person=head, to_household=b, relation="head", reason="分户")

    a.refresh_from_db()
    b.refresh_from_db()
    assert a.head is None
    assert a.history.first().history_change_reason == "户主迁出"
    assert Household.history.as_of(before).get(pk=a.pk).head_id == head.pk
    assert b.head == head  # moved in as head of a household that had none


def test_moving_in_as_head_does_not_replace_an_existing_head(areas, cadre):
    a = hf.household(areas["v11"], members=2, actor=cadre)
    b = hf.household(areas["v11"], members=1, actor=cadre)
    mover = a.members.exclude(pk=a.head_id).get()
    services.person_move(actor=cadre, person=mover, to_household=b, relation="head", reason="分户")
    b_head = b.head_id
    b.refresh_from_db()
    assert b.head_id == b_head


def _move_refusal(**kwargs) -> dict[str, list[str]]:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.person_move(**kwargs)
    return exc.value.message_dict


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_person_move_requires_a_reason(areas, cadre, reason):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    b = hf.household(areas["v11"], members=0, actor=cadre)
    errors = _move_refusal(actor=cadre, person=a.head, to_household=b, relation="child", reason=reason)
    assert errors == {"reason": ["请填写迁移原因。"]}
    assert Person.objects.get(pk=a.head_id).household_id == a.pk


def test_person_move_refuses_the_same_household(areas, cadre):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    errors = _move_refusal(actor=cadre, person=a.head, to_household=a, relation="child", reason="无")
    assert errors == {"to_household": ["成员已在该户中。"]}


def test_person_move_outside_the_area_is_refused(areas, cadre):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    elsewhere = hf.household(areas["v21"], members=0)
    errors = _move_refusal(
        actor=cadre, person=a.head, to_household=elsewhere, relation="child", reason="迁出"
    )
    assert errors == {"to_household": ["该村不在您的工作区域内。"]}
    assert Person.objects.get(pk=a.head_id).household_id == a.pk


def test_person_move_from_outside_the_area_is_refused(areas, cadre):
    a = hf.household(areas["v11"], members=0, actor=cadre)
    elsewhere = hf.household(areas["v21"], members=1)
    errors = _move_refusal(
        actor=cadre, person=elsewhere.head, to_household=a, relation="child", reason="迁入"
    )
    assert errors == {"household": ["该村不在您的工作区域内。"]}


def test_person_move_refuses_a_bad_relation(areas, cadre):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    b = hf.household(areas["v11"], members=0, actor=cadre)
    with pytest.raises(ValidationError) as exc:
        services.person_move(actor=cadre, person=a.head, to_household=b, relation="boss", reason="迁移")
    assert list(exc.value.message_dict) == ["relation"]
    assert Person.objects.get(pk=a.head_id).household_id == a.pk
