"""Ledger pages under /reports/."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.counts, name="counts"),
    path("counts.xlsx", views.counts_xlsx, name="counts_xlsx"),
]
