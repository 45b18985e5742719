"""The project's one Celery app."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fanpin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _mask_id_numbers(logger=None, **kwargs):
    """The worker's own handlers mask ID numbers too (Celery sets them up, not ``LOGGING``)."""
    from accounts.logging import MaskIdNumbers

    for handler in logger.handlers if logger is not None else ():
        if not any(isinstance(f, MaskIdNumbers) for f in handler.filters):
            handler.addFilter(MaskIdNumbers())
