from django.core.management.base import BaseCommand

from demo.services import DEMO_PASSWORD, DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Create the demo organization, its users (one per role) and example projects, once."

    def handle(self, *args, **options):
        result = load_demo()
        verb = "created" if result.created else "already present"
        self.stdout.write(f"demo organization '{result.organization.slug}' {verb}")
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {username} / {DEMO_PASSWORD}")
