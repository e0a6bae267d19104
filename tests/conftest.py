"""Fixtures that build real objects through the services (never raw rows)."""

from __future__ import annotations

import itertools
import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import create_api_token, create_key_pair
from organizations.models import Membership
from organizations.roles import Role
from organizations.services import add_member, create_organization

_counter = itertools.count(1)


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        help="run the hardening suites in their long mode (also ANNOTATOR_LONG_TESTS=1): 20,000+ fuzz cases...",
    )


def pytest_configure(config):
    if config.getoption("--long", default=False):
        os.environ["ANNOTATOR_LONG_TESTS"] = "1"


def long_mode() -> bool:
    """True when the hardening suites run in their long mode (by hand, not in CI)."""
    return os.environ.get("ANNOTATOR_LONG_TESTS", "") not in ("", "0", "false")


PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and cached embeddings must not leak between tests. Only this
    process's keys go (its own KEY_PREFIX): ``cache.clear()`` would flush the whole Redis
    database under another pytest-xdist worker's running test."""
    from django.conf import settings

    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if prefix and hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    else:
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test stores files in its own folder (local storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    yield


def make_user(username: str | None = None) -> User:
    user = User(username=username or f"user{next(_counter)}", email="")
    user.set_password(PASSWORD)
    user.save()
    return user


class World:
    """An organization with one member per role, and API clients for each."""

    def __init__(self, name: str):
        self.owner = make_user(f"{name}-owner-{next(_counter)}")
        self.org = create_organization(name=f"Org {name} {next(_counter)}", owner=self.owner)
        self.users = {Role.OWNER: self.owner}
        for role in (Role.ADMIN, Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR):
            membership, _ = add_member(
                actor=self.owner,
                organization=self.org,
                username=f"{name}-{role}-{next(_counter)}",
                role=role,
                password=PASSWORD,
            )
            self.users[role] = membership.user
        self._clients: dict[str, APIClient] = {}

    def user(self, role: str) -> User:
        return self.users[role]

    def client(self, role: str = Role.OWNER) -> APIClient:
        """An API client authenticated with a real token of that role's member."""
        if role not in self._clients:
            _, token = create_api_token(user=self.users[role], organization=self.org, name="tests")
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            self._clients[role] = client
        return self._clients[role]

    def key_pair(self, role: str = Role.OWNER):
        return create_key_pair(user=self.users[role], organization=self.org, name="tests")

    def membership(self, role: str) -> Membership:
        return Membership.objects.get(user=self.users[role], organization=self.org)


@pytest.fixture
def world_a(db) -> World:
    return World("a")


@pytest.fixture
def world_b(db) -> World:
    return World("b")


@pytest.fixture
def make_project(db):
    from projects.services.projects import create_project

    def factory(world: World, kind: str = "image", name: str | None = None, labels: list[dict] | None = None, **kw):
        project = create_project(
            actor=world.owner, organization=world.org, name=name or f"P{next(_counter)}", kind=kind, **kw
        )
        if labels:
            from projects.labels import validate_label_rows
            from projects.services.labels import apply_label_rows

            rows, errors = validate_label_rows(labels)
            assert not errors, errors
            apply_label_rows(actor=world.owner, project=project, rows=rows)
        return project

    return factory


DEFAULT_LABELS = [
    {"name": "car", "color": "#ff0000", "maskid": 1},
    {"name": "person", "color": "#00ff00", "maskid": 2, "aliases": ["pedestrian"]},
    {
        "name": "dog",
        "color": "#0000ff",
        "maskid": 3,
        "attributes": [{"name": "color", "type": "select", "options": ["brown", "black"]}],
    },
]


@pytest.fixture
def stub_worker():
    """A real Dramatiq worker on the stub broker. Use with ``transactional_db`` (worker
    threads have their own DB connections), send messages, then ``broker.join(queue)``."""
    import dramatiq

    broker = dramatiq.get_broker()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield broker
    worker.stop()
    broker.flush_all()
