"""Reference data in the admin (operators edit it) and the workflow's records (read-only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from monitoring.models import (
    Clue,
    Holiday,
    IncomeThreshold,
    MonitoringCase,
    ProcedureDefinition,
    RiskMeasureRule,
    RiskType,
    StatusChange,
)
from tests.accounts import factories as af


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def status_change(case):
    return StatusChange.objects.create(
        object_type="case",
        object_id=case.pk,
        case=case,
        action="open",
        to_status="identifying",
        at=timezone.now(),
    )


# --- reference data -----------------------------------------------------------------------


def test_operator_adds_a_holiday(client, operator):
    client.force_login(operator)
    response = client.post(
        _url(Holiday, "add"), {"date": "2025-10-01", "name": "国庆节", "is_working_day": ""}
    )
    assert response.status_code == 302
    assert Holiday.objects.get(date=dt.date(2025, 10, 1)).name == "国庆节"


def test_operator_changes_a_risk_type_and_the_history_records_it(client, operator):
    risk = RiskType.objects.get(code="01")
    client.force_login(operator)
    response = client.get(_url(RiskType, "change", risk.pk))
    assert response.status_code == 200
    response = client.post(
        _url(RiskType, "change", risk.pk),
        {
            "code": "01",
            "name": "因病（含慢性病）",
            "parent": "",
            "green_channel": "on",
            "is_active": "on",
            "sort_order": str(risk.sort_order),
        },
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.name == "因病（含慢性病）" and risk.green_channel
    assert risk.history.first().history_user == operator
    assert client.get(_url(RiskType, "history", risk.pk)).status_code == 200


def test_income_threshold_validation_shows_on_the_form(client, operator):
    client.force_login(operator)
    response = client.post(
        _url(IncomeThreshold, "add"), {"year": "2026", "amount": "0", "window_months": "12", "area": ""}
    )
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors


def test_operator_area_choices_for_a_county_rule_are_scoped(client, operator, areas):
    other = af.area("130728000000", "怀安县", "county", areas["city"])
    client.force_login(operator)
    response = client.get(_url(RiskMeasureRule, "add"))
    choices = list(response.context["adminform"].form.fields["county"].queryset)
    assert areas["county"] in choices and other not in choices


def test_risk_measure_rules_filter_by_risk_type_and_level(client, operator):
    risk = RiskType.objects.get(code="01")
    client.force_login(operator)
    response = client.get(
        _url(RiskMeasureRule, "changelist"), {"risk_type__id__exact": risk.pk, "level__exact": "must"}
    )
    assert response.status_code == 200
    shown = list(response.context["cl"].queryset)
    assert shown == list(RiskMeasureRule.objects.filter(risk_type=risk, level="must"))
    assert all(rule.risk_type_id == risk.pk and rule.level == "must" for rule in shown)


def test_rule_changelist_query_count_is_fixed(client, operator, django_assert_max_num_queries):
    client.force_login(operator)
    url = _url(RiskMeasureRule, "changelist")
    client.get(url)
    assert RiskMeasureRule.objects.count() > 10
    with django_assert_max_num_queries(12):
        client.get(url)


def test_procedure_page_shows_steps_and_planned_days(client, operator):
    procedure = ProcedureDefinition.objects.get(name__startswith="阳原县叠加")
    client.force_login(operator)
    response = client.get(_url(ProcedureDefinition, "change", procedure.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert f"{procedure.planned_days()}天" in content
    formset = response.context["inline_admin_formsets"][0].formset
    assert len(formset.forms) == procedure.steps.count()
    # a step can only wait for steps of its own procedure
    choices = set(formset.forms[0].fields["waits_for"].queryset)
    assert choices == set(procedure.steps.all())
    listing = client.get(_url(ProcedureDefinition, "changelist")).content.decode()
    assert f"{procedure.planned_days()}天" in listing


@pytest.mark.parametrize("fixture", ["cadre", "township_reviewer", "county_approver"])
def test_reference_data_is_not_editable_by_field_roles(client, request, fixture):
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    risk = RiskType.objects.get(code="01")
    assert client.get(_url(RiskType, "add")).status_code == 302  # to the admin's sign-in
    assert client.post(_url(RiskType, "change", risk.pk), {"code": "01", "name": "x"}).status_code == 302
    risk.refresh_from_db()
    assert risk.name == "因病"


# --- the workflow's records ---------------------------------------------------------------


def test_status_change_log_is_append_only_even_for_superusers(client, superuser, status_change):
    client.force_login(superuser)
    assert client.get(_url(StatusChange, "changelist")).status_code == 200
    assert client.get(_url(StatusChange, "add")).status_code == 403
    response = client.get(_url(StatusChange, "change", status_change.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(_url(StatusChange, "change", status_change.pk), {"reason": "x"}).status_code == 403
    assert client.post(_url(StatusChange, "delete", status_change.pk), {"post": "yes"}).status_code == 403
    response = client.post(
        _url(StatusChange, "changelist"),
        {"action": "delete_selected", "_selected_action": [status_change.pk], "post": "yes"},
    )
    assert StatusChange.objects.filter(pk=status_change.pk).exists()
    model_admin = admin.site._registry[StatusChange]
    request = response.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, status_change)
    assert not model_admin.has_delete_permission(request, status_change)


def test_deleting_a_case_cannot_cascade_into_the_log(client, superuser, status_change):
    client.force_login(superuser)
    response = client.post(_url(MonitoringCase, "delete", status_change.case_id), {"post": "yes"})
    assert response.status_code == 403
    assert MonitoringCase.objects.filter(pk=status_change.case_id).exists()
    assert StatusChange.objects.filter(pk=status_change.pk).exists()


def test_workflow_records_are_read_only_for_operators(client, areas, case):
    client.force_login(af.user("operator", areas["v11"], username="operator_v11"))
    response = client.get(_url(MonitoringCase, "changelist"))
    assert [c.pk for c in response.context["cl"].result_list] == [case.pk]
    response = client.get(_url(MonitoringCase, "change", case.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(_url(MonitoringCase, "change", case.pk), {}).status_code == 403
    assert client.get(_url(MonitoringCase, "add")).status_code == 403
    assert client.get(_url(Clue, "add")).status_code == 403


def test_workflow_records_of_other_areas_are_hidden(client, areas, case, status_change):
    outsider = af.user("operator", areas["v21"], username="operator_v21")
    client.force_login(outsider)
    assert list(client.get(_url(MonitoringCase, "changelist")).context["cl"].result_list) == []
    assert list(client.get(_url(StatusChange, "changelist")).context["cl"].result_list) == []
    assert client.get(_url(MonitoringCase, "change", case.pk)).status_code == 302


def test_no_status_field_is_editable_even_for_superusers(client, superuser, case):
    client.force_login(superuser)
    response = client.get(_url(MonitoringCase, "change", case.pk))
    assert response.status_code == 200
    assert "status" not in response.context["adminform"].form.fields
    steps = response.context["inline_admin_formsets"][0]
    assert steps.formset.prefix == "steps"
    assert (
        not steps.has_add_permission and not steps.has_change_permission and not steps.has_delete_permission
    )
    assert client.get(_url(MonitoringCase, "add")).status_code == 403
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "monitoring" or not any(f.name == "status" for f in model._meta.fields):
            continue
        form = model_admin.get_form(response.wsgi_request, model(), change=True)
        assert "status" not in form.base_fields, model
