"""Portal test helpers: Django test clients signed in as a member of a given role."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from organizations.roles import Role


@pytest.fixture
def signed_in():
    """signed_in(world, role) -> a Django test client with that member's session."""

    def login(world, role: str = Role.OWNER) -> Client:
        client = Client()
        client.force_login(world.user(role))
        return client

    return login


@pytest.fixture
def owner_a(world_a, signed_in) -> Client:
    return signed_in(world_a, Role.OWNER)


def text(response) -> str:
    return response.content.decode()


def has_form(response, action: str) -> bool:
    """Is there a form posting to ``action`` on the page?"""
    return re.search(rf'<form[^>]*action="{re.escape(action)}"', text(response)) is not None
