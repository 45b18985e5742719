"""Web pages of the workflow's cases and clues, and the home page (``monitoring/pages``)."""

from django.urls import path

from monitoring.pages import cases, clues, home, plan

urlpatterns: list = [
    path("", home.home, name="home"),
    path("households/<int:pk>/clue/", clues.clue_report, name="clue_report"),
    path("clues/", clues.clue_list, name="clue_list"),
    path("clues/bulk/", clues.clue_bulk, name="clue_bulk"),
    path("clues/<int:pk>/", clues.clue_detail, name="clue_detail"),
    path("clues/<int:pk>/match/", clues.clue_match, name="clue_match"),
    path("clues/<int:pk>/dismiss/", clues.clue_dismiss, name="clue_dismiss"),
    path("clues/<int:pk>/open/", clues.clue_open, name="clue_open"),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/act/", cases.case_act, name="case_act"),
    path("cases/<int:pk>/notice/", cases.case_notice, name="case_notice"),
    path("cases/<int:pk>/plan/", plan.case_plan, name="case_plan"),
    path("cases/<int:pk>/exit/", plan.case_exit, name="case_exit"),
]
