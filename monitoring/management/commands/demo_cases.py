"""``manage.py demo_cases``: workflow demo data (cases at every stage) for the demo county."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring.demo import create_demo_cases


class Command(BaseCommand):
    help = "Create demo cases at every stage in the demo cadre's village (skipped if cases exist)."

    def handle(self, *args, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("demo data is not for production")
        made = create_demo_cases(if_empty=True)
        self.stdout.write(f"demo cases and clues: {made}" if made else "demo cases: already present, skipped")
