"""The workflow's web forms. They parse what a person typed into Python values and nothing
more: whether a value is acceptable (a date in the future, too many risk types, a missing
authorization, a forbidden measure…) is the services' decision, and their messages are put next
to the fields (:func:`config.forms.apply_service_errors`), so nothing typed is lost.

Every form carries a one-time ``token`` (double submit → one record) and, on a case, the case's
``expected_version`` (a stale page gets the conflict message).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from config.forms import PageForm, add_service_errors, style
from households.forms import PageFormMixin, show_service_error
from households.models import MonitoringCategory
from monitoring.models import Channel, DismissReason, ExitMode, Measure, RiskType, Visit
from monitoring.services.visits import AMOUNT_FIELDS, GUARANTEE_FIELDS

DATE_WIDGET = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}


def date_field(label, **kwargs) -> forms.DateField:
    kwargs.setdefault("required", False)
    return forms.DateField(label=label, widget=forms.DateInput(**DATE_WIDGET), **kwargs)


def text_area(label, rows: int = 3, **kwargs) -> forms.CharField:
    kwargs.setdefault("required", False)
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


# --- clues --------------------------------------------------------------------------------------


def risk_type_choices() -> list[tuple[str, str]]:
    rows = RiskType.objects.filter(is_active=True).order_by("sort_order", "code")
    return [(rt.code, f"{rt.code} {rt.display_name}") for rt in rows]


class ClueReportForm(PageForm):
    """A household's self-report, or a cadre's screening finding (opens the case at once)."""

    channel = forms.ChoiceField(
        label=_("线索来源"),
        choices=[
            (Channel.SELF_REPORT, Channel.SELF_REPORT.label),
            (Channel.CADRE_SCREENING, Channel.CADRE_SCREENING.label),
        ],
        initial=Channel.SELF_REPORT,
        widget=forms.RadioSelect,
    )
    found_date = date_field(_("发现风险日期"), required=True)
    risk_type_codes = forms.MultipleChoiceField(
        label=_("风险类型（1至5项）"), required=False, widget=forms.CheckboxSelectMultiple
    )
    description = text_area(_("情况描述"), rows=4)
    reporter_name = forms.CharField(label=_("申报人/报告人"), required=False, max_length=50)
    amount = forms.DecimalField(label=_("涉及金额（元）"), required=False, max_digits=12, decimal_places=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["risk_type_codes"].choices = risk_type_choices()

    def service_values(self) -> dict:
        d = self.cleaned_data
        return {
            "channel": d.get("channel") or Channel.SELF_REPORT,
            "found_date": d.get("found_date"),
            "risk_type_codes": list(d.get("risk_type_codes") or []),
            "description": d.get("description", ""),
            "reporter_name": d.get("reporter_name", ""),
            "amount": d.get("amount"),
        }


class ClueDismissForm(PageForm):
    reason = forms.ChoiceField(
        label=_("排除原因"), choices=[("", "---------"), *DismissReason.choices], required=False
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class ClueMatchForm(PageForm):
    household = forms.IntegerField(widget=forms.HiddenInput)


class ClueOpenForm(PageForm):
    pass


class ClueBulkForm(PageForm):
    bulk_action = forms.ChoiceField(
        label=_("批量操作"),
        choices=[("", "---------"), ("dismiss", _("排除所选")), ("open_case", _("为所选启动识别"))],
        required=False,
    )
    clues = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.MultipleHiddenInput)
    reason = forms.ChoiceField(
        label=_("排除原因"), choices=[("", "---------"), *DismissReason.choices], required=False
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=300)

    def __init__(self, *args, clue_queryset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clues"].queryset = clue_queryset

    def clean(self):
        data = super().clean()
        if not data.get("clues"):
            self.add_error("clues", _("请至少勾选一条线索。"))
        if not data.get("bulk_action"):
            self.add_error("bulk_action", _("请选择批量操作。"))
        elif data["bulk_action"] == "dismiss" and not data.get("reason") and "reason" not in self.errors:
            # refused as a whole before any clue is touched (the page disables the button too)
            self.add_error("reason", _("批量排除须先选择排除原因；未排除任何线索。"))
        return data


# --- case actions ---------------------------------------------------------------------------------


class CaseActionForm(PageForm):
    """Base of every form on the case page: which action, on which step, at which version."""

    action = forms.CharField(widget=forms.HiddenInput)
    step = forms.IntegerField(widget=forms.HiddenInput, required=False)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    #: the fields that go to the service as ``data`` (the rest: ``reason`` and the hidden ones)
    data_fields: tuple[str, ...] = ()
    submit_label = _("提交")
    submit_class = "btn-primary"

    def action_values(self) -> dict:
        d = self.cleaned_data
        return {
            "action": d.get("action") or self.data.get("action") or "",
            "step_id": d.get("step"),
            "data": {k: d.get(k) for k in self.data_fields if k in d},
            "reason": d.get("reason") or "",
            "expected_version": d.get("expected_version"),
        }


class ReasonForm(CaseActionForm):
    """Return, reject, green channel, secured tracking: a written reason."""

    reason = text_area(_("原因"))
    submit_class = "btn-outline-danger"


class HomeVerificationForm(CaseActionForm):
    visited_on = date_field(_("入户日期"))
    visitors = forms.CharField(
        label=_("核查人员"), required=False, help_text=_("多人用逗号分隔"), max_length=300
    )
    authorization_signed = forms.BooleanField(label=_("农户已签字承诺授权"), required=False)
    findings = text_area(_("核查情况"), rows=4)
    risk_type_codes = forms.MultipleChoiceField(
        label=_("核实的风险类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    # the exit home check's 听评看算 (the photos are uploaded beside the form; the income is
    # calculated from the income records)
    listen = text_area(_("听：农户自述"), rows=3, help_text=_("农户讲述家庭收入、支出和困难的情况"))
    assess = text_area(_("评：村级评议"), rows=3, help_text=_("村两委和群众代表对该户的评价"))
    look = text_area(_("看：入户所见"), rows=3, help_text=_("住房、生产生活条件等核查人员所见"))
    data_fields = (
        "visited_on",
        "visitors",
        "authorization_signed",
        "findings",
        "risk_type_codes",
        "listen",
        "assess",
        "look",
    )
    submit_label = _("办结入户核查")

    def __init__(self, *args, exit_procedure: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["risk_type_codes"].choices = risk_type_choices()
        if exit_procedure:
            del self.fields["authorization_signed"]
            del self.fields["risk_type_codes"]
            self.fields["visitors"].help_text = _("不少于2名干部，用逗号分隔")
            self.fields["findings"].label = _("核查结论")
        else:
            for name in ("listen", "assess", "look"):
                del self.fields[name]

    def action_values(self) -> dict:
        values = super().action_values()
        if not values["data"].get("risk_type_codes"):
            values["data"].pop("risk_type_codes", None)
        return values


class DataComparisonForm(CaseActionForm):
    findings = text_area(_("比对结果"), rows=4)
    data_fields = ("findings",)
    submit_label = _("办结信息比对")


class VillageReviewForm(CaseActionForm):
    held_on = date_field(_("评议日期"))
    attendees = forms.IntegerField(label=_("参会人数"), required=False, min_value=0)
    votes_for = forms.IntegerField(label=_("同意票"), required=False, min_value=0)
    votes_against = forms.IntegerField(label=_("反对票"), required=False, min_value=0)
    votes_abstain = forms.IntegerField(label=_("弃权票"), required=False, min_value=0)
    minutes = text_area(_("评议记录"), rows=4)
    data_fields = ("held_on", "attendees", "votes_for", "votes_against", "votes_abstain", "minutes")
    submit_label = _("办结民主评议")


class NoticeCompleteForm(CaseActionForm):
    note = text_area(_("公示结果说明"), rows=2)
    data_fields = ("note",)
    submit_label = _("公示期满，办结")


class OpinionForm(CaseActionForm):
    opinion = text_area(_("审核意见"), rows=3)
    data_fields = ("opinion",)
    submit_label = _("审核通过")


class CountyApprovalForm(CaseActionForm):
    category = forms.ChoiceField(
        label=_("监测对象类别"),
        choices=MonitoringCategory.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    explanation = text_area(_("情况说明（突发严重困难户必填）"), rows=3)
    opinion = text_area(_("审定意见"), rows=2)
    data_fields = ("category", "explanation", "opinion")
    submit_label = _("审定纳入监测")


class ExitApprovalForm(CaseActionForm):
    opinion = text_area(_("审定意见"), rows=2)
    data_fields = ("opinion",)
    submit_label = _("审定风险消除")


class NoticePostForm(CaseActionForm):
    start_date = date_field(_("公示开始日期"), help_text=_("留空为今天"))
    data_fields = ("start_date",)
    submit_label = _("发布公示")


class ObjectionForm(CaseActionForm):
    notice = forms.IntegerField(widget=forms.HiddenInput, required=False)
    raised_on = date_field(_("提出日期"))
    raised_by = forms.CharField(label=_("异议人"), required=False, max_length=50)
    content = text_area(_("异议内容"), rows=3)
    data_fields = ("notice", "raised_on", "raised_by", "content")
    submit_label = _("登记异议")
    submit_class = "btn-outline-primary"


class ResolveObjectionForm(CaseActionForm):
    objection = forms.IntegerField(widget=forms.HiddenInput)
    upheld = forms.TypedChoiceField(
        label=_("调查结论"),
        choices=[("0", _("异议不成立，继续办理")), ("1", _("异议成立，不予通过"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    finding = text_area(_("调查情况"), rows=3)
    data_fields = ("objection", "upheld", "finding")
    submit_label = _("处理异议")


class MeasureStartForm(CaseActionForm):
    measure = forms.IntegerField(widget=forms.HiddenInput)
    data_fields = ("measure",)
    submit_label = _("开始实施")
    submit_class = "btn-outline-primary"


class MeasureCompleteForm(CaseActionForm):
    measure = forms.IntegerField(widget=forms.HiddenInput)
    actual_date = date_field(_("实际落实日期"))
    amount = forms.DecimalField(label=_("资金（元）"), required=False, max_digits=12, decimal_places=2)
    note = forms.CharField(label=_("备注"), required=False, max_length=300)
    data_fields = ("measure", "actual_date", "amount", "note")
    submit_label = _("已落实")


class MeasureStopForm(CaseActionForm):
    measure = forms.IntegerField(widget=forms.HiddenInput)
    reason = text_area(_("终止原因"), rows=2)
    data_fields = ("measure",)
    submit_label = _("终止")
    submit_class = "btn-outline-danger"


#: step kind → the form that completes it (identification; exit uses the exit variants)
COMPLETE_FORMS = {
    "home_verification": HomeVerificationForm,
    "data_comparison": DataComparisonForm,
    "village_review": VillageReviewForm,
    "village_notice": NoticeCompleteForm,
    "township_review": OpinionForm,
    "county_approval": CountyApprovalForm,
}

ACTION_FORMS = {
    "reject": ReasonForm,
    "return": ReasonForm,
    "green_channel": ReasonForm,
    "secure_tracking": ReasonForm,
    "post_notice": NoticePostForm,
    "record_objection": ObjectionForm,
    "resolve_objection": ResolveObjectionForm,
    "measure_start": MeasureStartForm,
    "measure_complete": MeasureCompleteForm,
    "measure_stop": MeasureStopForm,
}


def action_form_class(action: str, step=None) -> type[CaseActionForm] | None:
    """The form for an action (and, for ``complete``, the step's kind)."""
    if action == "complete":
        if step is None:
            return None
        if step.kind == "county_approval" and step.procedure_kind == "exit":
            return ExitApprovalForm
        return COMPLETE_FORMS.get(step.kind)
    return ACTION_FORMS.get(action)


def action_form(action: str, *, step=None, data=None, initial=None, auto_id: str | None = None):
    """An unbound (or bound, with ``data``) form for ``action``, ids unique on the page."""
    form_class = action_form_class(action, step)
    if form_class is None:
        return None
    kwargs = {"initial": initial or {}, "auto_id": auto_id or "id_%s"}
    if form_class is HomeVerificationForm:
        kwargs["exit_procedure"] = step is not None and step.procedure_kind == "exit"
    return form_class(data, **kwargs) if data is not None else form_class(**kwargs)


# --- the exit page ---------------------------------------------------------------------------------


class ExitProposeForm(PageForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    mode = forms.ChoiceField(label=_("消除方式"), choices=ExitMode.choices, widget=forms.RadioSelect)
    override_reason = text_area(
        _("特批理由（不符合条件时由县级审定人员填写）"),
        rows=3,
        help_text=_("只有县级审定人员可以在不符合条件时特批提出。"),
    )


# --- the plan editor ---------------------------------------------------------------------------


class MeasureChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _("%(code)s %(name)s（%(category)s）") % {
            "code": obj.code,
            "name": obj.display_name,
            "category": obj.category.display_name,
        }


class PlanItemForm(forms.Form):
    measure = MeasureChoiceField(label=_("帮扶措施"), queryset=Measure.objects.none(), required=False)
    department = forms.ModelChoiceField(
        label=_("责任部门"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
        help_text=_("留空为措施目录中的责任部门"),
    )
    responsible_person = forms.CharField(label=_("责任人"), required=False, max_length=50)
    planned_start = date_field(_("计划开始"))
    planned_end = date_field(_("计划完成"))
    amount = forms.DecimalField(label=_("资金（元）"), required=False, max_digits=12, decimal_places=2)

    def __init__(self, *args, measures=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if measures is not None:
            self.fields["measure"].queryset = measures
        style(self)

    def add_error(self, field, error):
        super().add_error(field, error)
        style(self)

    def item(self) -> dict | None:
        """The plan item for the service, ``None`` for an empty row."""
        d = self.cleaned_data
        if not d.get("measure") and not self.has_changed():
            return None
        item = {
            "measure": d.get("measure").pk if d.get("measure") else None,
            "responsible_person": d.get("responsible_person") or "",
            "planned_start": d.get("planned_start"),
            "planned_end": d.get("planned_end"),
            "amount": d.get("amount"),
        }
        if d.get("department") is not None:
            item["department"] = d["department"]
        return item


class BasePlanFormSet(forms.BaseFormSet):
    def __init__(self, *args, measures=None, **kwargs):
        self.measures = measures
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "measures": self.measures}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            measures=self.measures,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


PlanFormSet = forms.formset_factory(PlanItemForm, formset=BasePlanFormSet, extra=2, max_num=30)


class PlanForm(PageForm):
    """The plan editor's own fields (the rows are the formset)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(label=_("调整说明"), required=False, max_length=300)


# --- the visit form (走访记录) ---------------------------------------------------------------
# It parses input only; ``visit_record`` validates and saves, and its refusals are shown next
# to the fields (``households.forms.show_service_error``).

#: service field → form field, for the names the clue service uses
_RENAMED = {"found_date": "visited_on"}


def _risk_types() -> list[RiskType]:
    """Selectable risk types: a type that needs a sub-item (自然灾害) is offered through its
    sub-items, shown under its name."""
    rows = RiskType.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code")
    return [r for r in rows if not r.needs_subtype]


class VisitForm(PageFormMixin, forms.Form):
    visited_on = forms.DateField(
        label=_("走访日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    needs = forms.CharField(label=_("困难和需求"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(label=_("走访情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    raise_clue = forms.BooleanField(label=_("发现返贫致贫风险，登记风险线索"), required=False)
    risk_type_codes = forms.MultipleChoiceField(
        label=_("风险类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=_("风险情况描述"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("不填则使用走访情况。"),
    )
    amount = forms.DecimalField(
        label=_("涉及金额（元）"),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in AMOUNT_FIELDS:
            self.fields[name] = forms.DecimalField(
                label=Visit._meta.get_field(name).verbose_name,
                required=False,
                max_digits=12,
                decimal_places=2,
                widget=forms.NumberInput(
                    attrs={"class": "form-control", "inputmode": "decimal", "step": "0.01"}
                ),
            )
        for name in GUARANTEE_FIELDS:
            self.fields[name] = forms.BooleanField(
                label=Visit._meta.get_field(name).verbose_name,
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
            )
        risk_types = _risk_types()
        self.fields["risk_type_codes"].choices = [(r.code, r.display_name) for r in risk_types]
        self._risk_parent = {r.code: r.parent.display_name if r.parent_id else "" for r in risk_types}

    def amount_fields(self):
        return [self[name] for name in AMOUNT_FIELDS]

    def risk_type_groups(self) -> list[tuple[str, list]]:
        """The risk type checkboxes in runs: ``("", [...])`` for main types, ``(parent name,
        [...])`` for a parent's sub-items."""
        groups: list[tuple[str, list]] = []
        for option in self["risk_type_codes"]:
            parent = self._risk_parent.get(str(option.data["value"]), "")
            if groups and groups[-1][0] == parent:
                groups[-1][1].append(option)
            else:
                groups.append((parent, [option]))
        return groups

    def guarantee_fields(self):
        return [self[name] for name in GUARANTEE_FIELDS]

    def service_data(self) -> dict:
        """The keyword arguments of :func:`monitoring.services.visits.visit_record`."""
        data = self.cleaned_data
        clue = None
        if data.get("raise_clue"):
            clue = {
                "risk_type_codes": list(data.get("risk_type_codes") or []),
                "description": data.get("description", ""),
                "amount": data.get("amount"),
            }
        return {
            "visited_on": data.get("visited_on"),
            **{name: data.get(name) for name in AMOUNT_FIELDS},
            **{name: bool(data.get(name)) for name in GUARANTEE_FIELDS},
            "needs": data.get("needs", ""),
            "notes": data.get("notes", ""),
            "raise_clue": clue,
        }

    @staticmethod
    def _renamed(exc: Exception) -> Exception:
        if hasattr(exc, "error_dict"):
            renamed = {}
            for field, messages in exc.message_dict.items():
                renamed.setdefault(_RENAMED.get(field, field), []).extend(messages)
            exc = ValidationError(renamed)
        return exc

    def show_service_error(self, exc: Exception) -> None:
        show_service_error(self, self._renamed(exc))

    def add_service_errors(self, exc: Exception | None) -> None:
        """The service's messages for the fields without an error of their own (see
        :func:`config.forms.add_service_errors`)."""
        add_service_errors(self, self._renamed(exc) if exc is not None else None)


# --- motivation points (扶志积分) ----------------------------------------------------------------


class PointsAwardForm(PageForm):
    """The village panel's award: one listed conduct, the date, the reason and the panel."""

    conduct = forms.ChoiceField(label=_("评分项"), required=False)
    awarded_on = date_field(_("评议日期"))
    reason = text_area(_("加分事由"), rows=2, max_length=300)
    panel = forms.CharField(
        label=_("评议小组成员"),
        required=False,
        max_length=300,
        help_text=_("填写姓名，用顿号或逗号分隔。"),
    )

    def __init__(self, *args, conduct_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conduct"].choices = [("", "---------")] + [
            (c.code, _("%(name)s（%(points)d分）") % {"name": c.display_name, "points": c.points})
            for c in conduct_items
        ]

    def service_values(self) -> dict:
        d = self.cleaned_data
        return {
            "conduct_code": d.get("conduct") or "",
            "awarded_on": d.get("awarded_on"),
            "reason": d.get("reason", ""),
            "panel": d.get("panel", ""),
        }


class PointsRedeemForm(PageForm):
    """A redemption at the village point shop: goods, how many, the date."""

    item = forms.ChoiceField(label=_("兑换商品"), required=False)
    quantity = forms.IntegerField(label=_("数量"), required=False, initial=1)
    redeemed_on = date_field(_("兑换日期"))
    note = forms.CharField(label=_("备注"), required=False, max_length=300)

    def __init__(self, *args, shop_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "---------")] + [
            (
                g.code,
                _("%(name)s（%(price)d分/%(unit)s）")
                % {"name": g.display_name, "price": g.price, "unit": g.display_unit},
            )
            for g in shop_items
        ]

    def service_values(self) -> dict:
        d = self.cleaned_data
        return {
            "item_code": d.get("item") or "",
            "quantity": d.get("quantity"),
            "redeemed_on": d.get("redeemed_on"),
            "note": d.get("note", ""),
        }


# --- helper pairing (结对帮扶) -------------------------------------------------------------------


class PairingForm(PageForm):
    """Bulk pairing of an area's unassigned monitored households with helpers."""

    area = forms.ChoiceField(label=_("乡镇或村"), required=False)
    limit = forms.IntegerField(label=_("每名帮扶人最多户数"), required=False)
    start_date = date_field(_("帮扶开始时间"))

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "---------")] + [(str(a.pk), f"{a.code} {a.name}") for a in areas]

    def service_values(self, areas) -> dict:
        d = self.cleaned_data
        by_pk = {str(a.pk): a for a in areas}
        return {
            "area": by_pk.get(d.get("area") or ""),
            "limit": d.get("limit"),
            "start_date": d.get("start_date"),
        }


class HelperLeaveForm(PageForm):
    """A helper leaves: the date and why; their households are paired again."""

    left_on = date_field(_("离岗日期"))
    reason = forms.CharField(label=_("离岗原因"), required=False, max_length=300)
    limit = forms.IntegerField(label=_("每名帮扶人最多户数"), required=False)

    def service_values(self) -> dict:
        d = self.cleaned_data
        return {"left_on": d.get("left_on"), "reason": d.get("reason", ""), "limit": d.get("limit")}
# --- the one-key emergency call --------------------------------------------------------------


class CallRaiseForm(PageFormMixin, forms.Form):
    note = forms.CharField(
        label=_("情况说明"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("可不填：例如“老人摔倒”“突发疾病”。"),
    )


class CallCloseForm(PageFormMixin, forms.Form):
    outcome = forms.CharField(
        label=_("处置情况"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("到场时间、做了什么、结果如何。"),
    )
    raise_clue = forms.BooleanField(label=_("发现返贫致贫风险，登记风险线索"), required=False)
    risk_type_codes = forms.MultipleChoiceField(
        label=_("风险类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=_("风险情况描述"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不填则使用处置情况。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        risk_types = _risk_types()
        self.fields["risk_type_codes"].choices = [(r.code, r.display_name) for r in risk_types]
        self._risk_parent = {r.code: r.parent.display_name if r.parent_id else "" for r in risk_types}

    risk_type_groups = VisitForm.risk_type_groups

    def service_data(self) -> dict:
        """The keyword arguments of :func:`monitoring.services.calls.call_close`."""
        data = self.cleaned_data
        clue = None
        if data.get("raise_clue"):
            clue = {
                "risk_type_codes": list(data.get("risk_type_codes") or []),
                "description": data.get("description", ""),
            }
        return {"outcome": data.get("outcome", ""), "raise_clue": clue}
