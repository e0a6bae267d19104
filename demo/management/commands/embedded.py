"""Run the whole product on one machine (the embedded default).

Migrates the SQLite database, loads the demo once, starts Dramatiq worker threads in this
process (stub broker: no Redis), and serves HTTP and WebSocket with daphne.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Annotator on its embedded default: SQLite, local files, in-process workers, daphne."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")
        parser.add_argument("--worker-threads", type=int, default=2)

    def handle(self, *args, host, port, no_demo, worker_threads, **options):
        from daphne.server import Server

        from annotator.asgi import application
        from annotator.broker import start_in_process_worker
        from demo.services import DEMO_PASSWORD, DEMO_USERS

        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("load_demo", verbosity=0)
        if settings.DRAMATIQ_IN_PROCESS_WORKER:
            start_in_process_worker(worker_threads)
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"Annotator is running at {url}"))
        self.stdout.write(f"  API schema: {url}api/schema/   API docs: {url}api/docs/   admin: {url}admin/")
        self.stdout.write(f"  data folder: {settings.DATA_DIR}")
        if not no_demo:
            self.stdout.write(f"  demo logins (password for all: {DEMO_PASSWORD}):")
            for username, role in DEMO_USERS:
                self.stdout.write(f"    {role:<10} {username}")
        self.stdout.flush()
        Server(
            application=application,
            endpoints=[f"tcp:port={port}:interface={host}"],
            signal_handlers=True,
        ).run()
