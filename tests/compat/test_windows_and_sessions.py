"""Image windows as Cytomine clients address them, and the session a signed request opens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from email.utils import formatdate

import numpy as np
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.services import revoke_credential
from compat import windows
from organizations.roles import Role
from tests.compat.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.django_db


def key_client(world, role: str = Role.OWNER) -> APIClient:
    pair, private = world.key_pair(role)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    return client


def picture_of(response) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(response.content)))


# --- windows -------------------------------------------------------------------------------
def test_windows_are_top_left_pixels_clipped_to_the_image(slide):
    client = key_client(slide.world)
    base = f"/api/imageinstance/{slide.task.pk}"
    exact = client.get(f"{base}/window-8-4-20-10.png")
    assert exact.status_code == 200 and exact["Content-Type"] == "image/png"
    assert np.array_equal(picture_of(exact), slide.pixels[4:14, 8:28])
    assert exact["X-Window"] == "8,4,20,10"
    clipped = client.get(f"{base}/window--5-40-20-50.png")
    assert clipped["X-Window"] == f"0,40,15,{HEIGHT - 40}"
    assert np.array_equal(picture_of(clipped), slide.pixels[40:HEIGHT, 0:15])
    whole = client.get(f"{base}/window-0-0-{WIDTH}-{HEIGHT}.jpg", HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert whole["Content-Type"] == "image/jpeg" and picture_of(whole).shape == (HEIGHT, WIDTH, 3)
    assert client.get(f"{base}/window-0-0-10-10.png", HTTP_ACCEPT="image/png").status_code == 200
    tif = client.get(f"{base}/window-0-0-10-10.tif")
    assert tif["Content-Type"] == "image/tiff" and np.array_equal(picture_of(tif), slide.pixels[0:10, 0:10])


def test_zoom_and_max_size_scale_windows_down_never_up(slide):
    client = key_client(slide.world)
    base = f"/api/imageinstance/{slide.task.pk}/window-0-0-{WIDTH}-{HEIGHT}.png"
    assert picture_of(client.get(base, {"zoom": 0})).shape[:2] == (HEIGHT, WIDTH)
    assert picture_of(client.get(base, {"zoom": 1})).shape[:2] == (HEIGHT // 2, WIDTH // 2)
    assert picture_of(client.get(base, {"zoom": 2})).shape[:2] == (HEIGHT // 4, WIDTH // 4)
    assert picture_of(client.get(base, {"maxSize": 32})).shape[:2] == (24, 32)
    assert picture_of(client.get(base, {"maxSize": 5000})).shape[:2] == (HEIGHT, WIDTH)
    assert client.get(base, {"zoom": 99}).status_code == 400
    assert client.get(base, {"mask": "true"}).status_code == 400


@pytest.mark.parametrize("window", [f"{WIDTH}-{HEIGHT}-0-0", "0-0-0-10", f"{WIDTH}-0-10-10", "-20-0-10-10"])
def test_a_window_with_nothing_inside_the_image_is_400_and_says_how_to_ask(slide, window):
    response = key_client(slide.world).get(f"/api/imageinstance/{slide.task.pk}/window-{window}.jpg")
    assert response.status_code == 400
    assert f"window-0-0-{WIDTH}-{HEIGHT}" in response.json()["message"]
    assert response.json()["success"] is False


def test_an_image_without_media_yet_is_409_not_404(world_a, make_project):
    from tasks.services.tasks import create_task

    task = create_task(actor=world_a.owner, project=make_project(world_a, kind="image"), name="empty")
    client = key_client(world_a)
    assert client.get(f"/api/imageinstance/{task.pk}.json").json()["width"] is None
    response = client.get(f"/api/imageinstance/{task.pk}/window-0-0-10-10.png")
    assert response.status_code == 409 and "not ingested" in response.json()["message"]


def test_thumb_and_download(slide):
    client = key_client(slide.world)
    thumb = client.get(f"/api/imageinstance/{slide.task.pk}/thumb.png", {"maxSize": 16})
    assert picture_of(thumb).shape[:2] == (12, 16)
    download = client.get(f"/api/imageinstance/{slide.task.pk}/download")
    assert download.status_code == 200 and "slide-a.png" in download["Content-Disposition"]
    asset = slide.task.frames.get(index=0).asset
    with default_storage.open(asset.file, "rb") as handle:
        assert b"".join(download.streaming_content) == handle.read()


def test_clip_and_render_directly():
    assert windows.clip(-3, -3, 10, 10, 64, 48) == windows.Window(0, 0, 7, 7)
    assert windows.clip(60, 40, 10, 10, 64, 48) == windows.Window(60, 40, 4, 8)
    with pytest.raises(windows.EmptyWindow):
        windows.clip(64, 48, 0, 0, 64, 48)


# --- sessions ------------------------------------------------------------------------------
def signed_headers(public: str, private: str, method: str = "GET", path: str | None = None, when=None) -> dict:
    date = formatdate(when if when is not None else timezone.now().timestamp(), usegmt=True)
    message = f"{method}\n\n\n{date}" + (f"\n{path}" if path else "")
    signature = base64.b64encode(hmac.new(private.encode(), message.encode(), hashlib.sha1).digest()).decode()
    return {"HTTP_AUTHORIZATION": f"CYTOMINE {public}:{signature}", "HTTP_DATE": date}


def test_a_signed_request_opens_a_session_that_plain_reads_of_the_client_use(slide):
    pair, private = slide.world.key_pair(Role.REVIEWER)
    client = APIClient()
    signed = client.get("/api/user/current.json", **signed_headers(pair.public_key, private))
    assert signed.status_code == 200
    cookie = signed.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    # The same client, no signature: the cookie alone, as cyto._session.get(window_url).
    plain = client.get(f"/api/imageinstance/{slide.task.pk}/window-0-0-8-8.png")
    assert plain.status_code == 200
    me = client.get("/api/user/current.json").json()
    assert me["id"] == slide.world.user(Role.REVIEWER).pk and me["role"] == "reviewer"
    # Only reads: writes must be signed; and the cookie opens nothing outside the Cytomine routes.
    body = {"location": "POINT (1 1)", "image": slide.task.pk, "term": [slide.labels["tumor"].pk]}
    assert client.post("/api/annotation.json", body, format="json").status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302  # the portal sends it to the login page
    # Revoking the key ends the session.
    revoke_credential(actor=slide.world.owner, credential=pair)
    ended = client.get(f"/api/imageinstance/{slide.task.pk}.json")
    assert ended.status_code == 401 and "revoked" in ended.json()["message"]


def test_older_clients_signing_the_path_and_the_x_auth_pair_open_it_too(slide):
    pair, private = slide.world.key_pair()
    older = APIClient()
    response = older.get("/api/project.json", **signed_headers(pair.public_key, private, path="/api/project.json"))
    assert response.status_code == 200 and settings.SESSION_COOKIE_NAME in response.cookies
    assert older.get(f"/api/project/{slide.project.pk}.json").status_code == 200
    pair_client = APIClient()
    pair_client.get("/api/project.json", HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    assert pair_client.get("/api/project.json").status_code == 200


def test_no_session_without_a_valid_signature_or_outside_the_allowed_skew(slide):
    pair, private = slide.world.key_pair()
    client = APIClient()
    stale_at = timezone.now().timestamp() - settings.SIGNED_REQUEST_MAX_SKEW_SECONDS - 60
    stale = client.get("/api/project.json", **signed_headers(pair.public_key, private, when=stale_at))
    assert stale.status_code == 401 and "server clock" in stale.json()["message"]
    wrong = client.get("/api/project.json", **signed_headers(pair.public_key, "not-the-key"))
    assert wrong.status_code == 401
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert client.get("/api/project.json").status_code == 401
    token_client = slide.world.client()  # tokens are for scripts that send them every time: no cookie
    assert settings.SESSION_COOKIE_NAME not in token_client.get("/api/project.json").cookies


def test_another_key_on_the_same_cookie_gets_a_fresh_session(slide, world_b):
    mine, my_private = slide.world.key_pair()
    theirs, their_private = world_b.key_pair()
    client = APIClient()
    first = client.get("/api/project.json", **signed_headers(mine.public_key, my_private))
    first_key = first.cookies[settings.SESSION_COOKIE_NAME].value
    second = client.get("/api/project.json", **signed_headers(theirs.public_key, their_private))
    assert second.cookies[settings.SESSION_COOKIE_NAME].value != first_key
    assert client.get(f"/api/project/{slide.project.pk}.json").status_code == 404  # now B's session
    assert client.get("/api/user/current.json").json()["organization"] == world_b.org.slug
