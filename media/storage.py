"""Where media files live and how they are read, written and handed out.

Everything goes through ``default_storage`` (local folder on the embedded default, S3 in
production). A project's files all live under ``project.storage_prefix``::

    originals/<import id>/<path as uploaded>    uploaded and extracted originals
    originals/upload-<upload id>/<name>         originals assembled from resumable uploads
    uploads/<upload id>/<offset>.part           chunks of an unfinished resumable upload
    imports/<import id>/<archive name>          archives waiting to be expanded
    thumbnails/<sha256>.jpg                     thumbnails; thumbnails/<sha256>-poster.jpg
    playback/<sha256>.mp4                       H.264 playback copies of videos
    cache/frames/<task id>/<index>-<variant>    rendered frames (JPEG/PNG) served to clients

Files an organization registers from its own area (``orgs/<org>/inbox/...``) stay where
they are. Download links are presigned S3 URLs, or signed, expiring links to an
authenticated, tenant-checked view when storage is local.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

SIGNING_SALT = "media.download"
COPY_BLOCK = 1024 * 1024

# Content types we serve inline from our own origin; anything else is an attachment of
# application/octet-stream, so an uploaded HTML/SVG/script never runs in our origin.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
    }
)
ATTACHMENT_TYPES = frozenset(
    {"application/dicom", "text/plain", "image/tiff", "video/x-msvideo", "video/x-matroska", "video/mp2t"}
)


def org_area(organization_id: int) -> str:
    return f"orgs/{organization_id}"


def inbox_prefix(organization_id: int) -> str:
    """The organization's own area of the bucket, from which files can be registered."""
    return f"{org_area(organization_id)}/inbox"


_UNSAFE_CHARS = re.compile(r"[^\w.\- ()+@,]")


MAX_RELATIVE_PATH = 400  # keeps full storage paths well inside the 1000-character fields


def safe_relative_path(name: str, *, max_parts: int = 32) -> str | None:
    """A storage-safe relative path for a user-given name (folders kept), or None if the
    name is absolute, climbs out with ``..``, is empty or too long."""
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = []
    for part in PurePosixPath(name).parts:
        if part in ("", "."):
            continue
        if part == "..":
            return None
        part = unicodedata.normalize("NFC", part)
        part = _UNSAFE_CHARS.sub("_", part).strip(" ")[:200]
        if part in ("", ".", ".."):
            part = "_"
        parts.append(part)
    if not parts or len(parts) > max_parts:
        return None
    joined = "/".join(parts)
    return joined if len(joined) <= MAX_RELATIVE_PATH else None


def relative_to_project(project, path: str) -> str:
    """A project file's path relative to its prefix (what video_metadata shows)."""
    prefix = project.storage_prefix + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def put_file(path: str, content: bytes | IO[bytes]) -> str:
    """Write ``content`` at exactly ``path`` (replacing what was there) and return ``path``.

    Storages pick another name when one exists (S3 here runs with file_overwrite=False), so
    a rerun would leave copies; derived files have fixed names, hence delete-then-save.
    """
    if default_storage.exists(path):
        default_storage.delete(path)
    if isinstance(content, File):
        wrapped = content
    elif isinstance(content, bytes):
        wrapped = ContentFile(content)
    else:
        wrapped = File(content)
    saved = default_storage.save(path, wrapped)
    if saved != path:  # pragma: no cover - a concurrent writer raced us
        default_storage.delete(saved)
        raise RuntimeError(f"storage saved {path!r} as {saved!r}")
    return saved


def delete_quietly(path: str) -> None:
    if path:
        with suppress(FileNotFoundError, OSError):
            default_storage.delete(path)


def list_files(prefix: str) -> Iterator[str]:
    """Every file under a storage prefix, recursively, in a stable order."""
    prefix = prefix.rstrip("/")
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in sorted(files):
        yield f"{prefix}/{name}"
    for directory in sorted(directories):
        yield from list_files(f"{prefix}/{directory}")


def _local_path(name: str) -> str | None:
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


@contextmanager
def local_file(name: str) -> Iterator[Path]:
    """A local file path for a stored file: the file itself on local storage, otherwise a
    copy kept in MEDIA_LOCAL_CACHE_DIR (LRU-bounded) so PyAV/pydicom can seek in it."""
    direct = _local_path(name)
    if direct is not None:
        if not os.path.exists(direct):
            raise FileNotFoundError(name)
        yield Path(direct)
        return
    yield _cached_copy(name)


def _cache_dir() -> Path:
    path = Path(settings.MEDIA_LOCAL_CACHE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cached_copy(name: str) -> Path:
    location = getattr(default_storage, "location", "") or ""
    bucket = getattr(default_storage, "bucket_name", "") or ""
    key = hashlib.sha256(f"{bucket}\x00{location}\x00{name}".encode()).hexdigest()
    suffix = PurePosixPath(name).suffix[:12]
    target = _cache_dir() / f"{key}{suffix}"
    size = default_storage.size(name)
    if target.exists() and target.stat().st_size == size:
        os.utime(target)  # LRU by access time
        return target
    fd, tmp = tempfile.mkstemp(dir=_cache_dir(), prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, default_storage.open(name, "rb") as src:
            shutil.copyfileobj(src, out, COPY_BLOCK)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _evict(keep=target)
    return target


def _evict(keep: Path) -> None:
    limit = settings.MEDIA_LOCAL_CACHE_BYTES
    entries = []
    total = 0
    for entry in _cache_dir().iterdir():
        if entry.name.startswith(".part-") or not entry.is_file():
            continue
        stat = entry.stat()
        entries.append((stat.st_atime, stat.st_size, entry))
        total += stat.st_size
    for _, size, entry in sorted(entries):
        if total <= limit:
            break
        if entry != keep:
            entry.unlink(missing_ok=True)
            total -= size


def is_s3() -> bool:
    return hasattr(default_storage, "bucket_name")


def is_storage_error(exc: BaseException) -> bool:
    """Object storage unreachable, timing out, throttling or refusing (or the network under
    it): the work may well succeed when tried again later. A missing file is not one (the
    storage answers FileNotFoundError for it, on S3 too)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError, ConnectionError, TimeoutError))


def safe_content_type(content_type: str) -> tuple[str, bool]:
    """(content type to send, inline?) for a stored file: only known media types inline."""
    if content_type in INLINE_TYPES:
        return content_type, True
    if content_type in ATTACHMENT_TYPES:
        return content_type, False
    return "application/octet-stream", False


def _disposition(filename: str, inline: bool) -> str:
    from django.utils.http import content_disposition_header

    return content_disposition_header(not inline, filename)


def download_url(
    path: str,
    *,
    organization_id: int,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
    expires: int | None = None,
) -> str:
    """A short-lived URL for one stored file of an organization.

    S3: a presigned GET (content type and disposition forced by the signature). Local
    storage: a signed, expiring link to ``/api/v1/media/download`` which also requires the
    caller to be authenticated in that organization.
    """
    if not path.startswith(org_area(organization_id) + "/"):
        raise ValueError(f"{path!r} is not a file of organization {organization_id}")
    expires = expires or settings.DOWNLOAD_URL_EXPIRY_SECONDS
    sent_type, inline = safe_content_type(content_type)
    filename = filename or PurePosixPath(path).name
    if is_s3():
        return default_storage.url(
            path,
            parameters={
                "ResponseContentType": sent_type,
                "ResponseContentDisposition": _disposition(filename, inline),
            },
            expire=expires,
        )
    token = signing.dumps(
        {"p": path, "o": organization_id, "t": sent_type, "f": filename, "e": expires},
        salt=SIGNING_SALT,
        compress=True,
    )
    return f"/api/v1/media/download?token={token}"


def read_download_token(token: str) -> dict:
    """The payload of a signed download link; raises signing.BadSignature when forged or
    expired (each link carries its own lifetime)."""
    payload = signing.loads(token, salt=SIGNING_SALT, max_age=None)
    signing.loads(token, salt=SIGNING_SALT, max_age=int(payload["e"]))
    return payload


def disposition_header(filename: str, inline: bool) -> str:
    return _disposition(filename, inline)


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(COPY_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
