"""Cytomine's JSON shapes, built from our rows (read) and Cytomine's request bodies (write).

Field names, ``class`` values and conventions are Cytomine's: dates are strings of epoch
milliseconds, ids are ours (one data model), ``ontology`` is the project id, ``term`` is a
list of label ids, ``location`` is WKT with the origin at the image's bottom-left (see
``compat.wkt``). The declared fields document the shapes for the OpenAPI schema; the
``to_representation`` methods build them (a test keeps the two equal).
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

CLASS_PROJECT = "be.cytomine.project.Project"
CLASS_ONTOLOGY = "be.cytomine.ontology.Ontology"
CLASS_TERM = "be.cytomine.ontology.Term"
CLASS_IMAGE = "be.cytomine.image.ImageInstance"
CLASS_ANNOTATION = "be.cytomine.ontology.UserAnnotation"
CLASS_USER = "be.cytomine.security.User"


def millis(value) -> str | None:
    """Cytomine's date format: epoch milliseconds, as a string."""
    return None if value is None else str(int(value.timestamp() * 1000))


class WithClassField(serializers.Serializer):
    """Adds Cytomine's ``class`` key (not a valid Python attribute name) to the declared fields."""

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = serializers.CharField(read_only=True)
        return fields


class CytomineCurrentUserSerializer(WithClassField):
    id = serializers.IntegerField()
    username = serializers.CharField()
    firstname = serializers.CharField(allow_blank=True)
    lastname = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    fullName = serializers.CharField()
    publicKey = serializers.CharField(allow_null=True)
    admin = serializers.BooleanField()
    user = serializers.BooleanField()
    guest = serializers.BooleanField()
    adminByNow = serializers.BooleanField()
    userByNow = serializers.BooleanField()
    guestByNow = serializers.BooleanField()
    isSwitched = serializers.BooleanField()
    algo = serializers.BooleanField()
    language = serializers.CharField()
    organization = serializers.CharField(help_text="Slug of the organization this credential acts in (ours).")
    role = serializers.CharField(help_text="The caller's role there (ours).")
    created = serializers.CharField(allow_null=True)
    updated = serializers.CharField(allow_null=True)
    deleted = serializers.CharField(allow_null=True)

    def to_representation(self, user) -> dict[str, Any]:
        membership = self.context["membership"]
        credential = self.context.get("credential")
        is_admin = membership.role in ("owner", "admin")
        full_name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.username
        return {
            "class": CLASS_USER,
            "id": user.pk,
            "username": user.username,
            "firstname": user.first_name,
            "lastname": user.last_name,
            "email": user.email,
            "fullName": full_name,
            "publicKey": getattr(credential, "public_key", None),
            "admin": is_admin,
            "user": not is_admin,
            "guest": False,
            "adminByNow": is_admin,
            "userByNow": not is_admin,
            "guestByNow": False,
            "isSwitched": False,
            "algo": False,
            "language": "EN",
            "organization": membership.organization.slug,
            "role": membership.role,
            "created": millis(user.date_joined),
            "updated": None,
            "deleted": None,
        }


class CytomineProjectSerializer(WithClassField):
    id = serializers.IntegerField()
    name = serializers.CharField()
    ontology = serializers.IntegerField(help_text="The project's label set; equals the project id.")
    ontologyName = serializers.CharField()
    discipline = serializers.IntegerField(allow_null=True)
    blindMode = serializers.BooleanField()
    areImagesDownloadable = serializers.BooleanField()
    numberOfSlides = serializers.IntegerField()
    numberOfImages = serializers.IntegerField()
    numberOfAnnotations = serializers.IntegerField()
    numberOfJobAnnotations = serializers.IntegerField()
    numberOfReviewedAnnotations = serializers.IntegerField()
    retrievalDisable = serializers.BooleanField()
    retrievalAllOntology = serializers.BooleanField()
    isClosed = serializers.BooleanField()
    isReadOnly = serializers.BooleanField()
    hideUsersLayers = serializers.BooleanField()
    hideAdminsLayers = serializers.BooleanField()
    mode = serializers.CharField()
    kind = serializers.CharField(help_text="Our project kind; only 'image' projects have image instances.")
    created = serializers.CharField(allow_null=True)
    updated = serializers.CharField(allow_null=True)
    deleted = serializers.CharField(allow_null=True)

    def to_representation(self, project) -> dict[str, Any]:
        images = getattr(project, "number_of_images", 0)
        return {
            "class": CLASS_PROJECT,
            "id": project.pk,
            "name": project.name,
            "ontology": project.pk,
            "ontologyName": project.name,
            "discipline": None,
            "blindMode": False,
            "areImagesDownloadable": True,
            "numberOfSlides": images,
            "numberOfImages": images,
            "numberOfAnnotations": getattr(project, "number_of_annotations", 0),
            "numberOfJobAnnotations": 0,
            "numberOfReviewedAnnotations": 0,
            "retrievalDisable": True,
            "retrievalAllOntology": False,
            "isClosed": False,
            "isReadOnly": False,
            "hideUsersLayers": False,
            "hideAdminsLayers": False,
            "mode": "CLASSIC",
            "kind": project.kind,
            "created": millis(project.created_at),
            "updated": millis(project.updated_at),
            "deleted": None,
        }


class CytomineTermSerializer(WithClassField):
    id = serializers.IntegerField()
    name = serializers.CharField()
    comment = serializers.CharField(allow_blank=True)
    ontology = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    color = serializers.CharField()
    created = serializers.CharField(allow_null=True)
    updated = serializers.CharField(allow_null=True)
    deleted = serializers.CharField(allow_null=True)

    def to_representation(self, label) -> dict[str, Any]:
        return {
            "class": CLASS_TERM,
            "id": label.pk,
            "name": label.name,
            "comment": label.category,
            "ontology": label.project_id,
            "parent": None,
            "color": label.color.upper(),
            "created": millis(label.created_at),
            "updated": None,
            "deleted": None,
        }


class CytomineOntologyTermNodeSerializer(WithClassField):
    id = serializers.IntegerField()
    key = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    data = serializers.CharField()
    color = serializers.CharField()
    isFolder = serializers.BooleanField()
    hideCheckbox = serializers.BooleanField()
    checked = serializers.BooleanField()
    parent = serializers.IntegerField(allow_null=True)
    children = serializers.ListField(child=serializers.DictField())

    def to_representation(self, label) -> dict[str, Any]:
        return {
            "class": CLASS_TERM,
            "id": label.pk,
            "key": label.pk,
            "name": label.name,
            "title": label.name,
            "data": label.name,
            "color": label.color.upper(),
            "isFolder": False,
            "hideCheckbox": False,
            "checked": False,
            "parent": None,
            "children": [],
        }


class CytomineOntologySerializer(WithClassField):
    id = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    data = serializers.CharField()
    key = serializers.IntegerField()
    user = serializers.IntegerField(allow_null=True)
    isFolder = serializers.BooleanField()
    hideCheckbox = serializers.BooleanField()
    attr = serializers.DictField()
    state = serializers.DictField()
    projects = serializers.ListField(child=serializers.DictField())
    children = CytomineOntologyTermNodeSerializer(many=True)
    created = serializers.CharField(allow_null=True)
    updated = serializers.CharField(allow_null=True)
    deleted = serializers.CharField(allow_null=True)

    def to_representation(self, project) -> dict[str, Any]:
        labels = self.context["labels"].get(project.pk, [])
        return {
            "class": CLASS_ONTOLOGY,
            "id": project.pk,
            "name": project.name,
            "title": project.name,
            "data": project.name,
            "key": project.pk,
            "user": project.created_by_id,
            "isFolder": True,
            "hideCheckbox": True,
            "attr": {"id": project.pk, "type": CLASS_ONTOLOGY},
            "state": {"opened": True},
            "projects": [{"id": project.pk, "name": project.name}],
            "children": [CytomineOntologyTermNodeSerializer(label).data for label in labels],
            "created": millis(project.created_at),
            "updated": millis(project.updated_at),
            "deleted": None,
        }


class CytomineImageInstanceSerializer(WithClassField):
    id = serializers.IntegerField()
    baseImage = serializers.IntegerField(allow_null=True, help_text="Our stored file (asset) of frame 0.")
    project = serializers.IntegerField()
    user = serializers.IntegerField(allow_null=True)
    instanceFilename = serializers.CharField()
    filename = serializers.CharField()
    originalFilename = serializers.CharField()
    path = serializers.CharField(allow_null=True)
    sample = serializers.IntegerField(allow_null=True)
    contentType = serializers.CharField(allow_null=True)
    mime = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    depth = serializers.IntegerField()
    duration = serializers.IntegerField()
    channels = serializers.IntegerField()
    physicalSizeX = serializers.FloatField(allow_null=True)
    physicalSizeY = serializers.FloatField(allow_null=True)
    physicalSizeZ = serializers.FloatField(allow_null=True)
    fps = serializers.FloatField(allow_null=True)
    zoom = serializers.IntegerField(allow_null=True, help_text="Largest useful ?zoom= of windows.")
    magnification = serializers.IntegerField(allow_null=True)
    resolution = serializers.FloatField(allow_null=True)
    bitDepth = serializers.IntegerField()
    colorspace = serializers.CharField()
    reviewed = serializers.BooleanField()
    inReview = serializers.BooleanField()
    reviewStart = serializers.CharField(allow_null=True)
    reviewStop = serializers.CharField(allow_null=True)
    reviewUser = serializers.IntegerField(allow_null=True)
    numberOfAnnotations = serializers.IntegerField()
    numberOfJobAnnotations = serializers.IntegerField()
    numberOfReviewedAnnotations = serializers.IntegerField()
    status = serializers.CharField(help_text="Our task status.")
    thumb = serializers.CharField()
    preview = serializers.CharField()
    macroURL = serializers.CharField(allow_null=True)
    created = serializers.CharField(allow_null=True)
    updated = serializers.CharField(allow_null=True)
    deleted = serializers.CharField(allow_null=True)

    def to_representation(self, task) -> dict[str, Any]:
        request = self.context["request"]
        width, height = task.frame_width, task.frame_height
        filename = task.asset_name or task.name
        zoom = math.ceil(math.log2(max(width, height) / 256)) if width and height and max(width, height) > 256 else 0
        reviewed = task.status in ("reviewed", "completed")
        base = request.build_absolute_uri(f"/api/imageinstance/{task.pk}")
        return {
            "class": CLASS_IMAGE,
            "id": task.pk,
            "baseImage": task.asset_id,
            "project": task.project_id,
            "user": task.assignee_id,
            "instanceFilename": task.name,
            "filename": filename,
            "originalFilename": filename,
            "path": None,
            "sample": None,
            "contentType": task.asset_mime or None,
            "mime": task.asset_mime or None,
            "width": width,
            "height": height,
            "depth": 1,
            "duration": 1,
            "channels": 3,
            "physicalSizeX": None,
            "physicalSizeY": None,
            "physicalSizeZ": None,
            "fps": None,
            "zoom": zoom,
            "magnification": None,
            "resolution": None,
            "bitDepth": 8,
            "colorspace": "RGB",
            "reviewed": reviewed,
            "inReview": task.status == "submitted",
            "reviewStart": None,
            "reviewStop": millis(task.completed_at) if reviewed else None,
            "reviewUser": task.reviewer_id,
            "numberOfAnnotations": getattr(task, "number_of_annotations", 0),
            "numberOfJobAnnotations": 0,
            "numberOfReviewedAnnotations": 0,
            "status": task.status,
            "thumb": f"{base}/thumb.jpg?maxSize=256",
            "preview": f"{base}/thumb.jpg?maxSize=1024",
            "macroURL": None,
            "created": millis(task.created_at),
            "updated": millis(task.updated_at),
            "deleted": None,
        }


def collection_schema(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """Cytomine's list envelope around ``item`` (for the OpenAPI schema)."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "collection": item(many=True),
            "offset": serializers.IntegerField(),
            "perPage": serializers.IntegerField(),
            "size": serializers.IntegerField(help_text="Total number of items (all pages)."),
            "totalPages": serializers.IntegerField(),
        },
    )
