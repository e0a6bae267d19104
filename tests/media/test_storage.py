"""Storage rules: safe names, content sniffing, signed download links that expire, cannot be
forged or used by another organization, and never serve active content from our origin."""

from __future__ import annotations

import pytest
from django.core import signing
from rest_framework.test import APIClient

from media import synthetic
from media.sniff import sniff
from media.storage import download_url, safe_relative_path
from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.png", "a.png"),
        ("folder/sub/a.png", "folder/sub/a.png"),
        ("./x/./y.png", "x/y.png"),
        ("win\\path\\a.png", "win/path/a.png"),
        ("../a.png", None),
        ("a/../../b.png", None),
        ("/etc/passwd", None),
        ("C:/boot.ini", None),
        ("", None),
        ("nul\x00byte.png", None),
        ("weird <name>?.png", "weird _name__.png"),
    ],
)
def test_safe_relative_path(name, expected):
    assert safe_relative_path(name) == expected


@pytest.mark.parametrize(
    ("head", "kind", "fmt"),
    [
        (synthetic.image_bytes(8, 8), "image", "png"),
        (synthetic.image_bytes(8, 8, fmt="JPEG"), "image", "jpeg"),
        (synthetic.image_bytes(8, 8, fmt="GIF"), "image", "gif"),
        (synthetic.image_bytes(8, 8, fmt="TIFF"), "image", "tiff"),
        (synthetic.image_bytes(8, 8, fmt="BMP"), "image", "bmp"),
        (synthetic.image_bytes(8, 8, fmt="WEBP"), "image", "webp"),
        (synthetic.video_bytes(frames=1, size=(16, 16)), "video", "mp4"),
        (synthetic.video_bytes(".webm", codec="libvpx", container="webm", frames=1, size=(16, 16)), "video", "webm"),
        (synthetic.video_bytes(".avi", codec="mpeg4", container="avi", frames=1, size=(16, 16)), "video", "avi"),
        (synthetic.video_bytes(".ts", container="mpegts", frames=3, size=(16, 16)), "video", "mpeg-ts"),
        (synthetic.ct_series(1, 8)[0][1], "dicom", "dicom"),
        (b"PK\x03\x04rest", "archive", "zip"),
        (b"\x7fELF\x02\x01", "unknown", "executable (ELF)"),
        (b"%PDF-1.7", "unknown", "PDF document"),
        ("plain text, ünïcode".encode(), "text", "utf-8"),
        (b"\x00\x01\x02\x03binary", "unknown", "unknown"),
        (b"", "unknown", "empty"),
    ],
)
def test_type_is_decided_by_content(head, kind, fmt):
    sniffed = sniff(head[:8192])
    assert (sniffed.kind, sniffed.format) == (kind, fmt)


@pytest.fixture
def text_task(world_a, make_project, ingest):
    project = make_project(world_a, "text")
    ingest(project, [("page.txt", b"<html><script>alert(1)</script></html>")])
    return Task.objects.get(project=project)


def _original_url(world, task) -> str:
    return world.client().get(f"/api/v1/tasks/{task.pk}/media").json()["assets"][0]["url"]


def test_uploaded_markup_is_never_served_as_active_content(world_a, text_task):
    response = world_a.client().get(_original_url(world_a, text_task))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_download_links_need_a_signed_in_member_and_expire(world_a, world_b, text_task, monkeypatch):
    url = _original_url(world_a, text_task)
    assert APIClient().get(url).status_code == 401
    assert world_b.client().get(url).status_code == 404
    token = url.split("token=", 1)[1]
    forged = url.replace(token, token[:-3] + ("abc" if not token.endswith("abc") else "xyz"))
    assert world_a.client().get(forged).status_code == 404
    later = signing.time.time() + 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = world_a.client().get(url)
    assert response.status_code == 404 and "expired" in response.json()["message"]


def test_links_are_only_made_for_files_of_the_organization(world_a):
    with pytest.raises(ValueError):
        download_url(f"orgs/{world_a.org.pk + 1}/projects/1/x.png", organization_id=world_a.org.pk)
    url = download_url(
        f"orgs/{world_a.org.pk}/projects/1/x.svg", organization_id=world_a.org.pk, content_type="image/svg+xml"
    )
    payload = signing.loads(url.split("token=", 1)[1], salt="media.download")
    assert payload["t"] == "application/octet-stream"  # svg would run scripts: never inline
