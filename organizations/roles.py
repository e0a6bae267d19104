"""Roles and the permission matrix: who may do what, written once.

Every API endpoint and portal view names the permission it needs; the matrix below is the
only place that says which roles hold it. README.md's "Roles and permissions" table is
generated from it (``python manage.py permission_matrix``) and a test keeps them equal.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REVIEWER = "reviewer", "Reviewer"
    ANNOTATOR = "annotator", "Annotator"


_O, _A, _M, _R, _N = Role.OWNER, Role.ADMIN, Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR
EVERYONE = frozenset({_O, _A, _M, _R, _N})
MANAGERS = frozenset({_O, _A, _M})
ADMINS = frozenset({_O, _A})
OWNERS = frozenset({_O})
WORKERS = frozenset({_O, _A, _M, _N})  # may annotate
REVIEWERS = frozenset({_O, _A, _M, _R})  # may review

# permission -> (what it allows, in the user's words; roles that hold it)
PERMISSIONS: dict[str, tuple[str, frozenset[str]]] = {
    "organization.view": ("see the organization and switch to it", EVERYONE),
    "organization.change": ("rename the organization", ADMINS),
    "member.view": ("list members and their roles", MANAGERS),
    "member.manage": ("add/invite members, change roles, remove members", ADMINS),
    "audit.view": ("read the audit log", ADMINS),
    "project.view": ("see projects, labels, batches and tasks", EVERYONE),
    "project.create": ("create and copy projects", MANAGERS),
    "project.change": ("rename projects and change their settings", MANAGERS),
    "project.delete": ("delete projects with all their content", ADMINS),
    "label.change": ("create, edit, reorder and delete label classes", MANAGERS),
    "template.view": ("see the label template library", EVERYONE),
    "template.change": ("create, import, edit and delete label templates", MANAGERS),
    "task.manage": ("create, delete, assign, tag and prioritise tasks and batches", MANAGERS),
    "task.annotate": ("claim tasks, save drafts and submit annotations", WORKERS),
    "task.review": ("claim reviews, approve and return tasks", REVIEWERS),
    "task.complete": ("accept reviewed tasks as completed, restore revisions", MANAGERS),
    "comment.create": ("comment on tasks and resolve comments", EVERYONE),
    "media.upload": ("upload and import media, register storage", MANAGERS),
    "export.create": ("export and import annotations", MANAGERS),
    "ai.assist": ("use SAM assistance and accept/reject AI candidates", WORKERS | REVIEWERS),
    "model.manage": ("register models, run inference, auto-annotation and evaluation", MANAGERS),
    "demo.reset": ("reset the demo data", OWNERS),
}

ROLE_ORDER = [_O, _A, _M, _R, _N]


def role_has(role: str | None, permission: str) -> bool:
    if role is None:
        return False
    try:
        return role in PERMISSIONS[permission][1]
    except KeyError:
        raise KeyError(f"Unknown permission {permission!r}; add it to organizations.roles.PERMISSIONS") from None


def roles_with(permission: str) -> list[str]:
    return [role for role in ROLE_ORDER if role in PERMISSIONS[permission][1]]


def matrix_markdown() -> str:
    """The permission matrix as a Markdown table (README.md embeds it verbatim)."""
    header = "| permission | what it allows | " + " | ".join(str(r) for r in ROLE_ORDER) + " |"
    rule = "|---|---|" + "---|" * len(ROLE_ORDER)
    rows = [header, rule]
    for name, (text, roles) in PERMISSIONS.items():
        marks = " | ".join("✓" if r in roles else "" for r in ROLE_ORDER)
        rows.append(f"| `{name}` | {text} | {marks} |")
    return "\n".join(rows)
