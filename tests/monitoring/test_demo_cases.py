from collections import Counter

from households import demo
from monitoring.demo import create_demo_cases
from monitoring.models import Clue, MonitoringCase, PointsAccount, PointsEntry, StepStatus


def test_demo_cases_cover_every_stage_and_run_once(db):
    demo.generate_county(households=200, seed=3, year=2025)
    made = create_demo_cases()
    assert made >= 10
    statuses = Counter(MonitoringCase.objects.values_list("status", flat=True))
    assert statuses["identifying"] >= 4 and statuses["monitored"] == 2 and statuses["not_included"] == 1
    waiting = set(
        MonitoringCase.objects.filter(steps__status=StepStatus.AVAILABLE).values_list(
            "steps__code", flat=True
        )
    )
    assert {"home_verification", "township_review", "village_notice", "county_approval"} <= waiting
    assert Clue.objects.filter(channel="department_alert", status="pending").exists()
    for case in MonitoringCase.objects.filter(status="monitored"):
        assert case.measures.count() >= 2
    assert PointsEntry.objects.filter(kind="redeem").count() == 2  # the point shop has a ledger
    assert PointsAccount.objects.filter(balance__gt=0).count() == 4
    # one case at the exit home check (听评看算) with a photo, and every case scored
    assert statuses["exit_in_progress"] == 1
    exiting = MonitoringCase.objects.get(status="exit_in_progress")
    assert exiting.photos.count() == 1
    assert not MonitoringCase.objects.filter(score__isnull=True).exists()
    assert create_demo_cases() == 0  # a second run adds nothing
