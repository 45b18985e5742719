from django.db import migrations, models


def forwards(apps, schema_editor):
    from monitoring import defaults

    defaults.load_review_rules(apps)
    defaults.load_schedules(apps)
    # breaches recorded before the watch existed count as already told (no flood of old news)
    Breach = apps.get_model("monitoring", "Breach")
    Breach.objects.filter(notified_at__isnull=True).update(notified_at=models.F("recorded_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_periodic_tasks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
