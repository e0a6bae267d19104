"""The PostgreSQL claim: picking, locking and recording a task in one SQL statement.

``claims._take`` is the reference implementation of a claim in ORM steps (it is what runs
where ``SKIP LOCKED`` is missing). On PostgreSQL the same steps run as one statement:

1. ``candidate``: the first task of the queue, ``FOR UPDATE SKIP LOCKED`` (the queue's
   WHERE and ORDER BY are compiled from the ORM queryset, so both paths share them);
2. ``previous``: an expired lock being taken over — its open claim ends as ``expired`` at its
   last sign of life;
3. ``claimed``: the task row gets the caller's lock (and ``in_progress`` for annotation);
4. the history rows: ``TaskTransition`` (when the status moved), ``TaskClaim``, and the audit
   events ``task.lock_expired`` (takeover) and ``task.claimed``/``task.review_claimed`` —
   the rows ``audit.services.record_event`` would write, with the request id.

Why by hand: a claim is the hot path of every annotator and the ORM needs nine round trips
for it (BEGIN, SELECT, UPDATE, three INSERTs, COMMIT, ...); on a busy database each round trip
waits for a CPU, so latency under load is mostly round trips. This is one, in autocommit (or
inside the caller's transaction). The tests run every claim scenario on both paths.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from audit.context import current_request_id
from audit.models import AuditEvent
from tasks.models import LockPurpose, Task, TaskClaim, TaskStatus, TaskTransition

_TASK_COLUMNS = [field.column for field in Task._meta.concrete_fields]
_TASK_ATTNAMES = [field.attname for field in Task._meta.concrete_fields]


def _statement(queue_sql: str) -> str:
    task, claim = Task._meta.db_table, TaskClaim._meta.db_table
    transition, audit = TaskTransition._meta.db_table, AuditEvent._meta.db_table
    users = get_user_model()._meta.db_table
    returned = ", ".join(f"cl.{column}" for column in _TASK_COLUMNS)
    # Parameters, in order after the queue's own: see claim_with_one_statement.
    return f"""
WITH candidate AS ({queue_sql}),
previous AS (
    UPDATE {claim} pc
       SET ended_at = COALESCE(pc.last_renewed_at, pc.claimed_at), end_reason = '{TaskClaim.EndReason.EXPIRED}'
      FROM candidate c
     WHERE pc.task_id = c.id AND pc.ended_at IS NULL AND c.locked_by_id IS NOT NULL
 RETURNING pc.task_id, pc.status_before, pc.user_id, pc.purpose, pc.ended_at
),
claimed AS (
    UPDATE {task} t
       SET status = CASE WHEN %s THEN '{TaskStatus.IN_PROGRESS}' ELSE t.status END,
           locked_by_id = %s, lock_expires_at = %s, updated_at = %s
      FROM candidate c
     WHERE t.id = c.id
 RETURNING t.*, c.status AS status_was, c.locked_by_id AS previous_holder
),
moved AS (
    INSERT INTO {transition} (organization_id, task_id, from_status, to_status, actor_id, reason, created_at)
    SELECT organization_id, id, status_was, status, %s, 'claimed', %s FROM claimed WHERE status_was <> status
),
opened AS (
    INSERT INTO {claim} (organization_id, task_id, user_id, purpose, status_before, claimed_at, end_reason)
    SELECT cl.organization_id, cl.id, %s, %s,
           CASE WHEN cl.status_was = '{TaskStatus.IN_PROGRESS}'
                THEN COALESCE((SELECT p.status_before FROM previous p LIMIT 1), cl.status_was)
                ELSE cl.status_was END,
           %s, ''
      FROM claimed cl
),
expiry_audit AS (
    INSERT INTO {audit} (organization_id, actor_id, action, object_type, object_id, object_repr,
                         before, after, request_id, created_at)
    SELECT cl.organization_id, NULL, 'task.lock_expired', 'tasks.task', cl.id::text, left(cl.name, 200),
           CASE WHEN p.task_id IS NULL THEN jsonb_build_object('locked_by_id', cl.previous_holder)
                ELSE jsonb_build_object(
                    'locked_by', (SELECT u.username FROM {users} u WHERE u.id = p.user_id),
                    'purpose', p.purpose,
                    'last_active_at', to_char(p.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
           END,
           NULL, %s, %s
      FROM claimed cl LEFT JOIN previous p ON p.task_id = cl.id
     WHERE cl.previous_holder IS NOT NULL
),
claim_audit AS (
    INSERT INTO {audit} (organization_id, actor_id, action, object_type, object_id, object_repr,
                         before, after, request_id, created_at)
    SELECT cl.organization_id, %s, %s, 'tasks.task', cl.id::text, left(cl.name, 200),
           jsonb_build_object('status', cl.status_was),
           jsonb_build_object('status', cl.status, 'locked_by', %s::text, 'lock_expires_at', %s::text),
           %s, %s
      FROM claimed cl
)
SELECT {returned} FROM claimed cl
"""  # noqa: S608 - names come from model _meta, the queue from the ORM compiler; values are parameters


def claim_with_one_statement(queue: QuerySet[Task], *, user, purpose: str, now: datetime, expires: datetime):
    """Claim the first task of ``queue`` nobody else is claiming right now; ``None`` if none."""
    picked = queue.values_list("id", "status", "locked_by_id")[:1]
    queue_sql, queue_params = picked.query.sql_with_params()
    # Appended by hand: the ORM refuses to compile FOR UPDATE outside a transaction, and this
    # statement is its own transaction.
    queue_sql += " FOR UPDATE SKIP LOCKED"
    annotate = purpose == LockPurpose.ANNOTATE
    action = "task.claimed" if annotate else "task.review_claimed"
    request_id = current_request_id.get() or ""
    params = [
        *queue_params,
        annotate, user.pk, expires, now,  # claimed
        user.pk, now,  # moved
        user.pk, purpose, now,  # opened
        request_id, now,  # expiry_audit
        user.pk, action, user.username, expires.isoformat(), request_id, now,  # claim_audit
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_statement(queue_sql), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(connection.alias, _TASK_ATTNAMES, row)
