"""The review workflow and other people-driven status moves.

submitted --approve--> reviewed --complete (manager)--> completed
submitted --return (with a comment)--> returned --(annotator claims, fixes, submits)--> submitted

With ``project.auto_complete_on_approve`` an approval completes the task at once; with
``project.review_required`` off a submission completes it at once (both in
``tasks.services.lifecycle.transition_task``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from annotator.api.errors import Conflict
from tasks.models import Comment, Task, TaskStatus
from tasks.services.comments import add_comment
from tasks.services.lifecycle import check_move, transition_task
from tasks.services.locks import refuse_if_locked_by_other, require_lock


def _locked_row(task: Task) -> Task:
    return Task.objects.select_for_update(of=("self",)).select_related("locked_by", "project").get(pk=task.pk)


def _check_reviewer_differs(task: Task, actor) -> None:
    if task.project.reviewer_must_differ and task.annotator_id is not None and task.annotator_id == actor.pk:
        raise Conflict(
            f"You annotated task {task.pk}; this project needs another person to review it.",
            code="reviewer_must_differ",
        )


@transaction.atomic
def approve_task(*, actor, task: Task, comment: str = "") -> Task:
    """Approve a submitted task the caller holds for review (→ reviewed, or completed when the
    project completes approved tasks automatically). An optional comment is kept on the task."""
    task = _locked_row(task)
    check_move(task, TaskStatus.REVIEWED)
    require_lock(task, actor)
    _check_reviewer_differs(task, actor)
    if comment:
        add_comment(actor=actor, task=task, body=comment)
    return transition_task(task, TaskStatus.REVIEWED, actor=actor, reason=comment[:5000] or "approved")


@transaction.atomic
def return_task(
    *,
    actor,
    task: Task,
    comment: str,
    frame_index: int | None = None,
    position: dict | None = None,
    annotation=None,
) -> tuple[Task, Comment]:
    """Send a task back to its annotator with a comment (→ returned; first in their queue).

    A submitted task needs the caller's review lock; a reviewed or completed one is sent back
    by a manager (the view checks ``task.complete``).
    """
    if not comment or not comment.strip():
        raise ValidationError({"comment": ["Say what to fix: a returned task needs a comment."]})
    task = _locked_row(task)
    check_move(task, TaskStatus.RETURNED)
    if task.status == TaskStatus.SUBMITTED:
        require_lock(task, actor)
        _check_reviewer_differs(task, actor)
    note = add_comment(
        actor=actor, task=task, body=comment, frame_index=frame_index, position=position, annotation=annotation
    )
    if task.annotator_id is not None and task.assignee_id != task.annotator_id:
        task.assignee_id = task.annotator_id  # back to the annotator's own queue
        task.save(update_fields=["assignee", "updated_at"])
    transition_task(task, TaskStatus.RETURNED, actor=actor, reason=comment[:5000])
    return task, note


@transaction.atomic
def complete_task(*, actor, task: Task, reason: str = "") -> Task:
    """A manager accepts a task as completed (normally a reviewed one)."""
    task = _locked_row(task)
    check_move(task, TaskStatus.COMPLETED)
    refuse_if_locked_by_other(task, actor)
    return transition_task(task, TaskStatus.COMPLETED, actor=actor, reason=reason or "accepted")


@transaction.atomic
def skip_task(*, actor, task: Task, reason: str = "") -> Task:
    """The annotator holding the task skips it (→ skipped; the lock ends)."""
    task = _locked_row(task)
    check_move(task, TaskStatus.SKIPPED)
    require_lock(task, actor)
    return transition_task(task, TaskStatus.SKIPPED, actor=actor, reason=reason or "skipped")


@transaction.atomic
def change_status(*, actor, task: Task, to_status: str, reason: str = "") -> Task:
    """A manager moves a task to any status ``TRANSITIONS`` allows (reopen, reset, skip...);
    not while someone else holds its lock."""
    task = _locked_row(task)
    check_move(task, to_status)
    refuse_if_locked_by_other(task, actor)
    return transition_task(task, to_status, actor=actor, reason=reason)
