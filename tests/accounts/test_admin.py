"""The admin site: who gets in, the smoke walk over every registered model, the user admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import Department, Role, User
from accounts.tokens import token_issue
from households import services
from households.models import ImportColumnMapping
from monitoring.models import (
    AssistanceMeasure,
    Breach,
    CaseStep,
    Clue,
    ExitAssessment,
    Holiday,
    Measure,
    MonitoringCase,
    Objection,
    ProcedureDefinition,
    PublicNotice,
    RiskType,
    ScreeningCampaign,
    StatusChange,
    TaskRun,
    Visit,
)
from tests.accounts import factories as af
from tests.households import factories as hf


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def workflow_rows(areas, cadre):
    """One row of every workflow model, written directly (the workflow services are not the
    subject here)."""
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    services.income_record_set(actor=cadre, household=hh, year=2025, wages=12000)
    helper = hf.helper(areas["county"])
    services.helper_assign(actor=cadre, helper=helper, household=hh, start_date=dt.date(2025, 1, 1))
    ImportColumnMapping.objects.create(layout="national", header="户号", field="household.number")
    now = timezone.now()
    procedure = ProcedureDefinition.objects.filter(kind="identification").first()
    case = MonitoringCase.objects.create(
        household=hh,
        area_code=hh.area_code,
        status="identifying",
        procedure=procedure,
        found_date=dt.date(2025, 3, 1),
        opened_at=now,
        due_date=dt.date(2025, 3, 16),
    )
    case.risk_types.set(RiskType.objects.filter(code="01"))
    definition = procedure.steps.first()
    step = CaseStep.objects.create(
        case=case,
        definition=definition,
        procedure_kind="identification",
        code=definition.code,
        name=definition.name,
        kind=definition.kind,
        actor_role=definition.actor_role,
        area_level=definition.area_level,
        time_limit_days=definition.time_limit_days,
        status="available",
    )
    from accounts.models import ApiCallLog, Department
    from accounts.services import api_key_issue

    key, _raw = api_key_issue(
        actor=None,
        department=Department.objects.get(code="medical_insurance"),
        name="k",
        scopes=["alerts:write"],
        county=areas["county"],
    )
    ApiCallLog.objects.create(api_key=key, method="GET", path="/api/v1/alerts/", status=200, duration_ms=3)
    clue = Clue.objects.create(
        channel="cadre_screening",
        found_date=dt.date(2025, 3, 1),
        household=hh,
        area_code=hh.area_code,
        status="case_opened",
        case=case,
        name="成员",
        id_number=hh.members.first().id_number,
    )
    notice = PublicNotice.objects.create(
        case=case,
        step=step,
        start_date=dt.date(2025, 3, 5),
        end_date=dt.date(2025, 3, 10),
        title="公示",
        content="内容",
    )
    Objection.objects.create(case=case, notice=notice, raised_on=dt.date(2025, 3, 6), content="异议")
    Breach.objects.create(
        case=case, step=step, kind="step", due_date=dt.date(2025, 3, 8), escalated_to="township"
    )
    AssistanceMeasure.objects.create(case=case, measure=Measure.objects.first(), status="planned")
    Visit.objects.create(household=hh, area_code=hh.area_code, helper=helper, visited_on=dt.date(2025, 3, 2))
    ExitAssessment.objects.create(
        case=case, mode="assistance", assessed_on=dt.date(2025, 9, 1), eligible=True
    )
    Holiday.objects.create(date=dt.date(2025, 10, 1), name="国庆节")
    from monitoring.services.calls import call_raise

    call_raise(actor=cadre, household=hh, note="呼叫", now=now)  # an emergency call and its hops
    TaskRun.objects.create(
        task="risk_review", status="succeeded", started_at=now, as_of=now, counts={"clues": 1}
    )
    ScreeningCampaign.objects.create(
        county=areas["county"],
        year=2025,
        start_date=dt.date(2025, 5, 1),
        end_date=dt.date(2025, 5, 30),
        created_at=now,
    )
    StatusChange.objects.create(
        object_type="case", object_id=case.pk, case=case, action="open", to_status="identifying", at=now
    )
    token_issue(actor=cadre, name="脚本")  # a token, and its security event
    from monitoring.services import points

    points.points_award(
        actor=None,
        household=hh,
        conduct_code="C01",
        awarded_on=now.date(),
        reason="卫生",
        panel="甲、乙",
        now=now,
    )  # a points account and its first entry
    return {"household": hh, "case": case, "clue": clue}


def test_superuser_walks_every_registered_model(client, superuser, workflow_rows):
    client.force_login(superuser)
    assert client.get(reverse("admin:index")).status_code == 200
    unopened = []
    for model, model_admin in admin.site._registry.items():
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            assert client.get(_url(model, "add")).status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            assert client.get(_url(model, "change", obj.pk)).status_code == 200, model
            assert client.get(_url(model, "history", obj.pk)).status_code == 200, model
        elif model._meta.app_label in ("accounts", "households", "monitoring"):
            unopened.append(model)
    assert unopened == []  # every model of our apps had a change page to open


def test_every_model_of_our_apps_uses_the_role_table():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in ("accounts", "households", "monitoring"):
            assert isinstance(model_admin, permissions.RoleScopedAdminMixin), model
            for inline in model_admin.inlines:
                assert issubclass(inline, permissions.RoleScopedInlineMixin), inline


def test_site_titles_are_chinese(client, superuser):
    client.force_login(superuser)
    content = client.get(reverse("admin:index")).content.decode()
    assert "防止返贫致贫动态监测和帮扶系统" in content


def test_operators_get_in_without_is_staff(client, operator):
    assert not operator.is_staff
    client.force_login(operator)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("fixture", ["cadre", "helper_user", "township_reviewer", "county_approver"])
def test_field_roles_have_no_admin_even_with_is_staff(client, request, fixture):
    """Staff roles other than operators work in the pages only, whatever ``is_staff`` says."""
    user = request.getfixturevalue(fixture)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not permissions.has_admin_access(user)


def test_field_roles_cannot_sign_in_to_the_admin(client, areas):
    af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre_login")
    response = client.post(reverse("admin:login"), {"username": "cadre_login", "password": "pass-12345"})
    assert response.status_code == 200
    assert "该账号不能登录管理后台" in response.content.decode()


def test_department_account_has_no_admin_access(client, areas):
    dept = Department.objects.get(code="education")
    user = af.user(Role.DEPARTMENT, areas["county"], department=dept)
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert client.get(_url(Department, "changelist")).status_code == 302


def test_department_account_cannot_log_in_to_the_admin(client, areas):
    dept = Department.objects.get(code="education")
    af.user(Role.DEPARTMENT, areas["county"], username="edu", department=dept)
    response = client.post(reverse("admin:login"), {"username": "edu", "password": "pass-12345"})
    assert response.status_code == 200
    assert "该账号不能登录管理后台" in response.content.decode()


def test_inactive_user_has_no_access(client, cadre):
    cadre.is_active = False
    cadre.save()
    assert not permissions.has_admin_access(cadre)


def test_operator_index_lists_what_the_table_grants(client, operator):
    client.force_login(operator)
    response = client.get(reverse("admin:index"))
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert {"Household", "Person", "IncomeRecord", "User", "Area", "RiskType", "Holiday"} <= models


def test_cadre_cannot_open_user_admin(client, cadre):
    client.force_login(cadre)
    response = client.get(_url(User, "changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_role_table_is_data():
    assert permissions.can(_User(Role.OPERATOR), "change", "monitoring.risktype")
    assert permissions.can(_User(Role.OPERATOR), "add", "households.household")
    # only operators have an entry: the other roles work in the pages (or the API)
    for role in (
        Role.VILLAGE_CADRE,
        Role.HELPER,
        Role.TOWNSHIP_REVIEWER,
        Role.COUNTY_APPROVER,
        Role.DEPARTMENT,
    ):
        assert permissions.allowed_actions(_User(role), "households.household") == frozenset()
        assert not permissions.has_admin_access(_User(role))
    assert permissions.has_admin_access(_User(Role.OPERATOR))
    # nobody writes the status-change log, superusers included
    assert permissions.allowed_actions(_User(Role.OPERATOR, superuser=True), "monitoring.statuschange") == {
        "view"
    }


class _User:
    is_authenticated = True
    is_active = True

    def __init__(self, role, superuser=False):
        self.role = role
        self.is_superuser = superuser


# --- users, areas -------------------------------------------------------------------------


def test_operator_sees_users_in_their_county_but_no_superuser(client, operator, cadre, superuser, areas):
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    outsider = af.user(Role.COUNTY_APPROVER, other_county, username="outsider")
    client.force_login(operator)
    response = client.get(_url(User, "changelist"))
    shown = {u.username for u in response.context["cl"].result_list}
    assert "cadre_v11" in shown
    assert superuser.username not in shown
    assert outsider.username not in shown
    assert client.get(_url(User, "change", superuser.pk)).status_code == 302


def test_operator_cannot_make_a_superuser(client, operator, cadre):
    client.force_login(operator)
    response = client.get(_url(User, "change", cadre.pk))
    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields


def test_user_admin_checks_role_against_area_level(client, operator, areas):
    client.force_login(operator)
    response = client.post(
        _url(User, "add"),
        {
            "username": "new_cadre",
            "usable_password": "true",
            "password1": "A-long-pass-9876",
            "password2": "A-long-pass-9876",
            "full_name": "李四",
            "role": Role.VILLAGE_CADRE,
            "areas": [areas["t1"].pk],
        },
    )
    assert response.status_code == 200
    assert "只能选择村级区域" in str(response.context["adminform"].form.errors["areas"])
    assert not User.objects.filter(username="new_cadre").exists()

    response = client.post(
        _url(User, "add"),
        {
            "username": "new_cadre",
            "usable_password": "true",
            "password1": "A-long-pass-9876",
            "password2": "A-long-pass-9876",
            "full_name": "李四",
            "role": Role.VILLAGE_CADRE,
            "areas": [areas["v12"].pk],
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="new_cadre")
    assert list(created.areas.all()) == [areas["v12"]]


def test_operator_area_choices_are_scoped(client, operator, areas):
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    client.force_login(operator)
    response = client.get(_url(User, "add"))
    choices = response.context["adminform"].form.fields["areas"].queryset
    assert areas["v11"] in choices
    assert other_county not in choices


def test_area_admin_search_and_filter(client, operator, areas):
    client.force_login(operator)
    response = client.get(_url(areas["v11"].__class__, "changelist"), {"q": "130727100"})
    names = {a.name for a in response.context["cl"].result_list}
    assert names == {"西城镇", "一村", "二村"}
    response = client.get(_url(areas["v11"].__class__, "changelist"), {"level__exact": "village"})
    assert {a.level for a in response.context["cl"].result_list} == {"village"}


def test_each_app_declares_the_grants_on_its_own_models():
    from accounts import role_grants as accounts_grants
    from households import role_grants as household_grants
    from monitoring import role_grants as monitoring_grants

    for module, apps in (
        (accounts_grants, {"accounts"}),
        (household_grants, {"households"}),
        (monitoring_grants, {"monitoring", "django_celery_beat"}),
    ):
        labels = {label for grants in module.GRANTS.values() for label in grants} | set(module.NEVER)
        assert {label.partition(".")[0] for label in labels} <= apps, module.__name__


def test_registering_grants_again_changes_nothing_and_a_conflict_is_refused(monkeypatch):
    monkeypatch.setattr(permissions, "ADMIN_PERMISSIONS", {})
    monkeypatch.setattr(permissions, "NEVER", {})
    permissions.register_grants(
        {Role.OPERATOR: {"app.thing": permissions.RAC}}, {"app.thing": frozenset({"add"})}
    )
    permissions.register_grants(
        {Role.OPERATOR: {"app.thing": permissions.RAC}}, {"app.thing": frozenset({"add"})}
    )
    assert permissions.allowed_actions(_User(Role.OPERATOR), "app.thing") == {"view", "change"}
    with pytest.raises(ValueError):
        permissions.register_grants({Role.OPERATOR: {"app.thing": permissions.R}})
