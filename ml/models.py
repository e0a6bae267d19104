"""AI records: SAM propagation runs (chains), organization models, batch inference records,
auto-annotation and evaluation runs.

Every run is a ``jobs.Job`` (progress, cancel, live events) plus one row here that keeps what
the run was about and what it measured. A propagation chain *is* its job: the annotations it
wrote carry ``produced_by=job``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from organizations.tenancy import TenantModel


class Direction(models.TextChoices):
    FORWARD = "forward", "Forward (to the last frame or end_frame)"
    BACKWARD = "backward", "Backward (to the first frame or start_frame)"
    RANGE = "range", "Both ways, within start_frame..end_frame"


class PropagationRun(TenantModel):
    """One SAM 2.1 propagation through a task's frames: who, which model, frames, time per frame."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="propagation_runs")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="propagation_run")
    reference_frame = models.PositiveIntegerField()
    direction = models.CharField(max_length=10, choices=Direction.choices)
    start_frame = models.PositiveIntegerField(help_text="First frame the run covers (resolved).")
    end_frame = models.PositiveIntegerField(help_text="Last frame the run covers (resolved).")
    object_ids = models.JSONField(default=list, help_text="Object ids propagated from the reference frame.")
    model_version = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=40, blank=True)
    frames_processed = models.PositiveIntegerField(default=0)
    annotations_written = models.PositiveIntegerField(default=0)
    seconds_total = models.FloatField(null=True, blank=True)
    seconds_per_frame = models.FloatField(null=True, blank=True)
    frame_seconds = models.JSONField(default=list, blank=True, help_text="Seconds spent on each frame, in order.")
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="When the chain's annotations were removed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["task", "-created_at"], name="propagation_task_recent")]

    def __str__(self) -> str:
        return f"propagation #{self.pk} of task {self.task_id}"


class ModelKind(models.TextChoices):
    DETECTION = "detection", "Detection (boxes)"
    SEGMENTATION = "segmentation", "Semantic segmentation (per-pixel classes)"
    CLASSIFICATION = "classification", "Classification (one label per image)"


class ModelStatus(models.TextChoices):
    VALIDATING = "validating", "Validating"
    READY = "ready", "Ready"
    INVALID = "invalid", "Invalid"


def _default_mean() -> list[float]:
    return [0.0, 0.0, 0.0]


def _default_std() -> list[float]:
    return [1.0, 1.0, 1.0]


class InferenceModel(TenantModel):
    """An organization's own TorchScript model, one row per version (see docs/ml.md for the I/O contract)."""

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    status = models.CharField(max_length=20, choices=ModelStatus.choices, default=ModelStatus.VALIDATING)
    status_message = models.CharField(max_length=1000, blank=True)
    file = models.CharField(max_length=1000, help_text="Storage path of the TorchScript file.")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    input_width = models.PositiveIntegerField(validators=[MinValueValidator(8), MaxValueValidator(8192)])
    input_height = models.PositiveIntegerField(validators=[MinValueValidator(8), MaxValueValidator(8192)])
    # Input normalization: x = (rgb / 255 - mean) / std, per channel.
    mean = models.JSONField(default=_default_mean)
    std = models.JSONField(default=_default_std)
    # Model output index -> project label name, with aliases: [{"index", "name", "aliases"}].
    label_map = models.JSONField(default=list)
    score_threshold = models.FloatField(default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    outputs_logits = models.BooleanField(
        default=True, help_text="Classification/segmentation outputs are logits (softmax applied) or probabilities."
    )
    is_default_detection = models.BooleanField(default=False)
    description = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name", "version"], name="model_version_unique_in_org"),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default_detection=True),
                name="one_default_detection_model_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.version_label

    @property
    def version_label(self) -> str:
        """The model version written on predictions and records: ``name:vN``."""
        return f"{self.name}:v{self.version}"

    def label_name(self, index: int) -> str:
        for entry in self.label_map:
            if int(entry["index"]) == int(index):
                return entry["name"]
        return str(index)


class InferenceRun(TenantModel):
    """One batch-inference request: many images, one model, one job."""

    model = models.ForeignKey(InferenceModel, null=True, on_delete=models.SET_NULL, related_name="runs")
    model_version = models.CharField(max_length=200)
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="inference_run")
    image_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"inference run #{self.pk}"

    @property
    def storage_prefix(self) -> str:
        return f"orgs/{self.organization_id}/ml/inference/{self.pk}"


class RecordStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class InferenceRecord(TenantModel):
    """The result for one image of a batch: what was found, how sure, how long it took."""

    run = models.ForeignKey(InferenceRun, on_delete=models.CASCADE, related_name="records")
    model = models.ForeignKey(InferenceModel, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.CharField(max_length=200)
    position = models.PositiveIntegerField(help_text="Order of the image in its request.")
    image_name = models.CharField(max_length=500)
    image_path = models.CharField(max_length=1000)
    result_image_path = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=RecordStatus.choices, default=RecordStatus.PENDING)
    error = models.CharField(max_length=1000, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    object_count = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list, help_text="Distinct label names found, most confident first.")
    confidence = models.FloatField(null=True, blank=True, help_text="Highest score among the results.")
    results = models.JSONField(default=list, help_text="Every object: label, score, box / polygons.")
    processing_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="inference_record_recent"),
            models.Index(fields=["organization", "image_name"], name="inference_record_name"),
        ]

    def __str__(self) -> str:
        return self.image_name


class AutoAnnotationMode(models.TextChoices):
    MODEL = "model", "The model's own output"
    SAM_FROM_BOXES = "sam_from_boxes", "SAM 2.1 masks from the detector's boxes"


class AutoAnnotationRun(TenantModel):
    """A registered model (optionally with SAM) run over a project's tasks, writing predictions."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(InferenceModel, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=AutoAnnotationMode.choices, default=AutoAnnotationMode.MODEL)
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="auto_annotation_run")
    task_filter = models.JSONField(default=dict, blank=True)
    task_count = models.PositiveIntegerField(default=0)
    tasks_done = models.PositiveIntegerField(default=0)
    tasks_skipped = models.PositiveIntegerField(default=0)
    predictions_created = models.PositiveIntegerField(default=0)
    shapes_created = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class EvaluationRun(TenantModel):
    """A model compared with reviewed annotations: mAP, precision/recall/F1, per class, confusion."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(InferenceModel, null=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.CharField(max_length=200)
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="evaluation_run")
    iou_threshold = models.FloatField(validators=[MinValueValidator(0.05), MaxValueValidator(0.95)])
    confidence_threshold = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    task_filter = models.JSONField(default=dict, blank=True)
    task_count = models.PositiveIntegerField(default=0)
    image_count = models.PositiveIntegerField(default=0)
    gt_count = models.PositiveIntegerField(default=0)
    pred_count = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, help_text="map, map50, map75, ap, precision, recall, f1...")
    per_class = models.JSONField(default=list, blank=True)
    confusion_matrix = models.JSONField(default=dict, blank=True, help_text='{"labels": [...], "matrix": [[...]]}')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
