from django.db import migrations


def forwards(apps, schema_editor):
    from monitoring import defaults

    defaults.load_call_chain(apps)
    defaults.load_schedules(apps)  # adds the minute's escalation; the others stay as they are


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("monitoring", "0021_calls_schema"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
