"""Organization models: register a TorchScript file (versioned), validate it in the worker,
choose the default detection model, edit, delete.

The web process never loads a model: it checks that the upload *is* a TorchScript archive
(zip layout) and the worker then runs a blank input through it against the kind's contract.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from annotator.api.errors import Conflict
from audit.services import record_event
from ml.models import InferenceModel, ModelKind, ModelStatus

EDITABLE = ("description", "label_map", "score_threshold", "outputs_logits")


def validate_label_map(label_map: Any) -> list[dict]:
    """``[{"index": int, "name": str, "aliases": [str]}]`` with unique indexes (400 otherwise)."""
    if not isinstance(label_map, list) or not label_map:
        raise ValidationError({"label_map": ['Give a list like [{"index": 0, "name": "car", "aliases": ["auto"]}].']})
    clean, seen = [], set()
    for position, entry in enumerate(label_map):
        field = f"label_map.{position}"
        if not isinstance(entry, dict) or set(entry) - {"index", "name", "aliases"}:
            raise ValidationError({field: ["Each entry has index, name and optional aliases."]})
        index, name, aliases = entry.get("index"), entry.get("name"), entry.get("aliases", [])
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 100_000:
            raise ValidationError({f"{field}.index": ["An output index: an integer 0-99999."]})
        if index in seen:
            raise ValidationError({f"{field}.index": [f"Index {index} appears twice."]})
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
            raise ValidationError({f"{field}.name": ["The project label name (1-100 characters)."]})
        if not isinstance(aliases, list) or not all(isinstance(a, str) and 0 < len(a) <= 100 for a in aliases):
            raise ValidationError({f"{field}.aliases": ["A list of other names (1-100 characters each)."]})
        seen.add(index)
        clean.append({"index": index, "name": name.strip(), "aliases": [a.strip() for a in aliases]})
    return sorted(clean, key=lambda e: e["index"])


def _triple(value: Any, field: str, positive: bool) -> list[float]:
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, (int, float)) for v in value):
        raise ValidationError({field: ["Three numbers, one per RGB channel."]})
    if positive and not all(v > 0 for v in value):
        raise ValidationError({field: ["Every value must be greater than 0."]})
    return [float(v) for v in value]


def _check_torchscript(upload: File) -> str:
    """SHA-256 of an upload that has TorchScript's archive layout (else 400)."""
    size = getattr(upload, "size", None) or 0
    if size > settings.ML_MODEL_MAX_BYTES:
        raise ValidationError({"file": [f"The file is {size} bytes; the limit is {settings.ML_MODEL_MAX_BYTES}."]})
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        names = []
    is_script = any(n.endswith("/data.pkl") for n in names) and any("/code/" in n for n in names)
    if not is_script:
        raise ValidationError(
            {"file": ["Not a TorchScript file: save the model with torch.jit.save(torch.jit.script(model), path)."]}
        )
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "model"


@transaction.atomic
def register_model(
    *,
    actor,
    organization,
    name: str,
    kind: str,
    file: File,
    input_width: int,
    input_height: int,
    label_map: list[dict],
    mean: list[float] | None = None,
    std: list[float] | None = None,
    score_threshold: float = 0.5,
    outputs_logits: bool = True,
    description: str = "",
    make_default_detection: bool = False,
) -> InferenceModel:
    """Store the file under the organization's prefix as the next version of ``name``."""
    if kind not in ModelKind.values:
        raise ValidationError({"kind": [f"One of {', '.join(ModelKind.values)}."]})
    if make_default_detection and kind != ModelKind.DETECTION:
        raise ValidationError({"make_default_detection": ["Only a detection model can be the default detector."]})
    label_map = validate_label_map(label_map)
    mean = _triple([0.0, 0.0, 0.0] if mean is None else mean, "mean", positive=False)
    std = _triple([1.0, 1.0, 1.0] if std is None else std, "std", positive=True)
    sha256 = _check_torchscript(file)
    org_id = organization if isinstance(organization, int) else organization.pk
    # Lock the name's versions so two uploads of one name get distinct numbers.
    versions = InferenceModel.objects.select_for_update().filter(organization_id=org_id, name=name)
    version = (versions.aggregate(top=Max("version"))["top"] or 0) + 1
    path = default_storage.save(f"orgs/{org_id}/ml/models/{_slug(name)}/v{version}/{sha256[:16]}.pt", file)
    model = InferenceModel(
        organization_id=org_id,
        name=name,
        version=version,
        kind=kind,
        file=path,
        size_bytes=file.size or default_storage.size(path),
        sha256=sha256,
        input_width=input_width,
        input_height=input_height,
        mean=mean,
        std=std,
        label_map=label_map,
        score_threshold=score_threshold,
        outputs_logits=outputs_logits,
        description=description,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    model.full_clean()
    model.save()
    if make_default_detection:
        _make_default(model)
    record_event(
        actor=actor,
        organization=org_id,
        action="model.registered",
        target=model,
        after={"name": name, "version": version, "kind": kind, "sha256": sha256},
    )
    from ml.actors import validate_model

    transaction.on_commit(lambda: validate_model.send(model.pk))
    return model


def _make_default(model: InferenceModel) -> None:
    InferenceModel.objects.filter(organization_id=model.organization_id, is_default_detection=True).exclude(
        pk=model.pk
    ).update(is_default_detection=False)
    model.is_default_detection = True
    model.save(update_fields=["is_default_detection"])


@transaction.atomic
def set_default_detection(*, actor, model: InferenceModel) -> InferenceModel:
    if model.kind != ModelKind.DETECTION:
        raise ValidationError({"kind": [f"{model.version_label} is a {model.kind} model; the default must detect."]})
    if model.status == ModelStatus.INVALID:
        raise Conflict(f"{model.version_label} is invalid: {model.status_message}", code="model_invalid")
    _make_default(model)
    record_event(actor=actor, organization=model.organization_id, action="model.default_detection", target=model)
    return model


@transaction.atomic
def update_model(*, actor, model: InferenceModel, **changes) -> InferenceModel:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        message = "This field cannot be changed; register a new version instead."
        raise ValidationError({key: [message] for key in unknown})
    if "label_map" in changes:
        changes["label_map"] = validate_label_map(changes["label_map"])
    before = {key: getattr(model, key) for key in changes}
    for key, value in changes.items():
        setattr(model, key, value)
    model.full_clean()
    model.save()
    record_event(
        actor=actor,
        organization=model.organization_id,
        action="model.updated",
        target=model,
        before=before,
        after=changes,
    )
    return model


@transaction.atomic
def delete_model(*, actor, model: InferenceModel) -> None:
    """Delete the version and its file; records keep its version label."""
    path = model.file
    record_event(
        actor=actor,
        organization=model.organization_id,
        action="model.deleted",
        target=model,
        before={"name": model.name, "version": model.version},
    )
    model.delete()
    transaction.on_commit(lambda: default_storage.delete(path))


def validate_registered_model(model_id: int) -> None:
    """Worker: load the file and check the kind's I/O contract on a blank input."""
    from ml.engine.torchscript import check_contract

    model = InferenceModel.objects.filter(pk=model_id).first()
    if model is None:
        return
    problem = check_contract(model)
    model.status = ModelStatus.INVALID if problem else ModelStatus.READY
    model.status_message = problem[:1000]
    model.save(update_fields=["status", "status_message"])


def require_ready(model: InferenceModel) -> None:
    if model.status == ModelStatus.VALIDATING:
        raise Conflict(f"{model.version_label} is still being validated by the ML worker; try again shortly.")
    if model.status == ModelStatus.INVALID:
        raise Conflict(f"{model.version_label} is invalid: {model.status_message}", code="model_invalid")


def default_detection_model(organization) -> InferenceModel | None:
    return InferenceModel.objects.for_organization(organization).filter(is_default_detection=True).first()
