"""Year-end assessment (年终风险消除评估): which monitored households meet the exit criteria.

For every monitored case of the area the exit checklist (:mod:`monitoring.rules.eligibility`, the
same rules the case page shows) is evaluated in a fixed number of queries and kept as an
:class:`~monitoring.models.ExitAssessment` with ``source="year_end"``: eligible ones for the
village to propose, the others with the criteria they fail. One assessment per case and year;
a second run adds only cases that were not assessed yet. It changes no case: the county acts
on the list through the usual exit procedure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop as N_

from accounts.models import NotificationKind, Role
from accounts.notifications import Message, notify, users_at
from accounts.texts import text
from households.models import ABLE_TO_WORK, Person
from monitoring.county import county_code_of, scope_prefix
from monitoring.models import CaseStatus, ExitAssessment, ExitMode, MonitoringCase
from monitoring.rules import deadlines
from monitoring.rules.eligibility import ASSISTANCE, Eligibility, eligibility_for_cases

ASSESSED_STATUSES = (CaseStatus.MONITORED, CaseStatus.SECURED_TRACKING)
#: Domain §6: a household able to work that is still monitored more than a year after its
#: identification is a priority of the year-end review (有劳动能力、监测超过一年的重点户).
PRIORITY_AFTER = dt.timedelta(days=365)
SOURCE = "year_end"
CHUNK = 1000


def priority_q() -> Q:
    """Year-end assessments of priority households: someone of the household able to work,
    identified more than :data:`PRIORITY_AFTER` before the assessment."""
    able = Person.objects.filter(
        household_id=OuterRef("case__household_id"), is_resident=True, labour_capacity__in=ABLE_TO_WORK
    )
    return Q(Exists(able)) & Q(case__identified_on__lte=F("assessed_on") - PRIORITY_AFTER)


def year_end_assessment(*, now: dt.datetime | None = None, area_code: str = "", actor=None) -> dict:
    now = now or timezone.now()
    today = deadlines.local_date(now)
    this_year = ExitAssessment.objects.filter(
        case=OuterRef("pk"), source=SOURCE, assessed_on__year=today.year
    )
    cases = MonitoringCase.objects.filter(status__in=ASSESSED_STATUSES).filter(~Exists(this_year))
    if area_code:
        cases = cases.filter(area_code__startswith=scope_prefix(area_code))
    ids = list(cases.order_by("pk").values_list("pk", flat=True))
    eligible: Counter = Counter()
    assessed: Counter = Counter()
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            batch = MonitoringCase.objects.filter(pk__in=ids[start : start + CHUNK]).select_related(
                "household"
            )
            results, translated = _assess(batch, today)
            rows = []
            for case in batch:
                result = results[case.pk]
                rows.append(
                    ExitAssessment(
                        case=case,
                        mode=ExitMode.ASSISTANCE,
                        source=SOURCE,
                        assessed_on=today,
                        checks=with_translations(result, translated.get(case.pk, {})),
                        eligible=result.eligible,
                        proposed_by=actor,
                    )
                )
                assessed[county_code_of(case.area_code)] += 1
                if result.eligible:
                    eligible[county_code_of(case.area_code)] += 1
            ExitAssessment.objects.bulk_create(rows)
        if assessed:
            _notify(sorted(assessed), today=today, now=now)
    total, ok = sum(assessed.values()), sum(eligible.values())
    return {"assessed": total, "eligible": ok, "not_eligible": total - ok}


def _assess(batch, today: dt.date):
    """The checklist of each case in the site's language, and in every other language of
    the site (the stored reasons are read in the reader's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        results = eligibility_for_cases(batch, today=today, mode=ASSISTANCE)
    translated: dict[int, dict[str, Eligibility]] = {}
    for code, _name in settings.LANGUAGES:
        if code == settings.LANGUAGE_CODE:
            continue
        with translation.override(code):
            for case_id, result in eligibility_for_cases(batch, today=today, mode=ASSISTANCE).items():
                translated.setdefault(case_id, {})[code] = result
    return results, translated


def with_translations(result: Eligibility, translated: dict[str, Eligibility]) -> list[dict]:
    """``result.as_list()`` with each criterion's label and detail in the other languages
    (``"i18n": {language: {"label", "detail"}}``)."""
    rows = result.as_list()
    for code, other in translated.items():
        for row, criterion in zip(rows, other.criteria, strict=True):
            row.setdefault("i18n", {})[code] = {
                "label": str(criterion.label),
                "detail": str(criterion.detail),
            }
    return rows


def _notify(counties: list[str], *, today: dt.date, now: dt.datetime) -> None:
    """County approvers: the year's list so far (one aggregate per run)."""
    totals = {
        row["county"]: row
        for row in ExitAssessment.objects.filter(source=SOURCE, assessed_on__year=today.year)
        .annotate(county=Substr("case__area_code", 1, 6))
        .filter(county__in=[c[:6] for c in counties])
        .values("county")
        .annotate(n=Count("id"), ok=Count("id", filter=Q(eligible=True)))
    }
    approvers = users_at(Role.COUNTY_APPROVER, counties)
    pairs = []
    for county in counties:
        row = totals.get(county[:6], {"n": 0, "ok": 0})
        msg = Message(
            key=f"year_end:{county}:{today.year}:{row['n']}",
            kind=NotificationKind.YEAR_END,
            title=text(
                N_("%(y)s年年终评估：%(ok)s户符合风险消除条件，%(no)s户暂不符合"),
                y=today.year,
                ok=row["ok"],
                no=row["n"] - row["ok"],
            ),
            url=reverse("monitoring:year_end") + f"?year={today.year}",
            area_code=county,
        )
        pairs.extend((uid, msg) for uid in approvers.get(county, []))
    notify(pairs, now=now)
