"""What a model run covers and how its classes meet a project's labels.

* :func:`clean_task_filter` / :func:`select_tasks`: the tasks of a project a run goes over
  (ids, statuses, batch, tags), tenant-checked;
* :class:`LabelResolver`: a model's output class → the project's label, by name or alias
  (the model's label-map aliases and the project label's own aliases, case-insensitive).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from projects.models import LabelClass, Project
from tasks.models import Batch, Task, TaskStatus

FILTER_KEYS = ("task_ids", "statuses", "batch_id", "tags")


def clean_task_filter(project: Project, raw: dict[str, Any] | None, *, default_statuses=None) -> dict[str, Any]:
    """Validate a task filter; a foreign or unknown batch/task is a 400 naming the field."""
    raw = dict(raw or {})
    unknown = set(raw) - set(FILTER_KEYS)
    if unknown:
        raise ValidationError({f"task_filter.{k}": [f"Unknown key; use {', '.join(FILTER_KEYS)}."] for k in unknown})
    clean: dict[str, Any] = {}
    if raw.get("task_ids"):
        ids = raw["task_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationError({"task_filter.task_ids": ["A list of task ids."]})
        found = set(
            Task.objects.for_organization(project.organization_id)
            .filter(project=project, pk__in=ids)
            .values_list("pk", flat=True)
        )
        missing = sorted(set(ids) - found)
        if missing:
            raise ValidationError({"task_filter.task_ids": [f"No task {missing[:10]} in project {project.pk}."]})
        clean["task_ids"] = sorted(found)
    statuses = raw.get("statuses") or default_statuses
    if statuses:
        if not isinstance(statuses, list) or not set(statuses) <= set(TaskStatus.values):
            raise ValidationError({"task_filter.statuses": [f"Statuses among {', '.join(TaskStatus.values)}."]})
        clean["statuses"] = list(statuses)
    if raw.get("batch_id") is not None:
        batch_id = raw["batch_id"]
        exists = (
            isinstance(batch_id, int)
            and Batch.objects.for_organization(project.organization_id).filter(project=project, pk=batch_id).exists()
        )
        if not exists:
            raise ValidationError({"task_filter.batch_id": [f"No batch {batch_id} in project {project.pk}."]})
        clean["batch_id"] = batch_id
    if raw.get("tags"):
        tags = raw["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValidationError({"task_filter.tags": ["A list of tag names."]})
        clean["tags"] = tags
    return clean


def select_tasks(project: Project, task_filter: dict[str, Any]) -> QuerySet[Task]:
    """The project's tasks matching a cleaned filter, in id order (stable across retries)."""
    tasks = Task.objects.for_organization(project.organization_id).filter(project=project)
    if task_filter.get("task_ids"):
        tasks = tasks.filter(pk__in=task_filter["task_ids"])
    if task_filter.get("statuses"):
        tasks = tasks.filter(status__in=task_filter["statuses"])
    if task_filter.get("batch_id") is not None:
        tasks = tasks.filter(batch_id=task_filter["batch_id"])
    for tag in task_filter.get("tags") or []:
        tasks = tasks.filter(tags__name=tag)
    return tasks.distinct().order_by("id")


class LabelResolver:
    """Maps a model's class (output index) to the project's label (id and name)."""

    def __init__(self, project: Project, model):
        labels = list(LabelClass.objects.filter(project=project))
        by_name: dict[str, LabelClass] = {}
        for label in labels:  # a label's own name wins over another label's alias
            for alias in label.aliases or []:
                by_name.setdefault(str(alias).strip().lower(), label)
        for label in labels:
            by_name[label.name.strip().lower()] = label
        self.labels = labels
        self._by_index: dict[int, LabelClass | None] = {}
        self._model_names: dict[int, str] = {}
        for entry in model.label_map:
            index = int(entry["index"])
            self._model_names[index] = entry["name"]
            match = None
            for name in [entry["name"], *entry.get("aliases", [])]:
                match = by_name.get(name.strip().lower())
                if match is not None:
                    break
            self._by_index[index] = match

    def label(self, index: int) -> LabelClass | None:
        return self._by_index.get(int(index))

    def class_name(self, index: int) -> str:
        label = self.label(index)
        return label.name if label is not None else self._model_names.get(int(index), str(index))
