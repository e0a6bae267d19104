from django.core.management.base import BaseCommand

from organizations.roles import matrix_markdown


class Command(BaseCommand):
    help = "Print the role/permission matrix as a Markdown table (README.md embeds it)."

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown())
