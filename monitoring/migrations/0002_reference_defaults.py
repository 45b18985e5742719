from django.db import migrations


def forwards(apps, schema_editor):
    from monitoring import defaults

    defaults.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
