"""Identifications brought in by an import of the national system's data.

A county that adopts the system has monitored households identified before it: the national
export gives each one's category, risks 1–5, identification month, whether its risk is
eliminated, how and when. The import (``households.imports``) writes the households' own
fields; :func:`record_imported` (its receiver of ``households.signals.monitoring_imported``,
inside the import's transaction) keeps each identification as an **imported case**
(``MonitoringCase.imported``): status monitored or eliminated, the risks, the category and the
dates as the file gave them, no procedure steps. Every case it creates or changes gets its
``StatusChange`` row (action ``import``: who, when, from, to, why), the one audit trail of
every status. From then on the case is the workflow's like any other: plans, visits, the
exit procedure.

A household inside a case of the workflow (one this system's procedure opened) is left alone:
its status belongs to the procedure. Re-importing the same file changes nothing; a newer file
changes the imported case where it differs. Set-based: a few queries per import, whatever its
size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _

from households.imports.layouts import MonitoringSource, normalize_header
from households.models import Household

from ..county import settings_for
from ..models import (
    OPEN_CASE_STATUSES,
    CaseStatus,
    ExitMode,
    MonitoringCase,
    ProcedureDefinition,
    ProcedureKind,
    RiskType,
    StatusChange,
)
from ..rules import deadlines

#: the case fields an imported row sets
_FIELDS = ("status", "category", "identified_on", "eliminated_on", "exit_mode")


def _local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=deadlines.SHANGHAI)


def _procedure(area_code: str, cache: dict) -> ProcedureDefinition:
    county = area_code[:6]
    if county not in cache:
        chosen = settings_for(area_code).identification_procedure
        cache[county] = chosen or (
            ProcedureDefinition.objects.filter(kind=ProcedureKind.IDENTIFICATION)
            .order_by("county_id", "id")
            .first()
        )
    return cache[county]


def _wanted(row: dict) -> dict:
    """The case's fields as the imported row gives them."""
    eliminated = row["eliminated"]
    return {
        "status": CaseStatus.ELIMINATED if eliminated else CaseStatus.MONITORED,
        "category": row["category"],
        "identified_on": row["identified_on"],
        "eliminated_on": row["eliminated_on"] if eliminated else None,
        "exit_mode": row["elimination_mode"]
        if eliminated and row["elimination_mode"] in ExitMode.values
        else "",
    }


def _latest_cases(ids: list[int]) -> dict[int, MonitoringCase]:
    """Per household: its open case, else its latest case (locked)."""
    found: dict[int, MonitoringCase] = {}
    for case in (
        MonitoringCase.objects.select_for_update()
        .filter(household_id__any=ids)
        .order_by("household_id", "-opened_at", "-id")
    ):
        current = found.get(case.household_id)
        if current is None or (case.is_open and not current.is_open):
            found[case.household_id] = case
    return found


def _decide(row: dict, case: MonitoringCase | None, wanted: dict) -> str:
    """ "create", "update", "same" or "kept" (left to the workflow)."""
    if case is None:
        return "create"
    if not case.imported:
        if case.is_open:
            return "kept"
        # a closed case of the workflow: the same outcome again is no news; a household
        # monitored again in the national system gets an imported case of its own
        if wanted["status"] == CaseStatus.ELIMINATED and case.status == CaseStatus.ELIMINATED:
            return "same"
        return "create"
    if any(getattr(case, name) != wanted[name] for name in _FIELDS):
        return "update"
    return "update" if set(row["risks"]) != set(case.risk_codes) else "same"


def record_imported(*, rows: list[dict], actor, at: dt.datetime, reason: str = "", **_signal) -> dict:
    """Create or update the imported case of each row's household; return the counts."""
    today = deadlines.local_date(at)
    reason = reason or _("导入全国系统识别结果")
    ids = [r["household_id"] for r in rows]
    cases = _latest_cases(ids)
    risk_ids = dict(RiskType.objects.values_list("code", "pk"))
    current_risks: dict[int, set[str]] = defaultdict(set)
    through = MonitoringCase.risk_types.through
    for case_id, code in through.objects.filter(
        monitoringcase_id__any=[c.pk for c in cases.values() if c.imported]
    ).values_list("monitoringcase_id", "risktype__code"):
        current_risks[case_id].add(code)
    for case in cases.values():
        case.risk_codes = current_risks.get(case.pk, set())
    households = dict(Household.objects.filter(pk__any=ids).values_list("pk", "area_code"))
    procedures: dict = {}
    intervals: dict[str, int] = {}

    def next_visit(area_code: str) -> dt.date:
        county = area_code[:6]
        if county not in intervals:
            intervals[county] = settings_for(area_code).visit_interval_days
        return today + dt.timedelta(days=intervals[county])

    created, updated, changes = [], [], []
    counts = {"created": 0, "changed": 0, "same": 0, "kept": 0}
    for row in rows:
        case = cases.get(row["household_id"])
        wanted = _wanted(row)
        decision = _decide(row, case, wanted)
        if decision in ("same", "kept"):
            counts[decision] += 1
            continue
        if decision == "create":
            area_code = households[row["household_id"]]
            identified = wanted["identified_on"] or today
            case = MonitoringCase(
                household_id=row["household_id"],
                area_code=area_code,
                procedure=_procedure(area_code, procedures),
                found_date=identified,
                opened_at=_local_start(identified),
                due_date=identified,
                identified_at=_local_start(identified),
                created_by=actor if actor is not None and actor.pk else None,
                imported=True,
                next_visit_due=None if wanted["status"] == CaseStatus.ELIMINATED else next_visit(area_code),
                **wanted,
            )
            case.previous_status = ""
            created.append(case)
        else:
            case.previous_status = case.status
            for name, value in wanted.items():
                setattr(case, name, value)
            if case.status == CaseStatus.ELIMINATED:
                case.next_visit_due = None
            elif case.next_visit_due is None:
                case.next_visit_due = next_visit(case.area_code)
            case.version += 1
            updated.append(case)
        case.row = row
    MonitoringCase.objects.bulk_create(created, batch_size=2000)
    if updated:
        MonitoringCase.objects.bulk_update(updated, [*_FIELDS, "next_visit_due", "version"], batch_size=2000)
        through.objects.filter(monitoringcase_id__any=[c.pk for c in updated]).delete()
    through.objects.bulk_create(
        [
            through(monitoringcase_id=case.pk, risktype_id=risk_ids[code])
            for case in [*created, *updated]
            for code in case.row["risks"]
            if code in risk_ids
        ],
        batch_size=5000,
    )
    for case in [*created, *updated]:
        changes.append(
            StatusChange(
                object_type="case",
                object_id=case.pk,
                case=case,
                action="import",
                from_status=case.previous_status,
                to_status=case.status,
                actor=actor if actor is not None and actor.pk else None,
                at=at,
                reason=reason,
                data={"row": case.row["row"], "household": case.row["number"], "risks": case.row["risks"]},
            )
        )
    StatusChange.objects.bulk_create(changes, batch_size=2000)
    counts["created"], counts["changed"] = len(created), len(updated)
    return {"cases": counts}


class ImportSource(MonitoringSource):
    """The registry's import asks the monitoring app for the risk types and the workflow."""

    def risk_lookup(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for code, name, name_en in RiskType.objects.filter(is_active=True).values_list(
            "code", "name", "name_en"
        ):
            for spelling in (code, name, name_en, name.removeprefix("因")):
                if spelling:
                    found.setdefault(normalize_header(spelling).lower(), code)
        return found

    def risk_names(self) -> list[str]:
        return list(RiskType.objects.filter(is_active=True).values_list("name", flat=True))

    def in_workflow(self, ids) -> set[int]:
        ids = list(ids)
        found: set[int] = set()
        for start in range(0, len(ids), 5000):
            found.update(
                MonitoringCase.objects.filter(
                    household_id__any=ids[start : start + 5000], status__in=OPEN_CASE_STATUSES, imported=False
                ).values_list("household_id", flat=True)
            )
        return found

    def of_households(self, ids) -> dict[int, dict]:
        """Each monitored household's latest case: its risks (names, in the code order) and
        the elimination mode. ``ids``: a list or a query of household ids."""
        found: dict[int, dict] = {}
        latest = (
            MonitoringCase.objects.filter(household_id__in=ids)
            .filter(Q(status__in=OPEN_CASE_STATUSES) | Q(status=CaseStatus.ELIMINATED))
            .order_by("household_id", "-opened_at", "-id")
            .values_list("pk", "household_id", "exit_mode", "status")
        )
        chosen: dict[int, int] = {}
        for pk, household_id, exit_mode, status in latest:
            if household_id in found:
                continue
            mode = exit_mode if status == CaseStatus.ELIMINATED else ""
            found[household_id] = {"risks": [], "elimination_mode": mode}
            chosen[pk] = household_id
        through = MonitoringCase.risk_types.through
        keys = list(chosen)
        for start in range(0, len(keys), 5000):
            for case_id, name in (
                through.objects.filter(monitoringcase_id__any=keys[start : start + 5000])
                .order_by("monitoringcase_id", "risktype__sort_order", "risktype__code")
                .values_list("monitoringcase_id", "risktype__name")
            ):
                found[chosen[case_id]]["risks"].append(name)
        return found
