"""Ledger pages under /reports/."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.counts, name="counts"),
    path("counts.xlsx", views.counts_xlsx, name="counts_xlsx"),
    path("ledgers/<str:ledger>/", views.ledger_list, name="ledger"),
    path("ledgers/<str:ledger>/counts/", views.ledger_counts, name="ledger_counts"),
    path("ledgers/<str:ledger>/print/", views.ledger_print, name="ledger_print"),
    path("exports/", views.export_list, name="exports"),
    path("exports/<int:pk>/", views.export_progress, name="export_progress"),
    path("exports/<int:pk>/file/", views.export_file, name="export_file"),
]
