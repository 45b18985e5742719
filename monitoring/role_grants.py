"""Admin grants on the workflow's models and the periodic tasks' schedules (registered in
:mod:`accounts.permissions`)."""

from __future__ import annotations

from accounts.models import Role
from accounts.permissions import ADD, CHANGE, DELETE, RAC, RACD, R, each

#: Deployment-wide reference data, edited by operators.
REFERENCE_MODELS = (
    "monitoring.incomethreshold",
    "monitoring.risktype",
    "monitoring.measurecategory",
    "monitoring.measure",
    "monitoring.riskmeasurerule",
    "monitoring.riskcategoryrequirement",
    "monitoring.countysettings",
    "monitoring.holiday",
    "monitoring.proceduredefinition",
    "monitoring.stepdefinition",
    "monitoring.qualityrule",
    "monitoring.conductitem",
    "monitoring.shopitem",
    "monitoring.callchainstep",
    "monitoring.scoringmodel",
    "monitoring.scoringindicator",
    "monitoring.scoringband",
)
#: Reference data whose rows may be deleted; the others are switched off (``is_active``) or
#: are referenced by cases and settings.
REFERENCE_DELETABLE = (
    "monitoring.incomethreshold",
    "monitoring.riskmeasurerule",
    "monitoring.riskcategoryrequirement",
    "monitoring.holiday",
    "monitoring.proceduredefinition",
    "monitoring.stepdefinition",
    "monitoring.callchainstep",
    "monitoring.scoringindicator",
    "monitoring.scoringband",
)
#: The workflow's records: written only by ``monitoring.services``, shown read-only.
WORKFLOW_MODELS = (
    "monitoring.clue",
    "monitoring.monitoringcase",
    "monitoring.casestep",
    "monitoring.publicnotice",
    "monitoring.objection",
    "monitoring.breach",
    "monitoring.assistancemeasure",
    "monitoring.visit",
    "monitoring.exitassessment",
    "monitoring.statuschange",
    "monitoring.pointsaccount",
    "monitoring.pointsentry",
    "monitoring.emergencycall",
    "monitoring.callhop",
)
#: The periodic tasks' schedules (django-celery-beat), edited by operators.
SCHEDULE_MODELS = (
    "django_celery_beat.periodictask",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.solarschedule",
)
#: Written by the periodic tasks only, shown read-only.
RUN_MODELS = (
    "monitoring.taskrun",
    "monitoring.screeningcampaign",
    "monitoring.visittask",
    "monitoring.householdscore",
)

#: Only operators use the admin; the other staff roles work in the pages, department
#: accounts through the API.
GRANTS = {
    Role.OPERATOR: {
        **each(REFERENCE_MODELS, RAC),
        **each(REFERENCE_DELETABLE, RACD),
        **each(WORKFLOW_MODELS, R),
        **each(SCHEDULE_MODELS, RACD),
        **each(RUN_MODELS, R),
        "monitoring.reviewrule": RACD,
    },
}

#: The status-change log is append-only, a case's steps are the workflow's, and workflow
#: records are created only by the workflow services (which set their status, area and due
#: dates); run records only by the periodic tasks.
NEVER = {
    **each(WORKFLOW_MODELS, frozenset({ADD})),
    "monitoring.statuschange": frozenset({ADD, CHANGE, DELETE}),
    **each(RUN_MODELS, frozenset({ADD, CHANGE})),
    "monitoring.casestep": frozenset({ADD, CHANGE, DELETE}),
}
