from django.core.management.base import BaseCommand

from demo.services import reset_demo


class Command(BaseCommand):
    help = "Delete the demo organization with all its content and load it again."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, yes, **options):
        if not yes:
            answer = input("This deletes every project of the demo organization. Type 'reset' to go on: ")
            if answer.strip() != "reset":
                self.stderr.write("cancelled")
                return
        result = reset_demo()
        self.stdout.write(f"demo organization '{result.organization.slug}' reset")
