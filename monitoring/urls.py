"""Every web page of the workflow (``monitoring/pages/``), in sections.

The household page, the helper's households and the visit pages live under /households/ but
are served here: config/urls.py tries households/urls.py (the registry's forms) first, whose
patterns do not overlap these.
"""

from django.urls import path

from monitoring.pages import (
    calls,
    cases,
    clues,
    helpers,
    home,
    households,
    periodic,
    plan,
    points,
    quality,
    visits,
)

app_name = "monitoring"
urlpatterns = [
    path("", home.home, name="home"),
    # --- data quality
    path("quality/", quality.quality_findings, name="quality"),
    path("quality/findings.xlsx", quality.quality_export, name="quality_export"),
    path("quality/<int:pk>/resolve/", quality.quality_resolve, name="quality_resolve"),
    # --- clues and triage
    path("households/<int:pk>/clue/", clues.clue_report, name="clue_report"),
    path("clues/", clues.clue_list, name="clue_list"),
    path("clues/bulk/", clues.clue_bulk, name="clue_bulk"),
    path("clues/<int:pk>/", clues.clue_detail, name="clue_detail"),
    path("clues/<int:pk>/match/", clues.clue_match, name="clue_match"),
    path("clues/<int:pk>/dismiss/", clues.clue_dismiss, name="clue_dismiss"),
    path("clues/<int:pk>/open/", clues.clue_open, name="clue_open"),
    # --- cases, the plan and the exit
    path("cases/", cases.case_list, name="case_list"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/act/", cases.case_act, name="case_act"),
    path("cases/<int:pk>/notice/", cases.case_notice, name="case_notice"),
    path("cases/<int:pk>/score/", cases.case_rescore, name="case_rescore"),
    path("cases/<int:pk>/photos/", cases.case_photo_upload, name="case_photo_upload"),
    path("cases/<int:pk>/photo/", cases.case_photo, name="case_photo"),
    path("cases/<int:pk>/plan/", plan.case_plan, name="case_plan"),
    path("cases/<int:pk>/exit/", plan.case_exit, name="case_exit"),
    # --- the household page, the helper's households and visits
    path("households/mine/", households.my_households, name="my_households"),
    path("households/<int:pk>/", households.household_detail, name="household_detail"),
    path("households/<int:pk>/card/", households.household_card, name="household_card"),
    path("households/<int:pk>/visit/", visits.visit_create, name="visit_create"),
    path("households/<int:pk>/visits/", visits.visit_list, name="visit_list"),
    # --- motivation points (扶志积分)
    path("points/", points.points_village, name="points"),
    path("points/print/", points.points_ledger_print, name="points_print"),
    path("households/<int:pk>/points/", points.household_points, name="household_points"),
    # --- helper pairing (结对帮扶)
    path("helpers/", helpers.helper_list, name="helpers"),
    path("helpers/unassigned/", helpers.helper_unassigned, name="helpers_unassigned"),
    path("helpers/<int:pk>/", helpers.helper_detail, name="helper_detail"),
    # --- the one-key emergency call
    path("households/<int:pk>/call/", calls.call_raise_page, name="call_raise"),
    path("calls/", calls.call_list, name="call_list"),
    path("calls/<int:pk>/", calls.call_detail, name="call_detail"),
    path("calls/<int:pk>/acknowledge/", calls.call_acknowledge_page, name="call_acknowledge"),
    path("calls/<int:pk>/close/", calls.call_close_page, name="call_close"),
    # --- the periodic work: notifications, task runs, screening, year-end
    path("notifications/", periodic.notification_list, name="notifications"),
    path("notifications/read/", periodic.notifications_read, name="notifications_read"),
    path("notifications/<int:pk>/go/", periodic.notification_go, name="notification_go"),
    path("runs/", periodic.run_list, name="runs"),
    path("runs/start/", periodic.run_start, name="run_start"),
    path("screening/", periodic.screening, name="screening"),
    path("year-end/", periodic.year_end, name="year_end"),
]
