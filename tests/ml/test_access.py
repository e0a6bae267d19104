"""Who may use the AI features (``ai.assist``, ``model.manage``), and tenancy: another
organization's models, runs, records, chains and jobs are 404, in URLs and in bodies."""

from __future__ import annotations

import pytest

from ml.models import AutoAnnotationRun, EvaluationRun, InferenceModel, InferenceRecord, InferenceRun, PropagationRun
from organizations.roles import ROLE_ORDER, Role, role_has
from tests.factories import build
from tests.ml.conftest import png, scene

pytestmark = pytest.mark.django_db

MANAGE_REQUESTS = [
    ("get", "/api/v1/ml/models"),
    ("post", "/api/v1/ml/models"),
    ("get", "/api/v1/ml/inference-runs"),
    ("post", "/api/v1/ml/inference-runs"),
    ("get", "/api/v1/ml/inference-records"),
    ("get", "/api/v1/ml/inference-records/recent"),
    ("get", "/api/v1/ml/inference-records/stats-by-date"),
    ("get", "/api/v1/ml/auto-annotations"),
    ("post", "/api/v1/ml/auto-annotations"),
    ("get", "/api/v1/ml/evaluations"),
    ("post", "/api/v1/ml/evaluations"),
]


@pytest.mark.parametrize("role", ROLE_ORDER)
def test_model_features_follow_the_model_manage_permission(world_a, role):
    client = world_a.client(role)
    for method, url in MANAGE_REQUESTS:
        response = getattr(client, method)(url, {}, format="json")
        if role_has(role, "model.manage"):
            assert response.status_code != 403, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url)
            assert f"Your role ({role}) may not register models" in response.json()["message"]


@pytest.mark.parametrize("role", ROLE_ORDER)
def test_sam_assistance_follows_the_ai_assist_permission(world_a, role):
    allowed = role_has(role, "ai.assist")
    for method, url in [("get", "/api/v1/sam/status"), ("get", "/api/v1/sam/propagations")]:
        status = getattr(world_a.client(role), method)(url).status_code
        assert (status == 200) if allowed else (status == 403)


def test_another_organizations_objects_are_404_for_every_method(world_a, world_b):
    client = world_b.client(Role.OWNER)
    routes = {
        InferenceModel: ("ml/models", ["get", "patch", "delete"], ["set-default"]),
        InferenceRun: ("ml/inference-runs", ["get"], []),
        InferenceRecord: ("ml/inference-records", ["get"], ["result-image"]),
        AutoAnnotationRun: ("ml/auto-annotations", ["get"], []),
        EvaluationRun: ("ml/evaluations", ["get"], []),
        PropagationRun: ("sam/propagations", ["get", "delete"], ["clear"]),
    }
    for model, (prefix, methods, actions) in routes.items():
        obj = build(model, world_a)
        for method in methods:
            assert getattr(client, method)(f"/api/v1/{prefix}/{obj.pk}", {}, format="json").status_code == 404
        for name in actions:
            method = "get" if name == "result-image" else "post"
            assert getattr(client, method)(f"/api/v1/{prefix}/{obj.pk}/{name}").status_code == 404
        assert world_a.client().get(f"/api/v1/{prefix}/{obj.pk}").status_code == 200
        listed = client.get(f"/api/v1/{prefix}").json()
        assert listed["count"] == 0, prefix
        job_id = obj.run.job_id if model is InferenceRecord else getattr(obj, "job_id", None)
        if job_id is not None:
            assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_ids_of_another_organization_in_a_body_are_404(world_a, world_b, make_project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    model = build(InferenceModel, world_a)
    b_project = make_project(world_b, kind="image")
    client = world_b.client(Role.OWNER)
    image = SimpleUploadedFile("x.png", png(scene()), content_type="image/png")
    response = client.post("/api/v1/ml/inference-runs", {"images": [image], "model_id": model.pk}, format="multipart")
    assert response.status_code == 404
    body = {"project_id": b_project.pk, "model_id": model.pk}
    assert client.post("/api/v1/ml/auto-annotations", body, format="json").status_code == 404
    assert client.post("/api/v1/ml/evaluations", body, format="json").status_code == 404
    run = build(PropagationRun, world_a)
    response = client.post(
        "/api/v1/sam/propagations", {"task_id": run.task_id, "reference_frame": 0, "object_ids": ["1"]}, format="json"
    )
    assert response.status_code in (404, 503)  # 503 first when this server has no SAM configured
    assert not InferenceRun.objects.for_organization(world_b.org).exists()
