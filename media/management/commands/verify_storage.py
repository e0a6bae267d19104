"""Check that every stored file the database references exists, and list orphans.

Examples::

    python manage.py verify_storage                      # everything, human-readable
    python manage.py verify_storage --organization acme --json > storage.json
    python manage.py verify_storage --delete-orphans --yes --min-age-hours 48

Exit status: 0 every referenced file is there (orphans alone do not fail, unless
``--fail-on-orphans``); 1 referenced files are missing (or orphans with
``--fail-on-orphans``); 2 bad command line (unknown organization, ``--delete-orphans``
without ``--yes``).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from media.services.storage_check import delete_orphans, verify_storage

LISTED = 50  # lines per list in the human-readable output (--json lists everything)


class Command(BaseCommand):
    help = (
        "Check that every file the database references (media, derived files, imports, exports, models) exists "
        "in storage, and list stored files nothing references (orphans)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization (id or slug).")
        parser.add_argument("--json", action="store_true", help="Print the full report as JSON.")
        parser.add_argument(
            "--delete-orphans",
            action="store_true",
            help="Delete orphans last modified more than --min-age-hours ago (needs --yes).",
        )
        parser.add_argument("--yes", action="store_true", help="Confirm --delete-orphans.")
        parser.add_argument(
            "--min-age-hours",
            type=float,
            default=24.0,
            help="Orphans younger than this are never deleted: they may belong to an import or export "
            "still running (default 24).",
        )
        parser.add_argument("--fail-on-orphans", action="store_true", help="Exit 1 when there are orphans too.")

    def handle(self, *args, **opts):
        organization = self._organization(opts["organization"])
        if opts["delete_orphans"] and not opts["yes"]:
            raise CommandError(
                "--delete-orphans deletes files: run without it first to see the list, then add --yes.", returncode=2
            )
        if opts["min_age_hours"] < 0:
            raise CommandError("--min-age-hours must be 0 or more.", returncode=2)
        report = verify_storage(organization=organization)
        if opts["delete_orphans"]:
            delete_orphans(report, older_than=timedelta(hours=opts["min_age_hours"]))
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._print(report, opts)
        if report.missing or (opts["fail_on_orphans"] and len(report.orphans) > len(report.deleted)):
            sys.exit(1)

    def _organization(self, value: str | None):
        from organizations.models import Organization

        if not value:
            return None
        found = Organization.objects.filter(pk=int(value)).first() if value.isdigit() else None
        found = found or Organization.objects.filter(slug=value).first()
        if found is None:
            raise CommandError(f"No organization with id or slug {value!r}.", returncode=2)
        return found

    def _print(self, report, opts) -> None:
        write = self.stdout.write
        write(f"Storage {report.storage}, {report.scope}:")
        write(
            f"  {report.stored_files} file(s) stored, {report.referenced_files} referenced by the database, "
            f"{report.kept_files} kept without a row (inbox, upload chunks, frame cache)"
        )
        write(f"  missing: {len(report.missing)}")
        for reference in report.missing[:LISTED]:
            write(f"    MISSING {reference.path}  ({reference.what}, organization {reference.organization_id})")
        write(f"  orphans: {len(report.orphans)}")
        deleted = set(report.deleted)
        for item in report.orphans[:LISTED]:
            when = item.modified.strftime("%Y-%m-%d %H:%M") if item.modified else "?"
            mark = "deleted" if item.path in deleted else "orphan"
            write(f"    {mark} {item.path}  ({item.size:,} bytes, {when})")
        for name, items in (("missing", report.missing), ("orphans", report.orphans)):
            if len(items) > LISTED:
                write(f"  ... {len(items) - LISTED} more {name}: use --json for the full list")
        if opts["delete_orphans"]:
            kept = len(report.orphans) - len(report.deleted)
            write(f"  deleted {len(report.deleted)} orphan(s); kept {kept} younger than {opts['min_age_hours']:g} h")
        write("OK: every referenced file is there." if report.ok else "FAILED: referenced files are missing.")
