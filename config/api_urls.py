"""/api/v1/: one router for the department and staff endpoints, the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from households import api as households_api
from monitoring.api import calls as calls_api
from monitoring.api import departments as department_api
from monitoring.api import quality as quality_api
from monitoring.api import staff as staff_api
from reports import api as reports_api

router = DefaultRouter()
router.include_root_view = False
department_api.register(router)
households_api.register(router)
staff_api.register(router)
accounts_api.register(router)
quality_api.register(router)
calls_api.register(router)

urlpatterns = [
    path(
        "schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", authentication_classes=[], permission_classes=[]),
        name="api-redoc",
    ),
    *staff_api.extra_urls,
    *reports_api.extra_urls,
    path("", include(router.urls)),
]
