"""The template library: built-in head-and-neck CT template, save/apply, JSON import with a
validation preview that writes nothing, export → import round trip."""

from __future__ import annotations

import pytest

from projects.builtin_templates import HEAD_AND_NECK_CT
from projects.labels import validate_label_rows
from projects.models import LabelTemplate
from tests.conftest import DEFAULT_LABELS

pytestmark = pytest.mark.django_db

TG263_EXAMPLES = [
    "Brainstem",
    "SpinalCord",
    "Parotid_L",
    "Parotid_R",
    "Submandibular_L",
    "Submandibular_R",
    "Mandible",
    "OpticNrv_L",
    "OpticNrv_R",
    "OpticChiasm",
    "Eye_L",
    "Eye_R",
    "Lens_L",
    "Lens_R",
    "Cochlea_L",
    "Cochlea_R",
    "Larynx",
    "Esophagus",
    "Thyroid",
    "OralCavity",
]


def test_builtin_head_and_neck_template_is_valid_and_distinct():
    rows, errors = validate_label_rows(HEAD_AND_NECK_CT["labels"])
    assert errors == {}
    names = [r["name"] for r in rows]
    assert set(TG263_EXAMPLES) <= set(names)
    assert len({r["color"] for r in rows}) == len(rows), "colours must be distinct"
    assert len({r["maskid"] for r in rows}) == len(rows)
    assert rows[0]["maskid"] == 0 and rows[0]["name"] == "Unclassified"


def test_every_new_organization_gets_the_builtin_template(world_a):
    template = LabelTemplate.objects.for_organization(world_a.org).get(is_builtin=True)
    assert {row["name"] for row in template.labels} >= set(TG263_EXAMPLES)


def test_create_project_from_template_copies_labels(world_a):
    template = LabelTemplate.objects.for_organization(world_a.org).get(is_builtin=True)
    response = world_a.client().post(
        "/api/v1/projects", {"name": "CT", "kind": "dicom", "template_id": template.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["label_count"] == len(template.labels)
    # A copy, not a link: editing the template later leaves the project alone.
    template.labels = template.labels[:2]
    template.save()
    from projects.models import Project

    assert Project.objects.get(pk=response.json()["id"]).labels.count() == len(HEAD_AND_NECK_CT["labels"])


def test_template_of_another_organization_cannot_be_used(world_a, world_b):
    foreign = LabelTemplate.objects.for_organization(world_b.org).first()
    response = world_a.client().post(
        "/api/v1/projects", {"name": "CT", "kind": "dicom", "template_id": foreign.pk}, format="json"
    )
    assert response.status_code == 404


BAD_IMPORT = {
    "name": "Bad set",
    "labels": [
        {"name": "liver", "color": "#ff0000", "maskid": 1},
        {"name": "liver", "color": "#00ff00", "maskid": 2},
        {"name": "kidney", "color": "green", "maskid": 1},
        {"name": "spleen", "color": "#0000ff", "maskid": 300},
        {"name": "", "color": "#000000"},
    ],
}


def test_import_preview_reports_every_bad_row_and_writes_nothing(world_a):
    before = LabelTemplate.objects.count()
    response = world_a.client().post("/api/v1/label-templates/import/preview", BAD_IMPORT, format="json")
    assert response.status_code == 200
    report = response.json()
    assert report["valid"] is False
    rows = report["templates"][0]["labels"]
    assert rows[0]["errors"] == {}
    assert "duplicate name" in rows[1]["errors"]["name"][0]
    assert "#RRGGBB" in rows[2]["errors"]["color"][0]
    assert "clashes with row 0" in rows[2]["errors"]["maskid"][0]
    assert "0 to 255" in rows[3]["errors"]["maskid"][0]
    assert "name is required" in rows[4]["errors"]["name"][0]
    assert report["error_count"] == 5
    assert LabelTemplate.objects.count() == before


def test_import_with_errors_is_refused_whole(world_a):
    payload = {"templates": [{"name": "Good", "labels": [{"name": "a", "color": "#000000"}]}, BAD_IMPORT]}
    response = world_a.client().post("/api/v1/label-templates/import", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_template"
    assert response.json()["report"]["templates"][1]["valid"] is False
    assert not LabelTemplate.objects.for_organization(world_a.org).filter(name="Good").exists()


def test_import_rejects_name_clashes_with_the_library_and_within_the_file(world_a):
    builtin = LabelTemplate.objects.for_organization(world_a.org).get(is_builtin=True)
    payload = [
        {"name": builtin.name, "labels": [{"name": "a", "color": "#000000"}]},
        {"name": "Twice", "labels": [{"name": "a", "color": "#000000"}]},
        {"name": "twice", "labels": [{"name": "a", "color": "#000000"}]},
    ]
    report = world_a.client().post("/api/v1/label-templates/import/preview", payload, format="json").json()
    assert "already exists" in report["templates"][0]["errors"][0]
    assert "appears twice" in report["templates"][2]["errors"][0]


def test_export_then_import_round_trips(world_a):
    client = world_a.client()
    template = LabelTemplate.objects.for_organization(world_a.org).get(is_builtin=True)
    exported = client.get(f"/api/v1/label-templates/{template.pk}/export").json()
    exported["name"] = "Copy of H&N"
    preview = client.post("/api/v1/label-templates/import/preview", exported, format="json").json()
    assert preview["valid"] is True, preview
    created = client.post("/api/v1/label-templates/import", exported, format="json")
    assert created.status_code == 201
    assert created.json()[0]["labels"] == template.labels


def test_save_project_as_template_and_apply_to_another(world_a, make_project):
    client = world_a.client()
    source = make_project(world_a, labels=DEFAULT_LABELS)
    saved = client.post(f"/api/v1/projects/{source.pk}/save-as-template", {"name": "Street"}, format="json")
    assert saved.status_code == 201
    clashing = make_project(world_a, labels=[{"name": "tree", "color": "#222222", "maskid": 2}])
    refused = client.post(
        f"/api/v1/label-templates/{saved.json()['id']}/apply", {"project_id": clashing.pk}, format="json"
    )
    assert refused.status_code == 400
    assert "tree" in refused.json()["message"] and "maskid 2" in refused.json()["message"]
    assert set(clashing.labels.values_list("name", flat=True)) == {"tree"}  # nothing half-applied
    target = make_project(
        world_a,
        labels=[{"name": "car", "color": "#111111", "maskid": 7}, {"name": "tree", "color": "#222222", "maskid": 9}],
    )
    merged = client.post(
        f"/api/v1/label-templates/{saved.json()['id']}/apply", {"project_id": target.pk}, format="json"
    )
    assert merged.status_code == 200, merged.content
    assert {lbl["name"] for lbl in merged.json()} == {"car", "person", "dog", "tree"}
    assert target.labels.get(name="car").maskid == 1  # updated from the template
    replaced = client.post(
        f"/api/v1/label-templates/{saved.json()['id']}/apply",
        {"project_id": target.pk, "mode": "replace"},
        format="json",
    )
    assert replaced.status_code == 200
    assert {lbl["name"] for lbl in replaced.json()} == {"car", "person", "dog"}


def test_template_edit_validates_rows(world_a):
    client = world_a.client()
    created = client.post(
        "/api/v1/label-templates", {"name": "T", "labels": [{"name": "a", "color": "#000000"}]}, format="json"
    )
    assert created.status_code == 201
    url = f"/api/v1/label-templates/{created.json()['id']}"
    bad = client.patch(
        url, {"labels": [{"name": "a", "color": "#000000"}, {"name": "a", "color": "#000001"}]}, format="json"
    )
    assert bad.status_code == 400
    assert "labels.1.name" in bad.json()["errors"]
    good = client.patch(
        url, {"labels": [{"name": "b", "color": "#000000"}, {"name": "a", "color": "#000001"}]}, format="json"
    )
    assert good.status_code == 200
    assert [r["name"] for r in good.json()["labels"]] == ["b", "a"]
    assert client.delete(url).status_code == 204
