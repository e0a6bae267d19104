"""Run Dramatiq worker processes for Annotator's actors.

Examples::

    python manage.py rundramatiq                       # every queue
    python manage.py rundramatiq --queues ml --processes 1 --threads 1   # a GPU worker
    python manage.py rundramatiq --queues media exports default maintenance
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotator.broker import QUEUES


class Command(BaseCommand):
    help = "Run Dramatiq workers (needs REDIS_URL or DRAMATIQ_BROKER_URL; the embedded default runs them in-process)."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--queues", nargs="*", choices=QUEUES, default=None, help="Only these queues.")
        parser.add_argument("--watch", action="store_true", help="Reload on code changes (development).")

    def handle(self, *args, processes, threads, queues, watch, **options):
        if not settings.DRAMATIQ_BROKER_URL:
            raise CommandError(
                "No broker configured: set REDIS_URL (or DRAMATIQ_BROKER_URL). "
                "On the embedded default workers run inside `manage.py embedded`."
            )
        argv = [
            sys.executable,
            "-m",
            "dramatiq",
            "annotator.worker",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
        ]
        if queues:
            argv += ["--queues", *queues]
        if watch:
            argv += ["--watch", str(settings.BASE_DIR)]
        self.stdout.write(f"starting: {' '.join(argv[1:])}")
        sys.stdout.flush()
        os.execv(sys.executable, argv)  # noqa: S606 (fixed argv, no shell)
