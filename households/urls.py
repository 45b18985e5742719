"""Registry pages under /households/. The household page (/households/<pk>/), the helper's
list (/households/mine/) and the visit form are served by monitoring/urls_visits.py, which
config/urls.py tries after these."""

from django.urls import path

from . import views

app_name = "households"
urlpatterns = [
    path("", views.household_list, name="list"),
    path("new/", views.household_create, name="create"),
    path("new/number/", views.number_suggestion, name="number_suggestion"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/members/new/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:person_pk>/edit/", views.member_edit, name="member_edit"),
    path("<int:pk>/income/", views.income_edit, name="income"),
]
