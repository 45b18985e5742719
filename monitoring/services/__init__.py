"""Every write of the workflow. Pages, the API, the admin and Celery tasks call these."""
