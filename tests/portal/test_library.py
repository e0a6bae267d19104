"""The template library: list, create, edit, copy, delete, JSON export, JSON import preview."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from organizations.roles import Role
from projects.models import LabelTemplate
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "Road scene",
    "description": "cars and people",
    "labels": [
        {"name": "Unclassified", "color": "#808080", "maskid": 0},
        {"name": "car", "color": "#ff0000", "maskid": 1, "aliases": ["auto"]},
        {"name": "person", "color": "#00ff00"},
    ],
}
BAD = {
    "name": "Broken",
    "labels": [
        {"name": "car", "color": "#ff0000", "maskid": 1},
        {"name": "truck", "color": "red", "maskid": 1},
    ],
}


def builtin(world) -> LabelTemplate:
    return LabelTemplate.objects.for_organization(world.org).get(is_builtin=True)


def test_the_head_and_neck_template_is_in_the_library(world_a, signed_in):
    body = text(signed_in(world_a, Role.ANNOTATOR).get(reverse("portal:templates")))
    assert "Head and neck CT (organs at risk)" in body and "built-in" in body
    detail = text(signed_in(world_a, Role.ANNOTATOR).get(reverse("portal:template", args=[builtin(world_a).pk])))
    assert "Brainstem" in detail and "Unclassified" in detail


def test_create_and_edit_a_template_with_rows(world_a, owner_a):
    response = owner_a.post(reverse("portal:template-create"), {"name": "T1", "labels": json.dumps(GOOD["labels"])})
    template = LabelTemplate.objects.for_organization(world_a.org).get(name="T1")
    assert response["Location"] == reverse("portal:template", args=[template.pk])
    assert [r["maskid"] for r in template.labels] == [0, 1, 2]
    page = text(owner_a.get(reverse("portal:template", args=[template.pk])))
    assert "data-template-rows" in page
    rows = [{**row, "z_order": i} for i, row in enumerate(reversed(template.labels))]
    owner_a.post(reverse("portal:template", args=[template.pk]), {"name": "T1 renamed", "labels": json.dumps(rows)})
    template.refresh_from_db()
    assert template.name == "T1 renamed"
    assert [r["name"] for r in sorted(template.labels, key=lambda r: r["z_order"])] == ["person", "car", "Unclassified"]


def test_edit_shows_row_errors(world_a, owner_a):
    template = builtin(world_a)
    response = owner_a.post(
        reverse("portal:template", args=[template.pk]), {"name": template.name, "labels": json.dumps(BAD["labels"])}
    )
    assert response.status_code == 400
    assert "clashes with row 0" in text(response) and "#RRGGBB" in text(response)
    bad_json = owner_a.post(reverse("portal:template", args=[template.pk]), {"name": "x", "labels": "[oops"})
    assert bad_json.status_code == 400 and "Not valid JSON" in text(bad_json)


def test_copy_and_delete_with_confirmation(world_a, owner_a):
    source = builtin(world_a)
    response = owner_a.post(reverse("portal:template-copy", args=[source.pk]))
    copy = LabelTemplate.objects.for_organization(world_a.org).get(name=f"{source.name} (copy)")
    assert response["Location"] == reverse("portal:template", args=[copy.pk]) and not copy.is_builtin
    url = reverse("portal:template-delete", args=[copy.pk])
    assert "Delete template" in text(owner_a.post(url))
    assert LabelTemplate.objects.filter(pk=copy.pk).exists()
    owner_a.post(url, {"confirmed": "yes"})
    assert not LabelTemplate.objects.filter(pk=copy.pk).exists()


def test_export_downloads_json_that_import_accepts(world_a, world_b, owner_a, signed_in):
    response = owner_a.get(reverse("portal:template-export", args=[builtin(world_a).pk]))
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="head-and-neck-ct-organs-at-risk.json"'
    document = json.loads(response.content)
    document["name"] = "Imported H&N"
    imported = signed_in(world_b).post(
        reverse("portal:template-import"), {"step": "import", "text": json.dumps(document)}
    )
    assert imported.status_code == 302
    assert LabelTemplate.objects.for_organization(world_b.org).filter(name="Imported H&N").exists()


def test_import_preview_shows_per_row_errors_and_writes_nothing(world_a, owner_a):
    upload = SimpleUploadedFile("bad.json", json.dumps(BAD).encode(), content_type="application/json")
    response = owner_a.post(reverse("portal:template-import"), {"step": "preview", "file": upload})
    assert response.status_code == 400
    body = text(response)
    assert "problems to fix before importing" in body
    assert "row-error" in body and "color must look like #RRGGBB" in body and "maskid 1 clashes with row 0" in body
    assert "Confirm import" not in body
    assert not LabelTemplate.objects.filter(name="Broken").exists()
    # Even a forced import of the bad document is refused, all or nothing.
    forced = owner_a.post(reverse("portal:template-import"), {"step": "import", "text": json.dumps(BAD)})
    assert forced.status_code == 400 and not LabelTemplate.objects.filter(name="Broken").exists()


def test_import_preview_then_confirm(world_a, owner_a):
    preview = owner_a.post(reverse("portal:template-import"), {"step": "preview", "text": json.dumps(GOOD)})
    assert preview.status_code == 200
    body = text(preview)
    assert "Ready to import 1 template" in body and "Confirm import" in body
    assert not LabelTemplate.objects.filter(name="Road scene").exists()
    done = owner_a.post(reverse("portal:template-import"), {"step": "import", "text": json.dumps(GOOD)})
    template = LabelTemplate.objects.for_organization(world_a.org).get(name="Road scene")
    assert done["Location"] == reverse("portal:template", args=[template.pk])
    assert [r["maskid"] for r in template.labels] == [0, 1, 2]


def test_import_explains_unreadable_input(owner_a):
    empty = owner_a.post(reverse("portal:template-import"), {"step": "preview", "text": ""})
    assert empty.status_code == 400 and "Choose a JSON file or paste JSON" in text(empty)
    broken = owner_a.post(reverse("portal:template-import"), {"step": "preview", "text": '{"name": '})
    assert broken.status_code == 400 and "Not valid JSON" in text(broken)
    wrong = owner_a.post(reverse("portal:template-import"), {"step": "preview", "text": "42"})
    assert wrong.status_code == 400 and "Expected a template object" in text(wrong)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_workers_read_the_library_but_cannot_change_it(world_a, signed_in, role):
    client = signed_in(world_a, role)
    template = builtin(world_a)
    page = client.get(reverse("portal:templates"))
    assert "Import JSON" not in text(page) and "New template" not in text(page)
    assert not has_form(page, reverse("portal:template-delete", args=[template.pk]))
    assert "Export" in text(page)
    detail = text(client.get(reverse("portal:template", args=[template.pk])))
    assert "Save template" not in detail and "Brainstem" in detail
    assert client.get(reverse("portal:template-export", args=[template.pk])).status_code == 200
    for url in (reverse("portal:template-create"), reverse("portal:template-import")):
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "x", "labels": "[]", "text": "{}"}).status_code == 403
    for name in ("portal:template", "portal:template-copy", "portal:template-delete"):
        url = reverse(name, args=[template.pk])
        assert client.post(url, {"name": "x", "labels": "[]", "confirmed": "yes"}).status_code == 403
    assert LabelTemplate.objects.filter(pk=template.pk, name=template.name).exists()


def test_another_organizations_template_does_not_exist(world_b, owner_a):
    theirs = builtin(world_b)
    for name in ("portal:template", "portal:template-export"):
        assert owner_a.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("portal:template", "portal:template-copy", "portal:template-delete"):
        assert owner_a.post(reverse(name, args=[theirs.pk]), {"confirmed": "yes"}).status_code == 404
    assert LabelTemplate.objects.filter(pk=theirs.pk).exists()
