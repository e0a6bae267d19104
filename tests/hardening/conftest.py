"""Fixtures of the hardening suites: real server and worker processes on the test database."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.hardening.stack import Daphne, DramatiqWorker, service_env
from tests.ml.conftest import sam_checkpoint  # noqa: F401 (the SAM 2.1 tiny checkpoint, random weights)

ALL_QUEUES = ["default", "media", "exports", "maintenance", "ml"]


def shared_redis_url() -> str:
    """The Redis this test run uses (REDIS_URL); processes get their own Dramatiq namespace."""
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def stack_env(settings, tmp_path):
    """make_env(**extra) -> environment for a server/worker sharing this test's database and
    storage folder, on the shared Redis with a namespace of its own."""
    namespace = f"test-hardening-{uuid.uuid4().hex[:8]}"
    media_root = settings.STORAGES["default"]["OPTIONS"]["location"]

    def make_env(redis_url: str | None = None, **extra: str) -> dict[str, str]:
        return service_env(
            data_dir=tmp_path / "service-data",
            redis_url=redis_url or shared_redis_url(),
            namespace=namespace,
            media_root=media_root,
            extra={key: str(value) for key, value in extra.items()},
        )

    return make_env


@pytest.fixture
def start(tmp_path):
    """start(process) -> the started process, stopped at the end of the test."""
    started = []

    def run(process):
        started.append(process)
        return process.start()

    yield run
    for process in reversed(started):
        process.stop()


__all__ = ["ALL_QUEUES", "Daphne", "DramatiqWorker"]
