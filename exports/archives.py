"""Unpacking uploads for import, with the standard library's safe extraction only.

Member names are never joined to the target by hand (an absolute or ``..`` name would
escape it): zip members go through ``ZipFile.extractall`` (which strips drive letters,
leading slashes and ``..``), tar members through ``TarFile.extractall(filter="data")``
(which refuses links out of the target, devices and absolute paths). Member count and
total unpacked size are checked before anything is written (zip bombs).
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

from django.conf import settings

from exports.formats.base import safe_name


def _caps() -> tuple[int, int]:
    return (
        int(getattr(settings, "EXPORTS_IMPORT_MAX_EXTRACTED_BYTES", 8 * 1024**3)),
        int(getattr(settings, "EXPORTS_IMPORT_MAX_MEMBERS", 200_000)),
    )


class ArchiveRefused(ValueError):
    pass


def unpack_upload(path: Path, name: str, target: Path) -> Path:
    """Unpack ``path`` (uploaded as ``name``) into ``target``; a single file is copied there.

    Returns the folder to import from; raises :class:`ArchiveRefused` with the reason.
    """
    max_bytes, max_members = _caps()
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check(len(members), sum(m.file_size for m in members), max_bytes, max_members)
            try:
                archive.extractall(target)  # noqa: S202 - zipfile strips absolute and ".." member names
            except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
                raise ArchiveRefused(f"the zip could not be unpacked: {exc}") from None
        return target
    if name.lower().endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")) and tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            members = archive.getmembers()
            _check(len(members), sum(m.size for m in members if m.isfile()), max_bytes, max_members)
            try:
                archive.extractall(target, filter="data")
            except (tarfile.TarError, OSError) as exc:
                raise ArchiveRefused(f"the tar archive could not be unpacked safely: {exc}") from None
        return target
    shutil.copyfile(path, target / safe_name(Path(name).name, "upload"))
    return target


def _check(count: int, size: int, max_bytes: int, max_members: int) -> None:
    if count > max_members:
        raise ArchiveRefused(f"the archive has {count:,} members; at most {max_members:,}")
    if size > max_bytes:
        raise ArchiveRefused(
            f"the archive unpacks to {size:,} bytes; at most {max_bytes:,} bytes "
            "(EXPORTS_IMPORT_MAX_EXTRACTED_BYTES): a zip bomb, or split the import"
        )
