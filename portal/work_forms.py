"""Forms of the project work pages: bulk task changes, batches, uploads, exports.

They check the shape of what a person sent; the services check the rest (people, batches
and ids of the organization) and their ValidationErrors are shown on the page."""

from __future__ import annotations

from django import forms

from tasks.services.tasks import BULK_FIELDS

NO_CHANGE = ""
CLEAR = "none"


class BulkTaskForm(forms.Form):
    """The same change for the ticked tasks: assignee, reviewer, priority, batch, tags."""

    task_ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), error_messages={"required": "Tick some tasks."})
    assignee = forms.ChoiceField(required=False, label="Assignee")
    reviewer = forms.ChoiceField(required=False, label="Reviewer")
    priority = forms.IntegerField(required=False, min_value=-1000, max_value=1000, label="Priority")
    batch = forms.ChoiceField(required=False, label="Batch")
    add_tags = forms.CharField(required=False, max_length=500, label="Add tags")
    remove_tags = forms.CharField(required=False, max_length=500, label="Remove tags")

    def __init__(self, *args, task_ids=(), annotators=(), reviewers=(), batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_ids"].choices = [(i, i) for i in task_ids]
        keep = [(NO_CHANGE, "— no change —"), (CLEAR, "Nobody")]
        self.fields["assignee"].choices = keep + [(m.user_id, m.user.username) for m in annotators]
        self.fields["reviewer"].choices = keep + [(m.user_id, m.user.username) for m in reviewers]
        self.fields["batch"].choices = [(NO_CHANGE, "— no change —"), (CLEAR, "No batch")] + [
            (b.pk, b.name) for b in batches
        ]
        self._batches = {str(b.pk): b for b in batches}

    def changes(self) -> dict:
        """The bulk_update_tasks keyword arguments this form asks for."""
        data = self.cleaned_data
        changes: dict = {}
        for person in ("assignee", "reviewer"):
            value = data.get(person)
            if value == CLEAR:
                changes[person] = None
            elif value:
                from accounts.models import User

                changes[person] = User.objects.get(pk=int(value))
        if data.get("priority") is not None:
            changes["priority"] = data["priority"]
        if data.get("batch") == CLEAR:
            changes["batch"] = None
        elif data.get("batch"):
            changes["batch"] = self._batches[data["batch"]]
        for field in ("add_tags", "remove_tags"):
            names = [n.strip() for n in (data.get(field) or "").split(",") if n.strip()]
            if names:
                changes[field] = names
        assert set(changes) <= set(BULK_FIELDS)
        return changes

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.changes():
            raise forms.ValidationError("Choose at least one change to apply.")
        return cleaned


class BatchForm(forms.Form):
    name = forms.CharField(max_length=200, label="Batch name")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            if not data:
                return [single(None, initial)]
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    """The no-JavaScript upload: one multipart POST (the page's script uses resumable uploads)."""

    files = MultipleFileField(label="Files")
    batch = forms.ChoiceField(required=False, label="Into batch")
    task_name = forms.CharField(required=False, max_length=500, label="Task name for loose files")

    def __init__(self, *args, batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].choices = [("", "No batch")] + [(b.pk, b.name) for b in batches]


SEGMENTATION_OUTPUTS = [
    ("originals", "Original frames"),
    ("separate", "Separate masks per class"),
    ("gt_label", "GT_label (maskid)"),
    ("pro_label", "Pro_label (colour)"),
    ("mix_label", "Mix_label (overlay)"),
    ("coco", "COCO JSON"),
    ("class_map", "Class map"),
]
SCOPES = [
    ("all", "Whole project"),
    ("range", "Frame range"),
    ("frame", "Current frame of a task"),
    ("batch", "One batch"),
    ("status", "Tasks with a status"),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(label="Format")
    scope = forms.ChoiceField(choices=SCOPES, initial="all", widget=forms.RadioSelect, label="Scope")
    frame_start = forms.IntegerField(required=False, min_value=1, label="First frame (1-based)")
    frame_end = forms.IntegerField(required=False, min_value=1, label="Last frame")
    task_id = forms.IntegerField(required=False, min_value=1, label="Task id")
    frame = forms.IntegerField(required=False, min_value=1, label="Frame (1-based)")
    batch_id = forms.ChoiceField(required=False, label="Batch")
    statuses = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, label="Statuses")
    outputs = forms.MultipleChoiceField(
        required=False,
        choices=SEGMENTATION_OUTPUTS,
        initial=[c for c, _ in SEGMENTATION_OUTPUTS],
        widget=forms.CheckboxSelectMultiple,
        label="Outputs (segmentation results)",
    )
    mix_opacity = forms.FloatField(required=False, min_value=0, max_value=1, initial=0.3, label="Mix_label opacity")
    include_images = forms.BooleanField(required=False, initial=True, label="Include images")

    def __init__(self, *args, formats=(), batches=(), statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [(f, f) for f in formats]
        self.fields["batch_id"].choices = [("", "—")] + [(b.pk, b.name) for b in batches]
        self.fields["statuses"].choices = list(statuses)

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        need = {
            "range": ("frame_start", "frame_end"),
            "frame": ("task_id", "frame"),
            "batch": ("batch_id",),
            "status": ("statuses",),
        }.get(scope, ())
        for field in need:
            if cleaned.get(field) in (None, "", []):
                self.add_error(field, "Needed for this scope.")
        return cleaned

    def request(self) -> dict:
        """The body of ``request_export`` (and of POST /api/v1/projects/{id}/exports)."""
        data = self.cleaned_data
        scope: dict = {}
        kind = data["scope"]
        if kind == "range":
            scope = {"frame_start": data["frame_start"], "frame_end": data["frame_end"]}
        elif kind == "frame":
            scope = {"task_id": data["task_id"], "frame": data["frame"]}
        elif kind == "batch":
            scope = {"batch_id": int(data["batch_id"])}
        elif kind == "status":
            scope = {"statuses": data["statuses"]}
        options: dict = {}
        if data["format"] == "segmentation_results":
            options["outputs"] = data["outputs"] or [c for c, _ in SEGMENTATION_OUTPUTS]
            if data.get("mix_opacity") is not None:
                options["mix_opacity"] = data["mix_opacity"]
        return {
            "format": data["format"],
            "scope": scope,
            "options": options,
            "include_images": bool(data.get("include_images")),
        }
