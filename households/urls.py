"""Registry pages under /households/. The household page (/households/<pk>/), the helper's
list (/households/mine/) and the visit form are served by monitoring/urls_visits.py, which
config/urls.py tries after these."""

from django.urls import path

from . import views, views_imports

app_name = "households"
urlpatterns = [
    path("", views.household_list, name="list"),
    path("new/", views.household_create, name="create"),
    path("new/number/", views.number_suggestion, name="number_suggestion"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/members/new/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:person_pk>/edit/", views.member_edit, name="member_edit"),
    path("<int:pk>/income/", views.income_edit, name="income"),
    path("imports/", views_imports.import_page, name="imports"),
    path("imports/template.xlsx", views_imports.import_template, name="import_template"),
    path("imports/export.xlsx", views_imports.national_export, name="national_export"),
    path("imports/<int:pk>/", views_imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/apply/", views_imports.import_apply, name="import_apply"),
    path("imports/<int:pk>/errors.xlsx", views_imports.import_errors, name="import_errors"),
]
