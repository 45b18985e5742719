"""The household page, the helper's households and visits (monitoring/views_visits.py).

These live under /households/ but are served by the monitoring app: config/urls.py tries
households/urls.py first, whose patterns do not overlap these."""

from django.urls import path

from monitoring import views_visits

urlpatterns = [
    path("households/mine/", views_visits.my_households, name="my_households"),
    path("households/<int:pk>/", views_visits.household_detail, name="household_detail"),
    path("households/<int:pk>/visit/", views_visits.visit_create, name="visit_create"),
    path("households/<int:pk>/visits/", views_visits.visit_list, name="visit_list"),
]
