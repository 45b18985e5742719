"""Web pages of the workflow: cases, clues, home (urls_cases), visits and the household page
(urls_visits), and the periodic work's pages (urls_periodic)."""

from monitoring import urls_cases, urls_periodic, urls_visits

app_name = "monitoring"
urlpatterns = [*urls_cases.urlpatterns, *urls_visits.urlpatterns, *urls_periodic.urlpatterns]
