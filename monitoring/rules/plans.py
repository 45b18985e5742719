"""Assistance plans (帮扶计划): the pure rules a plan must satisfy.

A plan is checked against the county's catalogue rules (domain §3.3, §7.3 rule 5):

* per risk type, **must-use** measures that have to be in the plan and **forbidden** measures
  that must not be (Yangyuan's must / optional / forbidden lists);
* per risk type, **consistency requirements**: at least one measure of some categories
  (因病 needs a health, social or safety-net measure, rule 3_11_003; 因学 an education or
  social measure, rule 3_11_004; …);
* a household able to work needs at least one **development** measure (industry, jobs,
  finance, public-welfare posts), when the county requires it; unless the county allows the
  "point-to-point" exception and the case's only risk is of a type flagged for it (Yangyuan:
  "对住房、饮水安全等风险单一的采取点对点针对性政策帮扶").

Subtypes follow their root: a plan for 洪涝灾害 (0201) obeys the rules of 因自然灾害 (02), and
also any rule a county wrote for 0201 itself.

Everything here takes plain data and returns plain data; :func:`rules_from_rows` and
:func:`plan_rules_for` build the rule data from the database rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from monitoring.models import MeasureStatus

# ---------------------------------------------------------------------------------------------
# Plain data
# ---------------------------------------------------------------------------------------------

MUST = "must"
OPTIONAL = "optional"
FORBIDDEN = "forbidden"
DEVELOPMENT = "development"


@dataclass(frozen=True)
class PlanMeasure:
    """One measure of a plan, as the rules see it."""

    code: str
    category_code: str
    kind: str = ""  # the category's kind: development / security / other
    name: str = ""


@dataclass(frozen=True)
class RiskRules:
    """Must-use, optional and forbidden measure codes of one risk type."""

    must: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requirement:
    """At least one measure of ``category_codes`` for ``risk_code`` (a named rule)."""

    risk_code: str
    name: str
    category_codes: frozenset[str]


@dataclass(frozen=True)
class PlanRules:
    """Everything the checks need, built once per county."""

    rules: Mapping[str, RiskRules] = field(default_factory=dict)
    requirements: tuple[Requirement, ...] = ()
    #: subtype code -> root code (0201 -> 02); codes not listed are their own root
    parents: Mapping[str, str] = field(default_factory=dict)
    risk_names: Mapping[str, str] = field(default_factory=dict)
    measure_names: Mapping[str, str] = field(default_factory=dict)
    category_names: Mapping[str, str] = field(default_factory=dict)
    #: category codes whose kind is development (for the message of the development rule)
    development_categories: tuple[str, ...] = ()
    #: risk codes flagged "point-to-point" (a single such risk may go without development)
    point_to_point: frozenset[str] = frozenset()

    def root(self, code: str) -> str:
        seen = set()
        while code in self.parents and code not in seen:
            seen.add(code)
            code = self.parents[code]
        return code

    def rule_keys(self, code: str) -> list[str]:
        """The risk codes whose rules apply to ``code``: its root first, then itself."""
        root = self.root(code)
        return [root] if root == code else [root, code]

    def risk_name(self, code: str) -> str:
        return self.risk_names.get(code, code)

    def measure_name(self, code: str) -> str:
        return self.measure_names.get(code, code)


@dataclass(frozen=True)
class Violation:
    """One reason a plan is refused: which rule, for which risk, about which measure/categories."""

    rule: str  # forbidden / must / requirement / development / empty / duplicate
    message: str
    risk_code: str = ""
    measure_code: str = ""
    category_codes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "risk": self.risk_code,
            "measure": self.measure_code,
            "categories": list(self.category_codes),
            "message": self.message,
        }


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------


def root_codes(risk_codes: Iterable[str], rules: PlanRules) -> list[str]:
    """The case's risk codes mapped to their roots, in order, without repeats."""
    out: list[str] = []
    for code in risk_codes:
        root = rules.root(code)
        if root not in out:
            out.append(root)
    return out


def _applicable_keys(risk_codes: Iterable[str], rules: PlanRules) -> list[str]:
    keys: list[str] = []
    for code in risk_codes:
        for key in rules.rule_keys(code):
            if key not in keys:
                keys.append(key)
    return keys


def validate_plan(
    *,
    risk_codes: Sequence[str],
    measures: Sequence[PlanMeasure],
    able_to_work: bool,
    rules: PlanRules,
    require_development_for_able: bool = True,
    point_to_point_exempt: bool = False,
    relief_first: bool = False,
) -> list[Violation]:
    """Every reason the plan breaks the rules; an empty list means the plan is valid.

    ``point_to_point_exempt``: the county lets a case whose only risk is flagged
    point-to-point (``rules.point_to_point``) go without a development measure.
    ``relief_first``: a green-channel case before identification ("先救助再帮扶"): the
    development measure comes later.
    """
    violations: list[Violation] = []
    if not measures:
        violations.append(Violation("empty", _("帮扶计划至少应有一项帮扶措施。")))

    seen: set[str] = set()
    for m in measures:
        if m.code in seen:
            violations.append(
                Violation(
                    "duplicate",
                    _("措施「%(measure)s」在计划中重复。")
                    % {"measure": m.name or rules.measure_name(m.code)},
                    measure_code=m.code,
                )
            )
        seen.add(m.code)

    chosen = {m.code: m for m in measures}
    chosen_categories = {m.category_code for m in measures}

    keys = _applicable_keys(risk_codes, rules)
    for key in keys:
        risk_rules = rules.rules.get(key)
        if risk_rules is None:
            continue
        risk = rules.risk_name(key)
        for code in risk_rules.forbidden:
            if code in chosen:
                violations.append(
                    Violation(
                        FORBIDDEN,
                        _("%(risk)s：禁选措施「%(measure)s」不能使用")
                        % {"risk": risk, "measure": _name(code, chosen, rules)},
                        risk_code=key,
                        measure_code=code,
                    )
                )
        for code in risk_rules.must:
            if code not in chosen:
                violations.append(
                    Violation(
                        MUST,
                        _("%(risk)s：缺少必选措施「%(measure)s」")
                        % {"risk": risk, "measure": rules.measure_name(code)},
                        risk_code=key,
                        measure_code=code,
                    )
                )

    for req in rules.requirements:
        if req.risk_code in keys and not (req.category_codes & chosen_categories):
            violations.append(
                Violation(
                    "requirement",
                    req.name or _requirement_message(req, rules),
                    risk_code=req.risk_code,
                    category_codes=tuple(sorted(req.category_codes)),
                )
            )

    if needs_development(
        risk_codes,
        able_to_work=able_to_work,
        rules=rules,
        require_development_for_able=require_development_for_able,
        point_to_point_exempt=point_to_point_exempt,
        relief_first=relief_first,
    ) and not any(m.kind == DEVELOPMENT for m in measures):
        violations.append(
            Violation(
                DEVELOPMENT,
                _development_message(rules),
                category_codes=tuple(rules.development_categories),
            )
        )
    return violations


def is_point_to_point(risk_codes: Iterable[str], rules: PlanRules) -> bool:
    """The case has a single risk (subtypes count as their root) flagged point-to-point."""
    roots = root_codes(risk_codes, rules)
    return len(roots) == 1 and roots[0] in rules.point_to_point


def needs_development(
    risk_codes: Sequence[str],
    *,
    able_to_work: bool,
    rules: PlanRules,
    require_development_for_able: bool = True,
    point_to_point_exempt: bool = False,
    relief_first: bool = False,
) -> bool:
    """Whether the plan must hold a development measure (the county's development rule)."""
    if relief_first or not (require_development_for_able and able_to_work):
        return False
    return not (point_to_point_exempt and is_point_to_point(risk_codes, rules))


def _name(code: str, chosen: Mapping[str, PlanMeasure], rules: PlanRules) -> str:
    m = chosen.get(code)
    return (m.name if m and m.name else "") or rules.measure_name(code)


def _requirement_message(req: Requirement, rules: PlanRules) -> str:
    names = "、".join(rules.category_names.get(c, c) for c in sorted(req.category_codes))
    return _("%(risk)s须至少有一项以下类别的措施：%(categories)s") % {
        "risk": rules.risk_name(req.risk_code),
        "categories": names,
    }


def _development_message(rules: PlanRules) -> str:
    if rules.development_categories:
        names = "、".join(rules.category_names.get(c, c) for c in rules.development_categories)
        return _("有劳动能力的户须至少有一项开发式帮扶措施（%(categories)s）") % {"categories": names}
    return _("有劳动能力的户须至少有一项开发式帮扶措施（产业、就业、金融、公益岗位）")


def options_for_risks(risk_codes: Sequence[str], rules: PlanRules) -> list[dict]:
    """Per risk type of a case, the must / optional / forbidden measures, for the plan editor.

    Each entry: ``{"risk": code, "name": …, "must": [{"code", "name"}…], "optional": […],
    "forbidden": […], "requirements": [rule names]}``. Subtypes show their root's lists, with
    any rule written for the subtype itself added.
    """
    out = []
    for code in risk_codes:
        lists: dict[str, list[dict]] = {MUST: [], OPTIONAL: [], FORBIDDEN: []}
        seen: dict[str, set[str]] = {MUST: set(), OPTIONAL: set(), FORBIDDEN: set()}
        keys = rules.rule_keys(code)
        for key in keys:
            risk_rules = rules.rules.get(key, RiskRules())
            for level, codes in (
                (MUST, risk_rules.must),
                (OPTIONAL, risk_rules.optional),
                (FORBIDDEN, risk_rules.forbidden),
            ):
                for m in codes:
                    if m not in seen[level]:
                        seen[level].add(m)
                        lists[level].append({"code": m, "name": rules.measure_name(m)})
        requirements = [
            req.name or _requirement_message(req, rules)
            for req in rules.requirements
            if req.risk_code in keys
        ]
        out.append({"risk": code, "name": rules.risk_name(code), **lists, "requirements": requirements})
    return out


# ---------------------------------------------------------------------------------------------
# The plan editor: every catalogue measure marked for the case's risks
# ---------------------------------------------------------------------------------------------

UNLISTED = "unlisted"
#: a measure's mark when several risks list it: forbidden wins, then must-use, then optional
MARK_ORDER = (FORBIDDEN, MUST, OPTIONAL)


def _join(names: Iterable[str]) -> str:
    return _("、").join(names)


def mark_of(code: str, risk_codes: Sequence[str], rules: PlanRules) -> tuple[str, list[str]]:
    """A measure's mark for the case's risks and the risk codes it comes from.

    Subtypes follow their root (the rule's key is reported); a measure no risk lists is
    ``unlisted``: allowed, but not on the county's lists for these risks.
    """
    found: dict[str, list[str]] = {level: [] for level in MARK_ORDER}
    for key in _applicable_keys(risk_codes, rules):
        risk_rules = rules.rules.get(key)
        if risk_rules is None:
            continue
        for level, codes in (
            (FORBIDDEN, risk_rules.forbidden),
            (MUST, risk_rules.must),
            (OPTIONAL, risk_rules.optional),
        ):
            if code in codes and key not in found[level]:
                found[level].append(key)
    for level in MARK_ORDER:
        if found[level]:
            return level, found[level]
    return UNLISTED, []


def _mark_reason(mark: str, risks: list[str], rules: PlanRules) -> str:
    names = _join(rules.risk_name(r) for r in risks)
    if mark == FORBIDDEN:
        return _("%(risks)s禁选") % {"risks": names}
    if mark == MUST:
        return _("%(risks)s必选") % {"risks": names}
    if mark == OPTIONAL:
        return _("%(risks)s可选") % {"risks": names}
    return _("未列入本案风险的措施清单")


def measure_marks(risk_codes: Sequence[str], measures: Sequence[PlanMeasure], rules: PlanRules) -> list[dict]:
    """The catalogue grouped by category (in the order given), each measure marked.

    Each group: ``{"code", "name", "kind", "counts": {mark: n}, "requirements": [rule names
    this category satisfies], "measures": [{"code", "name", "mark", "risks": [{"code",
    "name"}], "reason"}]}``.
    """
    keys = _applicable_keys(risk_codes, rules)
    groups: dict[str, dict] = {}
    for m in measures:
        group = groups.get(m.category_code)
        if group is None:
            group = groups[m.category_code] = {
                "code": m.category_code,
                "name": rules.category_names.get(m.category_code, m.category_code),
                "kind": m.kind,
                "counts": {level: 0 for level in (*MARK_ORDER, UNLISTED)},
                "requirements": [
                    req.name or _requirement_message(req, rules)
                    for req in rules.requirements
                    if req.risk_code in keys and m.category_code in req.category_codes
                ],
                "measures": [],
            }
        mark, risks = mark_of(m.code, risk_codes, rules)
        group["counts"][mark] += 1
        group["measures"].append(
            {
                "code": m.code,
                "name": m.name or rules.measure_name(m.code),
                "mark": mark,
                "risks": [{"code": r, "name": rules.risk_name(r)} for r in risks],
                "reason": _mark_reason(mark, risks, rules),
            }
        )
    return list(groups.values())


# ---------------------------------------------------------------------------------------------
# Building the rule data from the database rows
# ---------------------------------------------------------------------------------------------


def rules_from_rows(
    rule_rows: Iterable,
    requirement_rows: Iterable,
    *,
    risk_types: Iterable = (),
    measures: Iterable = (),
    categories: Iterable = (),
) -> PlanRules:
    """Build :class:`PlanRules` from ``RiskMeasureRule`` / ``RiskCategoryRequirement`` rows.

    ``risk_types`` (with ``code``, ``name``, ``parent``), ``measures`` and ``categories`` give
    the names and the subtype → root map; rule rows bring their own names too.
    """
    levels: dict[str, dict[str, list[str]]] = {}
    risk_names: dict[str, str] = {}
    measure_names: dict[str, str] = {}
    category_names: dict[str, str] = {}
    parents: dict[str, str] = {}
    development: list[str] = []
    point_to_point: set[str] = set()

    for rt in risk_types:
        risk_names[rt.code] = rt.name
        if getattr(rt, "point_to_point", False):
            point_to_point.add(rt.code)
        if rt.parent_id:
            parents[rt.code] = rt.parent.code
    for cat in categories:
        category_names[cat.code] = cat.name
        if cat.kind == DEVELOPMENT:
            development.append(cat.code)
    for m in measures:
        measure_names[m.code] = m.name

    for row in rule_rows:
        risk = row.risk_type
        risk_names.setdefault(risk.code, risk.name)
        measure_names.setdefault(row.measure.code, row.measure.name)
        levels.setdefault(risk.code, {MUST: [], OPTIONAL: [], FORBIDDEN: []})[row.level].append(
            row.measure.code
        )

    requirements = []
    for req in requirement_rows:
        cats = list(req.categories.all())
        for cat in cats:
            category_names.setdefault(cat.code, cat.name)
        risk_names.setdefault(req.risk_type.code, req.risk_type.name)
        requirements.append(
            Requirement(
                risk_code=req.risk_type.code,
                name=req.name,
                category_codes=frozenset(c.code for c in cats),
            )
        )

    rules = {
        code: RiskRules(must=tuple(lv[MUST]), optional=tuple(lv[OPTIONAL]), forbidden=tuple(lv[FORBIDDEN]))
        for code, lv in levels.items()
    }
    return PlanRules(
        rules=rules,
        requirements=tuple(requirements),
        parents=parents,
        risk_names=risk_names,
        measure_names=measure_names,
        category_names=category_names,
        development_categories=tuple(development),
        point_to_point=frozenset(point_to_point),
    )


def plan_rules_for(area_code: str) -> PlanRules:
    """The rule data of the county an area lies in (its own rules, else the defaults)."""
    from monitoring.county import catalogue_rules_for
    from monitoring.models import Measure, MeasureCategory, RiskType

    rule_rows, requirement_rows = catalogue_rules_for(area_code)
    return rules_from_rows(
        rule_rows,
        requirement_rows,
        risk_types=RiskType.objects.select_related("parent"),
        measures=Measure.objects.only("code", "name"),
        categories=MeasureCategory.objects.all(),
    )


def plan_measure_of(measure) -> PlanMeasure:
    """A catalogue ``Measure`` (with its category) as the rules see it."""
    return PlanMeasure(
        code=measure.code,
        category_code=measure.category.code,
        kind=measure.category.kind,
        name=measure.name,
    )


def measure_options_for_case(case, rules: PlanRules | None = None) -> list[dict]:
    """:func:`options_for_risks` for a case's risk types (for the plan editor page)."""
    rules = rules or plan_rules_for(case.area_code)
    codes = [rt.code for rt in case.risk_types.all()]
    return options_for_risks(codes, rules)


# ---------------------------------------------------------------------------------------------
# Measures in place (the statuses and their table are in monitoring/rules/transitions.py)
# ---------------------------------------------------------------------------------------------

#: statuses that count as "in place" for the one-month deadline
IN_PLACE = (MeasureStatus.IN_PROGRESS, MeasureStatus.IMPLEMENTED)
