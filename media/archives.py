"""Safe expansion of zip and tar archives.

Nothing an archive says is trusted: member names are cleaned (no absolute paths, no
``..``), links and devices are refused, the total expanded size and each member's
compression ratio are bounded (zip bombs), and bytes are counted while they are read (a
header that lies about sizes does not help). Nested archives are refused on purpose: a
person uploads them separately. macOS/Windows metadata files are skipped silently.
"""

from __future__ import annotations

import re
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from media.sniff import HEAD_BYTES, sniff
from media.storage import is_storage_error, safe_relative_path

BLOCK = 1024 * 1024
JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


class ArchiveError(Exception):
    """The whole archive is refused (corrupt, too big, a bomb)."""

    def __init__(self, message: str, code: str = "archive_refused"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_total_bytes: int
    max_ratio: int
    max_member_bytes: int


@dataclass
class Member:
    """One member: stored (``stored_path``) or refused (``code``/``reason``)."""

    name: str
    size: int
    stored_path: str = ""
    code: str = ""
    reason: str = ""


def unsafe_path_reason(name: str) -> str:
    """Why a member name is refused (``safe_relative_path`` said None), in a person's words."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned):
        return "an absolute path in the archive: members must be relative to the archive's root"
    if ".." in PurePosixPath(cleaned).parts:
        return "a path with '..' in the archive: it would land outside the import's folder"
    if not cleaned.strip("/.") or "\x00" in cleaned:
        return "an empty or invalid path in the archive"
    return "a path in the archive that is too long or too deep (over 400 characters or 32 folders)"


def _is_junk(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.parts[:1] == ("__MACOSX",) or path.name in JUNK_NAMES or path.name.startswith("._")


class _Budget:
    def __init__(self, total: int):
        self.left = total

    def take(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise ArchiveError("the archive expands beyond the size limit", code="archive_too_big")


def _copy_bounded(source: IO[bytes], target: IO[bytes], *, declared: int, budget: _Budget, member_limit: int) -> int:
    written = 0
    while True:
        block = source.read(BLOCK)
        if not block:
            return written
        written += len(block)
        budget.take(len(block))
        if written > declared:
            raise ArchiveError("a member is larger than the archive declares (a damaged or hostile archive)")
        if written > member_limit:
            raise ArchiveError("a member exceeds the upload size limit", code="too_large")
        target.write(block)


def _store_member(
    opener: Callable[[], IO[bytes]],
    *,
    name: str,
    declared: int,
    budget: _Budget,
    limits: Limits,
    store: Callable[[str, Path], str],
) -> Member:
    with tempfile.NamedTemporaryFile(prefix="annotator-member-", delete=True) as tmp:
        with opener() as source:
            size = _copy_bounded(source, tmp, declared=declared, budget=budget, member_limit=limits.max_member_bytes)
        tmp.flush()
        tmp.seek(0)
        head = tmp.read(HEAD_BYTES)
        if sniff(head).kind == "archive":
            return Member(
                name,
                size,
                code="nested_archive",
                reason="archives inside archives are not expanded: upload it on its own",
            )
        return Member(name, size, stored_path=store(name, Path(tmp.name)))


def _zip_members(path: Path, limits: Limits, store: Callable[[str, Path], str]) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a readable zip archive ({exc})", code="archive_corrupt") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir() and not _is_junk(info.filename)]
        if len(infos) > limits.max_members:
            raise ArchiveError(f"the archive has {len(infos)} files; the limit is {limits.max_members}")
        declared_total = sum(info.file_size for info in infos)
        if declared_total > limits.max_total_bytes:
            raise ArchiveError(
                f"the archive expands to {declared_total:,} bytes; the limit is {limits.max_total_bytes:,}",
                code="archive_too_big",
            )
        budget = _Budget(limits.max_total_bytes)
        seen: set[str] = set()
        for info in infos:
            name = safe_relative_path(info.filename)
            mode = info.external_attr >> 16
            if name is None:
                yield Member(
                    info.filename[:500], info.file_size, code="unsafe_path", reason=unsafe_path_reason(info.filename)
                )
            elif stat.S_ISLNK(mode):
                yield Member(name, info.file_size, code="link_in_archive", reason="links are not imported")
            elif info.flag_bits & 0x1:
                yield Member(name, info.file_size, code="encrypted", reason="encrypted archive members are refused")
            elif name in seen:
                yield Member(name, info.file_size, code="duplicate_name", reason="the archive lists this path twice")
            elif info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                yield Member(
                    name,
                    info.file_size,
                    code="archive_bomb",
                    reason=f"compressed more than {limits.max_ratio}:1 (a zip bomb?)",
                )
            else:
                seen.add(name)
                try:
                    yield _store_member(
                        lambda info=info: archive.open(info),
                        name=name,
                        declared=info.file_size,
                        budget=budget,
                        limits=limits,
                        store=store,
                    )
                except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                    if is_storage_error(exc):
                        raise  # storage dropped while storing the member: retry the import
                    yield Member(name, info.file_size, code="archive_corrupt", reason=f"cannot be extracted ({exc})")


def _tar_members(path: Path, limits: Limits, store: Callable[[str, Path], str]) -> Iterator[Member]:
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"not a readable tar archive ({exc})", code="archive_corrupt") from None
    archive_size = max(path.stat().st_size, 1)
    budget = _Budget(min(limits.max_total_bytes, archive_size * limits.max_ratio + 10 * BLOCK))
    count = 0
    seen: set[str] = set()
    with archive:
        try:
            for info in archive:
                if info.isdir() or _is_junk(info.name):
                    continue
                count += 1
                if count > limits.max_members:
                    raise ArchiveError(f"the archive has more than {limits.max_members} files")
                name = safe_relative_path(info.name)
                if name is None:
                    yield Member(info.name[:500], info.size, code="unsafe_path", reason=unsafe_path_reason(info.name))
                elif info.issym() or info.islnk():
                    yield Member(name, info.size, code="link_in_archive", reason="links are not imported")
                elif not info.isreg():
                    yield Member(name, info.size, code="unsafe_path", reason="not a regular file")
                elif name in seen:
                    yield Member(name, info.size, code="duplicate_name", reason="the archive lists this path twice")
                else:
                    seen.add(name)
                    yield _store_member(
                        lambda info=info: archive.extractfile(info),
                        name=name,
                        declared=info.size,
                        budget=budget,
                        limits=limits,
                        store=store,
                    )
        except (tarfile.TarError, EOFError, OSError) as exc:
            if is_storage_error(exc):
                raise  # storage dropped while storing a member: retry the import
            raise ArchiveError(f"the tar archive is damaged ({exc})", code="archive_corrupt") from None


def expand(path: Path, fmt: str, limits: Limits, store: Callable[[str, Path], str]) -> list[Member]:
    """Expand an archive; ``store(name, local_path)`` saves one member and returns its
    storage path. Raises ArchiveError when the whole archive is refused; the members
    already stored are then listed in the error's ``stored`` attribute, for deletion."""
    members: list[Member] = []
    reader = _zip_members if fmt == "zip" else _tar_members
    try:
        for member in reader(path, limits, store):
            members.append(member)
    except ArchiveError as exc:
        exc.stored = [m.stored_path for m in members if m.stored_path]  # type: ignore[attr-defined]
        raise
    return members
