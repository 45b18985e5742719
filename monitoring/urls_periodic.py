"""Pages of the periodic work (``monitoring/pages/periodic.py``): notifications, task runs,
the annual screening and the year-end assessment."""

from django.urls import path

from monitoring.pages import periodic

urlpatterns = [
    path("notifications/", periodic.notification_list, name="notifications"),
    path("notifications/read/", periodic.notifications_read, name="notifications_read"),
    path("notifications/<int:pk>/go/", periodic.notification_go, name="notification_go"),
    path("runs/", periodic.run_list, name="runs"),
    path("runs/start/", periodic.run_start, name="run_start"),
    path("screening/", periodic.screening, name="screening"),
    path("year-end/", periodic.year_end, name="year_end"),
]
