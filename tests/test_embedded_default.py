"""The embedded default boots from nothing: SQLite, local files, in-process worker, daphne,
the demo loaded — and serves a page and an API call."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def embedded_server(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL", "SECRET_KEY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="annotator.settings", ANNOTATOR_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1"
    )
    log = open(tmp_path / "server.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "embedded", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"embedded server exited:\n{log.read()}")
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("embedded server did not start in 120 s")
        yield base, tmp_path, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_embedded_default_serves_a_page_and_an_api_call(embedded_server):
    base, tmp_path, log = embedded_server
    assert (tmp_path / "data" / "annotator.sqlite3").exists()
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    assert page.status_code == 200 and "Sign in" in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    signed_in = session.post(
        f"{base}/login/",
        data={"username": "demo-manager", "password": "try-annotator-2026", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "Street scenes (demo)" in signed_in.text
    api = session.get(f"{base}/api/v1/projects", timeout=10)
    assert api.status_code == 200
    names = {p["name"] for p in api.json()["results"]}
    assert {"Street scenes (demo)", "Traffic video (demo)", "Head and neck CT (demo)"} <= names
    log.seek(0)
    output = log.read()
    assert f"Annotator is running at {base}/" in output
    assert "demo-annotator" in output
