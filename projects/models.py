from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from organizations.tenancy import TenantModel
from projects.kinds import KIND_CHOICES, KINDS, ProjectKind

color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #RRGGBB (six hex digits).")


class Project(TenantModel):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, choices=KIND_CHOICES)
    description = models.TextField(blank=True, max_length=5000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Review workflow settings.
    review_required = models.BooleanField(default=True, help_text="Submitted tasks go to review before completion.")
    reviewer_must_differ = models.BooleanField(default=True, help_text="Nobody reviews their own work.")
    auto_complete_on_approve = models.BooleanField(
        default=False, help_text="An approved task becomes completed without a manager's acceptance."
    )
    # Ingest settings.
    strip_patient_identity = models.BooleanField(
        default=False, help_text="Remove patient-identifying DICOM tags on ingest."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def kind_info(self) -> ProjectKind:
        return KINDS[self.kind]

    @property
    def storage_prefix(self) -> str:
        """Folder (or S3 prefix) that holds every file of this project."""
        return f"orgs/{self.organization_id}/projects/{self.pk}"


class LabelClass(TenantModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, validators=[color_validator])
    maskid = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(255)])
    z_order = models.IntegerField(default=0, help_text="Painting order in masks: higher is on top.")
    category = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=list, blank=True, help_text="Attribute schema (see projects.labels).")
    aliases = models.JSONField(default=list, blank=True, help_text="Other names (e.g. a model's) for this class.")
    keypoints = models.JSONField(default=dict, blank=True, help_text='{"names": [...], "edges": [[i, j]]}')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["z_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_name_unique_in_project"),
            models.UniqueConstraint(fields=["project", "maskid"], name="label_maskid_unique_in_project"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unclassified(self) -> bool:
        return self.maskid == 0

    def as_row(self) -> dict:
        return {
            "name": self.name,
            "color": self.color,
            "maskid": self.maskid,
            "z_order": self.z_order,
            "category": self.category,
            "attributes": self.attributes,
            "aliases": self.aliases,
            "keypoints": self.keypoints,
        }


class LabelTemplate(TenantModel):
    """A reusable label set in the organization's library; applying it copies the labels."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    labels = models.JSONField(default=list, help_text="Label rows, validated by projects.labels.")
    is_builtin = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="template_name_unique_in_org")]

    def __str__(self) -> str:
        return self.name
