from django.core.management.base import BaseCommand

from tasks.services.claims import expire_task_locks


class Command(BaseCommand):
    help = (
        "Record expired task locks and give those tasks back to their queue once (the workers also do it every minute)."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"expired {expire_task_locks()} task lock(s)")
