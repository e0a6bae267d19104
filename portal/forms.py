"""Forms of the portal pages. They check the shape of the input; services check the rules."""

from __future__ import annotations

import json

from django import forms

from organizations.roles import Role
from projects.kinds import KIND_CHOICES


class PortalForm(forms.Form):
    """Labels without Django's trailing colon (the layout sets labels above their fields)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ProjectCreateForm(PortalForm):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    template = forms.ChoiceField(required=False, label="Labels from template")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "No labels (add them later)")] + [
            (str(t.pk), f"{t.name} ({len(t.labels)} labels)") for t in templates
        ]


class ProjectRenameForm(PortalForm):
    name = forms.CharField(max_length=200)


class ProjectSettingsForm(PortalForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    review_required = forms.BooleanField(required=False, label="Submitted tasks go to review")
    reviewer_must_differ = forms.BooleanField(required=False, label="Nobody reviews their own work")
    auto_complete_on_approve = forms.BooleanField(required=False, label="Approved tasks complete without acceptance")
    strip_patient_identity = forms.BooleanField(required=False, label="Remove patient identity from DICOM on ingest")


class ProjectCopyForm(PortalForm):
    name = forms.CharField(max_length=200, label="Name of the copy")
    content = forms.ChoiceField(
        choices=[("settings", "Settings and labels only"), ("all", "Everything: batches, tasks, media, annotations")],
        initial="settings",
        widget=forms.RadioSelect,
    )


def _split_aliases(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class LabelForm(PortalForm):
    name = forms.CharField(max_length=100)
    color = forms.CharField(
        label="Colour", max_length=7, widget=forms.TextInput(attrs={"type": "color"}), initial="#2f6fed"
    )
    maskid = forms.IntegerField(
        label="maskid",
        min_value=0,
        max_value=255,
        required=False,
        help_text="0-255; 0 is “unclassified”. Empty: next free.",
    )
    category = forms.CharField(max_length=100, required=False)
    aliases = forms.CharField(required=False, help_text="Other names (e.g. a model's), separated by commas.")
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "data-attributes-editor": ""}),
        help_text="Attribute schema as JSON: a list of {name, type, options, min, max, required}.",
    )

    def clean_aliases(self) -> list[str]:
        return _split_aliases(self.cleaned_data["aliases"])

    def clean_attributes(self) -> list:
        text = self.cleaned_data["attributes"].strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(value, list):
            raise forms.ValidationError("The attribute schema must be a JSON list.")
        return value

    def as_service_data(self) -> dict:
        data = {key: self.cleaned_data[key] for key in ("name", "color", "category", "aliases", "attributes")}
        if self.cleaned_data.get("maskid") is not None:
            data["maskid"] = self.cleaned_data["maskid"]
        return data

    @staticmethod
    def initial_for(label) -> dict:
        return {
            "name": label.name,
            "color": label.color,
            "maskid": label.maskid,
            "category": label.category,
            "aliases": ", ".join(label.aliases),
            "attributes": json.dumps(label.attributes, indent=2) if label.attributes else "",
        }


class ApplyTemplateForm(PortalForm):
    template = forms.ChoiceField()
    mode = forms.ChoiceField(
        choices=[("merge", "Merge: add new labels, update same-named ones"), ("replace", "Replace all labels")],
        initial="merge",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(str(t.pk), t.name) for t in templates]


class SaveTemplateForm(PortalForm):
    name = forms.CharField(max_length=200, label="Template name")
    description = forms.CharField(required=False, max_length=5000)


class TemplateForm(PortalForm):
    """Name, description and the label rows (posted as JSON by the row editor)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono", "data-template-rows": ""}),
        help_text="The labels as a JSON list of {name, color, maskid, z_order, category, attributes, aliases}.",
    )

    def clean_labels(self):
        try:
            value = json.loads(self.cleaned_data["labels"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(value, list):
            raise forms.ValidationError("The labels must be a JSON list.")
        return value


class TemplateImportForm(PortalForm):
    file = forms.FileField(required=False, label="JSON file")
    text = forms.CharField(
        required=False,
        label="…or paste JSON",
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
    )
    MAX_BYTES = 2 * 1024 * 1024

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = cleaned.get("text", "")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is larger than 2 MiB.")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise forms.ValidationError("Choose a JSON file or paste JSON.")
        try:
            cleaned["payload"] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        cleaned["text"] = text
        return cleaned


ROLE_CHOICES = [(role.value, role.label) for role in Role]


class MemberAddForm(PortalForm):
    username = forms.CharField(max_length=150, help_text="An existing user, or a new one to create.")
    email = forms.EmailField(required=False, help_text="For a new user.")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.ANNOTATOR)
    password = forms.CharField(
        required=False,
        label="Initial password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Only for a new user; they can change it on their profile page.",
    )


class RoleForm(PortalForm):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AuditFilterForm(PortalForm):
    action = forms.ChoiceField(required=False)
    actor = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions=(), actors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action")] + [(a, a) for a in actions]
        self.fields["actor"].choices = [("", "Anyone")] + [(str(pk), name) for pk, name in actors]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned


class PasswordChangeForm(PortalForm):
    old_password = forms.CharField(
        label="Current password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = forms.CharField(
        label="New password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label="New password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password1") and cleaned.get("new_password1") != cleaned.get("new_password2"):
            self.add_error("new_password2", "The two new passwords differ.")
        return cleaned


class CredentialForm(PortalForm):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “training pipeline”.")
    expires_in_days = forms.IntegerField(
        min_value=0, max_value=3650, initial=365, label="Expires in (days)", help_text="0 = never."
    )
