"""One object of each tenant model, built through services, for the tenancy sweep.

``tests/organizations/test_tenancy_sweep.py`` walks every URL pattern that names an object
id, creates organization A's object with the factory registered for the model the view
serves, and proves that organization B's owner gets 404 for every method. A route whose
model has no factory here fails that test: register one with ``@factory(Model)``.

A factory receives a ``tests.conftest.World`` and returns a saved instance belonging to
``world.org``.
"""

from __future__ import annotations

from collections.abc import Callable

FACTORIES: dict[type, Callable] = {}


def factory(model: type) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        FACTORIES[model] = fn
        return fn

    return register


# Views whose object must be more particular than the model's factory makes it
# ("module.ViewName" -> factory), e.g. a Cytomine annotation must lie on an image.
VIEW_OBJECTS: dict[str, Callable] = {}


def build(model: type, world):
    try:
        return FACTORIES[model](world)
    except KeyError:
        raise LookupError(
            f"No factory for {model.__name__} in tests/factories.py: register one with @factory({model.__name__})"
        ) from None


# --- foundation models ---------------------------------------------------------------------
def _register_foundation() -> None:
    from audit.models import AuditEvent
    from jobs.models import Job
    from organizations.models import Membership
    from projects.models import LabelClass, LabelTemplate, Project

    @factory(Project)
    def _project(world):
        from projects.services.projects import create_project

        return create_project(actor=world.owner, organization=world.org, name="sweep", kind="image")

    @factory(LabelClass)
    def _label(world):
        from projects.services.labels import create_label

        return create_label(actor=world.owner, project=build(Project, world), data={"name": "x", "color": "#123456"})

    @factory(LabelTemplate)
    def _template(world):
        return LabelTemplate.objects.for_organization(world.org).first()

    @factory(Membership)
    def _membership(world):
        return world.membership("annotator")

    @factory(Job)
    def _job(world):
        from jobs.services import create_job

        return create_job(organization=world.org, kind="sweep", created_by=world.owner)

    @factory(AuditEvent)
    def _event(world):
        return AuditEvent.objects.for_organization(world.org).first()

    from accounts.models import ApiToken, KeyPair

    @factory(ApiToken)
    def _token(world):
        from accounts.services import create_api_token

        return create_api_token(user=world.owner, organization=world.org, name="sweep")[0]

    @factory(KeyPair)
    def _key_pair(world):
        from accounts.services import create_key_pair

        return create_key_pair(user=world.owner, organization=world.org, name="sweep")[0]


_register_foundation()


# --- tasks ---------------------------------------------------------------------------------
def _register_tasks() -> None:
    from projects.models import Project
    from tasks.models import Batch, Comment, Tag, Task, TaskTransition

    @factory(Batch)
    def _batch(world):
        from tasks.services.tasks import create_batch

        return create_batch(actor=world.owner, project=build(Project, world), name="sweep batch")

    @factory(Task)
    def _task(world):
        from tasks.services.tasks import create_task

        return create_task(actor=world.owner, project=build(Project, world), name="sweep task", tags=["sweep"])

    @factory(Comment)
    def _comment(world):
        from tasks.services.comments import add_comment

        return add_comment(actor=world.owner, task=build(Task, world), body="sweep comment")

    @factory(TaskTransition)
    def _transition(world):
        from tasks.services.lifecycle import transition_task

        task = transition_task(build(Task, world), "skipped", actor=world.owner, reason="sweep")
        return task.transitions.get()

    @factory(Tag)
    def _tag(world):
        from tasks.services.tasks import tags_named

        return tags_named(world.org.pk, ["sweep"])[0]


_register_tasks()


# --- media ---------------------------------------------------------------------------------
def _register_media() -> None:
    from media.models import Asset, Frame, ImportFile, ImportJob, Upload
    from projects.models import Project

    @factory(ImportJob)
    def _import(world):
        from media import synthetic
        from media.actors import run_import
        from media.services.imports import IncomingFile, Source, start_import

        data = synthetic.image_bytes(16, 12)
        job = start_import(
            actor=world.owner,
            project=build(Project, world),
            files=[IncomingFile(name="sweep.png", content=data, size=len(data))],
            source=Source.UPLOAD,
        )
        run_import.fn(job.pk)
        return ImportJob.objects.get(pk=job.pk)

    @factory(ImportFile)
    def _import_file(world):
        return ImportFile.objects.filter(job=build(ImportJob, world)).first()

    @factory(Asset)
    def _asset(world):
        return Asset.objects.filter(project=build(ImportJob, world).project).first()

    @factory(Frame)
    def _frame(world):
        return Frame.objects.filter(asset=build(Asset, world)).first()

    @factory(Upload)
    def _upload(world):
        from media.services.uploads import create_upload

        return create_upload(actor=world.owner, project=build(Project, world), filename="sweep.bin", size=10)


_register_media()


# --- annotations ---------------------------------------------------------------------------
def _register_annotations() -> None:
    from annotations.models import Annotation, AnnotationRevision, Prediction, PredictionDecision
    from tasks.models import Task

    def newest_task(world):
        """The organization's newest task, else a new one. Nested routes
        (``/tasks/{task_pk}/annotations/{annotation_id}``) resolve because the sweep builds the
        route's task first and the annotation lands on it."""
        return Task.objects.for_organization(world.org).order_by("-pk").first() or build(Task, world)

    def a_label(project, world):
        from projects.services.labels import create_label

        return project.labels.first() or create_label(
            actor=world.owner, project=project, data={"name": "sweep label", "color": "#123456"}
        )

    @factory(Annotation)
    def _annotation(world):
        from annotations.services import write_annotations

        task = newest_task(world)
        label = a_label(task.project, world)
        shape = {"type": "bbox", "class_name": label.name, "geometry": {"x": 1, "y": 1, "width": 4, "height": 4}}
        return write_annotations(task, [shape], source="imported", actor=world.owner).annotations[0]

    @factory(AnnotationRevision)
    def _revision(world):
        annotation = build(Annotation, world)
        return AnnotationRevision.objects.filter(task_id=annotation.task_id).latest("number")

    @factory(Prediction)
    def _prediction(world):
        from annotations.services import create_prediction

        shape = {"type": "classification", "class_name": "sweep model class", "score": 0.5}
        return create_prediction(newest_task(world), "sweep-model@1", shapes=[shape], score=0.5)

    @factory(PredictionDecision)
    def _decision(world):
        from annotations.services import create_prediction, reject_prediction_shape
        from tasks.services.claims import claim_next_task

        task = build(Task, world)  # alone in its project: the claim hands out this one
        task = claim_next_task(user=world.owner, project=task.project) or task
        prediction = create_prediction(task, "sweep-model@1", shapes=[{"type": "classification", "class_name": "x"}])
        return reject_prediction_shape(task, prediction.pk, 0, actor=world.owner)

    def cytomine_annotation(world):
        """An annotation the Cytomine routes serve: on a picture of an image project."""
        from annotations.services import write_annotations
        from media.models import ImportJob

        task = Task.objects.get(pk=build(ImportJob, world).import_files.get().task_id)
        label = a_label(task.project, world)
        shape = {"type": "bbox", "class_name": label.name, "geometry": {"x": 1, "y": 1, "width": 4, "height": 4}}
        return write_annotations(task, [shape], source="imported", actor=world.owner).annotations[0]

    VIEW_OBJECTS["compat.api.annotations.AnnotationDetailView"] = cytomine_annotation


_register_annotations()


# --- exports -------------------------------------------------------------------------------
def _register_exports() -> None:
    from exports.models import Export, Import
    from projects.models import Project

    @factory(Export)
    def _export(world):
        from exports.services.exports import request_export

        return request_export(actor=world.owner, project=build(Project, world), format="coco")

    @factory(Import)
    def _import(world):
        from django.core.files.base import ContentFile

        from exports.services.imports import request_import

        upload = ContentFile(b'{"images": [], "annotations": [], "categories": []}', name="sweep.json")
        return request_import(actor=world.owner, project=build(Project, world), format="coco", upload=upload)


_register_exports()


# --- ml ------------------------------------------------------------------------------------
def _register_ml() -> None:
    from ml.models import (
        AutoAnnotationRun,
        EvaluationRun,
        InferenceModel,
        InferenceRecord,
        InferenceRun,
        PropagationRun,
    )

    def imported_task(world, project, count: int = 1):
        """A task of ``count`` distinct pictures, through media's import."""
        from media import synthetic
        from media.actors import run_import
        from media.services.imports import IncomingFile, Source, start_import
        from tasks.models import Task

        before = set(Task.objects.filter(project=project).values_list("pk", flat=True))
        files = []
        for i in range(count):
            data = synthetic.image_bytes(16, 12, seed=i)
            name = f"sweep/{i:05d}.png" if count > 1 else "sweep.png"
            files.append(IncomingFile(name=name, content=data, size=len(data)))
        job = start_import(actor=world.owner, project=project, files=files, source=Source.UPLOAD)
        run_import.fn(job.pk)
        return Task.objects.filter(project=project).exclude(pk__in=before).get()

    def labelled_project(world, kind: str):
        from projects.services.labels import create_label
        from projects.services.projects import create_project

        project = create_project(actor=world.owner, organization=world.org, name=f"ml sweep {kind}", kind=kind)
        create_label(actor=world.owner, project=project, data={"name": "car", "color": "#123456"})
        return project

    @factory(InferenceModel)
    def _model(world):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from ml.services.registry import register_model, validate_registered_model
        from tests.ml.tiny_models import LABEL_MAP, BrightBoxDetector, scripted

        existing = InferenceModel.objects.for_organization(world.org).first()
        if existing is not None:
            return existing
        model = register_model(
            actor=world.owner,
            organization=world.org,
            name="sweep detector",
            kind="detection",
            file=SimpleUploadedFile("sweep.pt", scripted(BrightBoxDetector())),
            input_width=16,
            input_height=16,
            label_map=LABEL_MAP,
        )
        validate_registered_model(model.pk)
        model.refresh_from_db()
        return model

    @factory(InferenceRun)
    def _run(world):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from media import synthetic
        from ml.services.inference import start_batch_inference

        image = SimpleUploadedFile("sweep.png", synthetic.image_bytes(16, 12), content_type="image/png")
        return start_batch_inference(
            actor=world.owner, organization=world.org, images=[image], model=build(InferenceModel, world)
        )

    @factory(InferenceRecord)
    def _record(world):
        return build(InferenceRun, world).records.get()

    @factory(PropagationRun)
    def _propagation(world):
        from django.test import override_settings

        from annotations.services import write_annotations
        from ml.services.propagation import start_propagation

        task = imported_task(world, labelled_project(world, "sequential_image"), count=2)
        square = {"exterior": [[2, 2], [8, 2], [8, 8], [2, 8]], "holes": []}
        shape = {
            "type": "mask",
            "class_name": "car",
            "frame_index": 0,
            "object_id": "1",
            "geometry": {"polygons": [square]},
        }
        write_annotations(task, [shape], source="manual", actor=world.owner)
        # Starting a run only needs SAM configured; nothing loads it here.
        with override_settings(SAM2_CHECKPOINT="sweep.pt"):
            return start_propagation(actor=world.owner, task=task, reference_frame=0, object_ids=["1"])

    @factory(AutoAnnotationRun)
    def _auto_annotation(world):
        from ml.services.auto_annotation import start_auto_annotation

        project = labelled_project(world, "image")
        imported_task(world, project)
        return start_auto_annotation(actor=world.owner, project=project, model=build(InferenceModel, world))

    @factory(EvaluationRun)
    def _evaluation(world):
        from ml.services.evaluation import start_evaluation
        from tasks.services.lifecycle import transition_task

        project = labelled_project(world, "image")
        task = imported_task(world, project)
        for status in ("in_progress", "submitted", "reviewed"):
            task = transition_task(task, status, actor=world.owner)
        return start_evaluation(actor=world.owner, project=project, model=build(InferenceModel, world))


_register_ml()
