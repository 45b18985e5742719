"""Bulk dismissal needs a reason: the button waits for one in the browser, and the server
refuses the whole batch without one (nothing dismissed) with a message that says why."""

from __future__ import annotations

from monitoring.models import Clue, ClueStatus, StatusChange
from tests.monitoring.test_case_pages import alert


def test_bulk_dismissal_without_a_reason_dismisses_nothing(client, county_approver):
    first, second = alert(county_approver, n=1), alert(county_approver, n=2)
    client.force_login(county_approver)
    response = client.post(
        "/clues/bulk/",
        {"token": "bd-1", "bulk_action": "dismiss", "reason": "", "clues": [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "批量排除须先选择排除原因；未排除任何线索。" in response.content.decode()
    assert not Clue.objects.filter(status=ClueStatus.DISMISSED).exists()
    assert not StatusChange.objects.filter(object_type="clue", action="dismiss").exists()


def test_the_dismiss_button_waits_for_a_reason(client, county_approver):
    alert(county_approver, n=1)
    client.force_login(county_approver)
    body = client.get("/clues/").content.decode()
    button = body[body.index('id="bulk-dismiss"') - 120 : body.index('id="bulk-dismiss"') + 120]
    assert "disabled" in button
    assert 'id="id_bulk_reason"' in body
    assert "dismiss.disabled = !reason.value" in body
    assert "排除须先选择排除原因。" in body
