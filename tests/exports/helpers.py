"""Running an export (or import) straight through the services, as jobs and commands do."""

from __future__ import annotations

from pathlib import Path

from exports.scope import normalize_scope
from exports.services.exports import write_export
from exports.services.imports import clean_import_options, import_folder
from exports.writers import DirectoryWriter


def export_to(project, fmt: str, out: Path, scope: dict | None = None, **options):
    include_images = options.pop("include_images", True)
    with DirectoryWriter(out) as writer:
        ctx = write_export(
            project=project,
            format=fmt,
            scope=normalize_scope(scope or {}),
            options={**options, "include_images": include_images},
            writer=writer,
        )
    return ctx


def import_from(project, fmt: str, root: Path, actor=None, **options):
    return import_folder(
        project=project, format=fmt, root=root, options=clean_import_options(fmt, options), actor=actor
    )


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
