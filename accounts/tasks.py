"""Celery tasks of accounts: thin wrappers of :mod:`accounts.notifications`."""

from celery import shared_task
from django.db import OperationalError

from . import notifications


@shared_task(autoretry_for=(OperationalError, ConnectionError), retry_backoff=True, max_retries=5)
def notifications_email() -> int:
    return notifications.notifications_email()
