"""A project's labels page: add, edit (attributes, aliases), delete, reorder, templates."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from organizations.roles import Role
from projects.models import LabelTemplate
from tests.conftest import DEFAULT_LABELS
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(world_a, make_project):
    return make_project(world_a, name="Street", labels=DEFAULT_LABELS)


def names_top_first(project) -> list[str]:
    return list(project.labels.order_by("-z_order", "-id").values_list("name", flat=True))


def test_page_lists_labels_top_layer_first_with_reorder_controls(owner_a, project):
    body = text(owner_a.get(reverse("portal:labels", args=[project.pk])))
    assert re.findall(r'data-label-name="([^"]+)"', body) == ["dog", "person", "car"]
    assert "data-reorder-list" in body and 'draggable="true"' in body
    assert "Alt+↑" in body


def test_add_a_label_with_colour_aliases_and_attributes(owner_a, project):
    attributes = [{"name": "occluded", "type": "checkbox"}, {"name": "size", "type": "select", "options": ["s", "l"]}]
    response = owner_a.post(
        reverse("portal:labels", args=[project.pk]),
        {
            "name": "bike",
            "color": "#AABBCC",
            "maskid": "",
            "category": "vehicle",
            "aliases": "bicycle, cycle",
            "attributes": json.dumps(attributes),
        },
    )
    assert response.status_code == 302
    bike = project.labels.get(name="bike")
    assert (bike.color, bike.maskid, bike.category, bike.aliases) == ("#aabbcc", 4, "vehicle", ["bicycle", "cycle"])
    assert bike.attributes == attributes
    assert names_top_first(project)[0] == "bike"  # new labels are painted on top


def test_add_shows_the_services_errors_on_the_fields(owner_a, project):
    response = owner_a.post(
        reverse("portal:labels", args=[project.pk]),
        {"name": "car", "color": "red", "maskid": "2", "attributes": '[{"name": "x", "type": "colour"}]'},
    )
    assert response.status_code == 400
    body = text(response)
    assert "duplicate name" in body
    assert "#RRGGBB" in body
    assert "clashes with row" in body
    assert "type must be one of" in body


def test_add_refuses_json_that_does_not_parse(owner_a, project):
    response = owner_a.post(
        reverse("portal:labels", args=[project.pk]), {"name": "x", "color": "#000000", "attributes": "[{"}
    )
    assert response.status_code == 400 and "Not valid JSON" in text(response)


def test_edit_a_label(owner_a, project):
    car = project.labels.get(name="car")
    url = reverse("portal:label", args=[project.pk, car.pk])
    page = text(owner_a.get(url))
    assert 'type="color"' in page and 'value="#ff0000"' in page and "data-attributes-editor" in page
    response = owner_a.post(url, {"name": "automobile", "color": "#00aa00", "maskid": "9", "aliases": "car"})
    assert response.status_code == 302
    car.refresh_from_db()
    assert (car.name, car.color, car.maskid, car.aliases) == ("automobile", "#00aa00", 9, ["car"])
    bad = owner_a.post(url, {"name": "automobile", "color": "#00aa00", "maskid": "300"})
    assert bad.status_code == 400 and "less than or equal to 255" in text(bad)


def test_delete_a_label_after_confirmation(owner_a, project):
    dog = project.labels.get(name="dog")
    url = reverse("portal:label-delete", args=[project.pk, dog.pk])
    assert "Delete label “dog”?" in text(owner_a.post(url))
    assert project.labels.filter(pk=dog.pk).exists()
    owner_a.post(url, {"confirmed": "yes"})
    assert not project.labels.filter(pk=dog.pk).exists()


def test_reorder_saves_the_dragged_order_through_the_service(owner_a, project):
    ids = {lbl.name: lbl.pk for lbl in project.labels.all()}
    order = [ids["car"], ids["dog"], ids["person"]]  # top first, as the page sends it
    response = owner_a.post(
        reverse("portal:labels-reorder", args=[project.pk]),
        {"order": ",".join(map(str, order))},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json()["order"] == order
    assert names_top_first(project) == ["car", "dog", "person"]
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="labels.reordered", object_id=str(project.pk)).exists()


def test_reorder_refuses_a_partial_or_foreign_order(world_b, owner_a, project, make_project):
    foreign = make_project(world_b, labels=DEFAULT_LABELS).labels.first()
    ids = list(project.labels.values_list("pk", flat=True))
    for order in (ids[:2], [*ids[:2], foreign.pk], "a,b"):
        value = order if isinstance(order, str) else ",".join(map(str, order))
        response = owner_a.post(
            reverse("portal:labels-reorder", args=[project.pk]), {"order": value}, HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 400, order
    assert names_top_first(project) == ["dog", "person", "car"]


def test_move_up_and_down_is_the_keyboard_and_no_script_way(owner_a, project):
    car = project.labels.get(name="car")
    response = owner_a.post(reverse("portal:label-move", args=[project.pk, car.pk]), {"direction": "up"})
    assert response["Location"].endswith(f"#label-{car.pk}")
    assert names_top_first(project) == ["dog", "car", "person"]
    owner_a.post(reverse("portal:label-move", args=[project.pk, car.pk]), {"direction": "down"})
    assert names_top_first(project) == ["dog", "person", "car"]
    owner_a.post(reverse("portal:label-move", args=[project.pk, car.pk]), {"direction": "down"})  # already last
    assert names_top_first(project) == ["dog", "person", "car"]


def test_apply_replace_is_confirmed_in_the_page(world_a, owner_a, make_project):
    from tests.portal.test_projects import head_and_neck

    project = make_project(world_a, name="Fresh", labels=[{"name": "tumour", "color": "#ff00ff", "maskid": 200}])
    template = head_and_neck(world_a)
    url = reverse("portal:labels-apply", args=[project.pk])
    unconfirmed = owner_a.post(url, {"template": str(template.pk), "mode": "replace"})
    assert "label “tumour”" in text(unconfirmed)
    assert project.labels.filter(name="tumour").exists()
    owner_a.post(url, {"template": str(template.pk), "mode": "replace", "confirmed": "yes"})
    assert not project.labels.filter(name="tumour").exists()
    assert project.labels.count() == len(template.labels)


def test_apply_merge_adds_the_templates_labels(world_a, owner_a, make_project):
    from tests.portal.test_projects import head_and_neck

    project = make_project(world_a, name="Merge", labels=[{"name": "tumour", "color": "#ff00ff", "maskid": 200}])
    template = head_and_neck(world_a)
    response = owner_a.post(
        reverse("portal:labels-apply", args=[project.pk]), {"template": str(template.pk), "mode": "merge"}
    )
    assert response.status_code == 302
    assert project.labels.count() == len(template.labels) + 1


def test_apply_shows_a_clash_as_a_message(world_a, owner_a, project):
    from tests.portal.test_projects import head_and_neck

    template = head_and_neck(world_a)  # uses maskids 1.. which car/person/dog hold
    response = owner_a.post(
        reverse("portal:labels-apply", args=[project.pk]), {"template": str(template.pk), "mode": "merge"}, follow=True
    )
    assert "Cannot apply" in text(response)
    assert project.labels.count() == 3


def test_save_labels_as_a_template(world_a, owner_a, project):
    response = owner_a.post(reverse("portal:labels-save", args=[project.pk]), {"name": "Street set"})
    template = LabelTemplate.objects.for_organization(world_a.org).get(name="Street set")
    assert response["Location"] == reverse("portal:template", args=[template.pk])
    assert [row["name"] for row in template.labels] == ["car", "person", "dog"]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_workers_see_labels_read_only_and_the_server_refuses_changes(world_a, signed_in, project, role):
    client = signed_in(world_a, role)
    car = project.labels.get(name="car")
    body = text(client.get(reverse("portal:labels", args=[project.pk])))
    assert "car" in body
    assert "data-reorder-list" not in body and "Add a label" not in body and "Apply a template" not in body
    assert not has_form(
        client.get(reverse("portal:labels", args=[project.pk])), reverse("portal:labels-reorder", args=[project.pk])
    )
    edit = text(client.get(reverse("portal:label", args=[project.pk, car.pk])))
    assert "Save label" not in edit
    posts = [
        (reverse("portal:labels", args=[project.pk]), {"name": "x", "color": "#000000"}),
        (reverse("portal:label", args=[project.pk, car.pk]), {"name": "x", "color": "#000000"}),
        (reverse("portal:label-delete", args=[project.pk, car.pk]), {"confirmed": "yes"}),
        (reverse("portal:label-move", args=[project.pk, car.pk]), {"direction": "up"}),
        (reverse("portal:labels-reorder", args=[project.pk]), {"order": ""}),
        (reverse("portal:labels-apply", args=[project.pk]), {"template": "1", "mode": "merge"}),
        (reverse("portal:labels-save", args=[project.pk]), {"name": "x"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert names_top_first(project) == ["dog", "person", "car"]


def test_a_label_of_another_project_or_organization_does_not_exist(world_a, world_b, owner_a, project, make_project):
    sibling = make_project(world_a, name="Other", labels=DEFAULT_LABELS).labels.first()
    foreign = make_project(world_b, labels=DEFAULT_LABELS).labels.first()
    for label in (sibling, foreign):
        assert owner_a.get(reverse("portal:label", args=[project.pk, label.pk])).status_code == 404
        delete = owner_a.post(reverse("portal:label-delete", args=[project.pk, label.pk]), {"confirmed": "yes"})
        assert delete.status_code == 404
    assert owner_a.get(reverse("portal:label", args=[foreign.project_id, foreign.pk])).status_code == 404
