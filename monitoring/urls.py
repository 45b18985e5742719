"""Web pages of the workflow: cases, clues, home (urls_cases) and visits and the household
page (urls_visits)."""

from monitoring import urls_cases, urls_visits

app_name = "monitoring"
urlpatterns = [*urls_cases.urlpatterns, *urls_visits.urlpatterns]
