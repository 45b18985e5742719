"""The assistance plan editor (``/cases/<pk>/plan/``) and the exit proposal (``/cases/<pk>/exit/``)."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.errors import Conflict, ServiceError, ValidationError
from accounts.models import Role
from config.forms import already_submitted, remember_submitted
from monitoring import dispatch
from monitoring.county import county_code_of
from monitoring.forms import ExitProposeForm, PlanForm, PlanFormSet
from monitoring.models import ExitMode, Measure, MeasureStatus, RuleLevel
from monitoring.rules import plans
from monitoring.selectors import case_option
from monitoring.services import exit_check, exits
from monitoring.services.assistance import current_plan_violations, plan_editor_marks

from .common import error_status, load_case, show_error, staff_page

ITEM_KEY = re.compile(r"^items-(\d+)-(\w+)$")


def catalogue(case):
    """The county's active measures (its own catalogue, else the shared one)."""
    return (
        Measure.objects.filter(is_active=True)
        .filter(Q(county__isnull=True) | Q(county__code=county_code_of(case.area_code)))
        .select_related("category", "department")
        .order_by("category__sort_order", "code")
    )


class MarkedSelect(forms.Select):
    """The measure picker: options grouped by category, forbidden ones disabled with the reason."""

    def __init__(self, *args, disabled: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled = disabled or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        reason = self.disabled.get(str(value))
        if reason and not selected:
            option["attrs"]["disabled"] = True
            option["attrs"]["title"] = reason
        return option


MARK_CSS = {
    plans.MUST: "text-bg-danger",
    plans.OPTIONAL: "text-bg-success",
    plans.FORBIDDEN: "text-bg-dark",
    plans.UNLISTED: "text-bg-light border",
}


def mark_label(mark: str) -> str:
    return RuleLevel(mark).label if mark in RuleLevel.values else _("未列出")


def _mark_measure_fields(formset, groups: list[dict]) -> None:
    """Every row's measure picker (and the template row's) grouped and marked like the list."""
    choices: list = [("", "---------")]
    disabled: dict[str, str] = {}
    for group in groups:
        options = []
        for m in group["measures"]:
            label = _("%(name)s（%(mark)s）") % {"name": m["name"], "mark": mark_label(m["mark"])}
            if m["mark"] == plans.FORBIDDEN:
                label = _("%(name)s（%(reason)s）") % {"name": m["name"], "reason": m["reason"]}
                disabled[str(m["id"])] = m["reason"]
            options.append((m["id"], label))
        choices.append((group["name"], options))
    for row in [*formset.forms, formset.empty_form_marked]:
        field = row.fields["measure"]
        field.widget = MarkedSelect(attrs=field.widget.attrs, disabled=disabled)
        field.choices = choices


def _must_rows(case, groups: list[dict]) -> list[dict]:
    """New rows pre-filled with the must-use measures the plan does not have yet."""
    active = set(case.measures.exclude(status=MeasureStatus.STOPPED).values_list("measure_id", flat=True))
    return [
        {"measure": m["id"]}
        for group in groups
        for m in group["measures"]
        if m["mark"] == plans.MUST and m["id"] not in active
    ]


def _plan_context(request, case, *, form, formset, marks) -> dict:
    existing = list(case.measures.select_related("measure__category", "department").order_by("id"))
    options = plans.measure_options_for_case(case)
    plan_option = case_option(case, request.user, "set_plan", now=timezone.now())
    active = [am for am in existing if am.status != MeasureStatus.STOPPED]
    is_operator = request.user.has_role(Role.OPERATOR)
    return {
        "case": case,
        "household": case.household,
        "form": form,
        "formset": formset,
        "options": options,
        "groups": marks["groups"],
        "development": marks["development"],
        "marks": [
            (level, mark_label(level), MARK_CSS[level])
            for level in (plans.MUST, plans.OPTIONAL, plans.FORBIDDEN, plans.UNLISTED)
        ],
        "requirements": list(dict.fromkeys(r for risk in options for r in risk["requirements"])),
        "rules_admin_url": reverse("admin:monitoring_riskmeasurerule_changelist") if is_operator else "",
        "existing": existing,
        "current_violations": current_plan_violations(case) if active else [],
        "plan_allowed": plan_option,
    }


def _put_errors(exc: ValidationError, form, formset, rows: list[int]) -> None:
    """The service's ``items-<i>-<field>`` errors go next to the row's field (``i`` counts the
    rows that were sent, not the empty ones); the plan's violations go on top."""
    if not hasattr(exc, "error_dict"):
        show_error(form, exc)
        return
    for key, errors in exc.message_dict.items():
        match = ITEM_KEY.match(key)
        if match and int(match[1]) < len(rows):
            row = formset.forms[rows[int(match[1])]]
            field = match[2] if match[2] in row.fields else None
            for message in errors:
                row.add_error(field, message)
        else:
            for message in errors:
                form.add_error(None, message)
                _mark_rows(formset, rows, message)


def _mark_rows(formset, rows: list[int], message: str) -> None:
    """A plan violation that names a measure (「name」) is also shown on the rows that chose it."""
    for index in rows:
        row = formset.forms[index]
        measure = row.cleaned_data.get("measure") if hasattr(row, "cleaned_data") else None
        if measure is not None and f"「{measure.name}」" in message:
            row.add_error("measure", message)


@staff_page
def case_plan(request, pk: int):
    case = load_case(request, pk)
    measures = catalogue(case)
    marks = plan_editor_marks(case, measures)
    status = 200
    if request.method == "POST":
        form = PlanForm(request.POST)
        formset = PlanFormSet(request.POST, prefix="items", measures=measures)
        done = already_submitted(request, form.submitted_token())
        if done is not None:
            return done
        if form.is_valid() and formset.is_valid():
            rows, items = [], []
            for index, row in enumerate(formset.forms):
                item = row.item()
                if item is not None:
                    rows.append(index)
                    items.append(item)
            try:
                dispatch.run(
                    user=request.user,
                    case=case,
                    action="set_plan",
                    data={"items": items},
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data["expected_version"],
                )
            except Conflict as exc:
                # The rows stay as typed; the version is now the current one, to send again knowingly.
                data = request.POST.copy()
                data["expected_version"] = str(type(case).objects.get(pk=case.pk).version)
                form = PlanForm(data)
                form.is_valid()
                form.add_error(None, exc.message)
                status = 409
            except ValidationError as exc:
                _put_errors(exc, form, formset, rows)
            except ServiceError as exc:
                show_error(form, exc)
                status = error_status(exc)
            else:
                url = reverse("monitoring:case_detail", args=[case.pk])
                remember_submitted(request, form.submitted_token(), url)
                messages.success(
                    request,
                    ngettext("帮扶计划已保存（%(n)s项措施）。", "帮扶计划已保存（%(n)s项措施）。", len(items))
                    % {"n": len(items)},
                )
                return redirect(url)
    else:
        form = PlanForm(initial={"expected_version": case.version})
        formset = PlanFormSet(prefix="items", measures=measures, initial=_must_rows(case, marks["groups"]))
    formset.empty_form_marked = formset.empty_form
    _mark_measure_fields(formset, marks["groups"])
    context = _plan_context(request, case, form=form, formset=formset, marks=marks)
    return render(request, "monitoring/case_plan.html", context, status=status)


# --- exit -----------------------------------------------------------------------------------------


@staff_page
def case_exit(request, pk: int):
    """The eligibility checklist for a mode, and the proposal (with a county override)."""
    case = load_case(request, pk)
    now = timezone.now()
    status = 200
    if request.method == "POST":
        form = ExitProposeForm(request.POST)
        done = already_submitted(request, form.submitted_token())
        if done is not None:
            return done
        mode = (
            request.POST.get("mode") if request.POST.get("mode") in ExitMode.values else ExitMode.ASSISTANCE
        )
        if form.is_valid():
            try:
                dispatch.run(
                    user=request.user,
                    case=case,
                    action="propose_exit",
                    data={
                        "mode": form.cleaned_data["mode"],
                        "override_reason": form.cleaned_data["override_reason"],
                    },
                    expected_version=form.cleaned_data["expected_version"],
                    now=now,
                )
            except (ServiceError, ValidationError) as exc:
                show_error(form, exc)
                status = error_status(exc)
            else:
                url = reverse("monitoring:case_detail", args=[case.pk])
                remember_submitted(request, form.submitted_token(), url)
                messages.success(request, _("已提出风险消除，进入风险消除程序。"))
                return redirect(url)
        case = load_case(request, pk)
    else:
        mode = request.GET.get("mode") if request.GET.get("mode") in ExitMode.values else ExitMode.ASSISTANCE
        form = ExitProposeForm(initial={"mode": mode, "expected_version": case.version})
    checks = exits.exit_check(case, mode=mode, now=now)
    propose = case_option(case, request.user, "propose_exit", now=now)
    return render(
        request,
        "monitoring/case_exit.html",
        {
            "case": case,
            "household": case.household,
            "form": form,
            "mode": mode,
            "modes": ExitMode.choices,
            "checks": checks,
            "eligible": all(c["ok"] for c in checks),
            "propose": propose,
            "can_override": request.user.has_role(Role.COUNTY_APPROVER),
            **_home_check_context(case, now),
        },
        status=status,
    )


def _home_check_context(case, now) -> dict:
    """The exit home check's 听评看算 beside the criteria: as recorded once the exit procedure's
    home check is done (or under way), else the income as it would be calculated now."""
    check = exit_check.home_check(case, now=now)
    preview = None if check else exit_check.calculated_income(case.household, today=timezone.localdate(now))
    return {"home_check": check, "income_preview": preview}
