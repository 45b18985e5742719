"""The county's figures and charts under /dashboard/."""

from django.urls import path

from reports import dashboard_views

app_name = "dashboard"
urlpatterns = [
    path("", dashboard_views.dashboard, name="index"),
    # ?figure=<key>&area=<prefix>: one figure's table as a file
    path("export.csv", dashboard_views.figure_export, {"fmt": "csv"}, name="csv"),
    path("export.xlsx", dashboard_views.figure_export, {"fmt": "xlsx"}, name="xlsx"),
]
