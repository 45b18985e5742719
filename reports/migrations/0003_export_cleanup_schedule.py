"""The default schedule of the export cleanup (daily 04:00 Asia/Shanghai), as a
django-celery-beat row an operator can edit in the admin."""

from django.db import migrations

TASK = "reports.tasks.export_cleanup"


def add_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(task=TASK).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="4", day_of_month="*", month_of_year="*", day_of_week="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.create(
        name="清理过期的导出文件（每日）",
        task=TASK,
        crontab=crontab,
        description="删除超过保留期（EXPORT_RETENTION_HOURS）的导出文件，并把导出任务标为已过期。",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_export_jobs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
