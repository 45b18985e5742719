"""Ledger pages under /reports/."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.counts, name="counts"),
    path("counts.xlsx", views.counts_xlsx, name="counts_xlsx"),
]

# frozen monthly ledgers
from reports import frozen_views  # noqa: E402

urlpatterns += [
    path("frozen/", frozen_views.frozen_list, name="frozen_list"),
    path("frozen/freeze/", frozen_views.frozen_freeze, name="frozen_freeze"),
    path("frozen/<int:pk>/", frozen_views.frozen_detail, name="frozen_detail"),
]
