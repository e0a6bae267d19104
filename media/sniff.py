"""What a file is, by its content (never by its name).

``sniff(head)`` looks at the first bytes of a file (magic numbers) and answers a kind
(image, video, dicom, text, archive, unknown) with a format name and the MIME type we
record. Decoding then proves the guess (see ``media.services.probe``).
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 8192


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image | video | dicom | text | archive | unknown
    format: str  # png, jpeg, mp4, zip, ... or a description of what it is
    mime: str

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.format}"


UNKNOWN = Sniffed("unknown", "unknown", "application/octet-stream")
# Text in another encoding than UTF-8 (Latin-1, Windows-1252...): refused as not UTF-8.
NOT_UTF8_TEXT = Sniffed("unknown", "text that is not UTF-8", "application/octet-stream")

_MP4_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}
_QUICKTIME_BRANDS = {b"qt  "}


def _ftyp(head: bytes) -> Sniffed | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _MP4_IMAGE_BRANDS:
        return Sniffed("image", brand.decode("ascii", "replace").strip(), "image/heif")
    if brand in _QUICKTIME_BRANDS:
        return Sniffed("video", "mov", "video/quicktime")
    if brand.startswith(b"3g"):
        return Sniffed("video", "3gp", "video/3gpp")
    return Sniffed("video", "mp4", "video/mp4")


def _is_mpeg_ts(head: bytes) -> bool:
    return len(head) >= 188 * 3 and all(head[i] == 0x47 for i in (0, 188, 376))


def _text(head: bytes) -> Sniffed | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Sniffed("text", "utf-16", "text/plain")
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return NOT_UTF8_TEXT if _is_legacy_text(head) else None
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if text and controls > len(text) // 100:
        return None
    return Sniffed("text", "utf-8", "text/plain")


def _is_legacy_text(head: bytes) -> bool:
    """Printable in a single-byte encoding (Latin-1 / Windows-1252): text, but not UTF-8."""
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\v")
    return controls <= len(head) // 100


def sniff(head: bytes) -> Sniffed:
    """Classify a file by its first bytes (give at least HEAD_BYTES where the file has them)."""
    if not head:
        return Sniffed("unknown", "empty", "application/octet-stream")
    if len(head) >= 132 and head[128:132] == b"DICM":
        return Sniffed("dicom", "dicom", "application/dicom")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png", "image/png")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "gif", "image/gif")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Sniffed("image", "tiff", "image/tiff")
    if head.startswith(b"BM") and len(head) >= 26 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return Sniffed("image", "bmp", "image/bmp")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "webp", "image/webp")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return Sniffed("video", "avi", "video/x-msvideo")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        is_webm = b"webm" in head[:64]
        return Sniffed("video", "webm" if is_webm else "matroska", "video/webm" if is_webm else "video/x-matroska")
    mp4 = _ftyp(head)
    if mp4 is not None:
        return mp4
    if head.startswith(b"OggS"):
        return Sniffed("video", "ogg", "video/ogg")
    if head.startswith(b"FLV\x01"):
        return Sniffed("video", "flv", "video/x-flv")
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return Sniffed("video", "asf", "video/x-ms-asf")
    if head.startswith(b"\x00\x00\x01\xba"):
        return Sniffed("video", "mpeg-ps", "video/mpeg")
    if _is_mpeg_ts(head):
        return Sniffed("video", "mpeg-ts", "video/mp2t")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Sniffed("archive", "zip", "application/zip")
    if len(head) >= 262 and head[257:262] == b"ustar":
        return Sniffed("archive", "tar", "application/x-tar")
    if head.startswith(b"\x1f\x8b"):
        return Sniffed("archive", "gzip", "application/gzip")
    if head.startswith(b"BZh"):
        return Sniffed("archive", "bzip2", "application/x-bzip2")
    if head.startswith(b"\xfd7zXZ\x00"):
        return Sniffed("archive", "xz", "application/x-xz")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Sniffed("unknown", "7z archive", "application/x-7z-compressed")
    if head.startswith(b"Rar!"):
        return Sniffed("unknown", "rar archive", "application/vnd.rar")
    if head.startswith(b"\x7fELF"):
        return Sniffed("unknown", "executable (ELF)", "application/octet-stream")
    if head.startswith(b"MZ"):
        return Sniffed("unknown", "executable (Windows)", "application/octet-stream")
    if head.startswith(b"%PDF"):
        return Sniffed("unknown", "PDF document", "application/pdf")
    text = _text(head)
    if text is not None:
        return text
    return UNKNOWN
