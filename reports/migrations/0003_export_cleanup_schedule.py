"""The default schedule of the export cleanup (daily 04:00 Asia/Shanghai), as a
django-celery-beat row an operator can edit in the admin (``monitoring.defaults.SCHEDULES``;
rows that exist are left alone)."""

from django.db import migrations


def add_schedule(apps, schema_editor):
    from monitoring import defaults

    defaults.load_schedules(apps)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="reports.tasks.export_cleanup").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_export_jobs"),
        ("monitoring", "0016_dashboard_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
