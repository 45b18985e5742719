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

# frozen monthly ledgers
from reports import frozen_views  # noqa: E402

urlpatterns += [
    path("frozen/", frozen_views.frozen_list, name="frozen_list"),
    path("frozen/freeze/", frozen_views.frozen_freeze, name="frozen_freeze"),
    path("frozen/<int:pk>/", frozen_views.frozen_detail, name="frozen_detail"),
]
