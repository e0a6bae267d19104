"""ML actors, all on the ``ml`` queue (the GPU worker in production): thin shells over services.

Clicks travel the interactive lane (``ml.lane``: Redis list + lane threads in ML workers);
``sam_interactive`` carries them only where there is no Redis (the embedded default), with
the highest priority and no retries. The jobs are idempotent (``start_job`` makes a finished
job's retry a no-op, and each service resumes or starts over without duplicating what it
wrote) and may run for hours.
"""

from __future__ import annotations

import dramatiq

from ml import lane
from ml.services import auto_annotation, evaluation, inference, propagation, registry

HOURS = 60 * 60 * 1000  # milliseconds, Dramatiq's time unit
INTERACTIVE = {"queue_name": "ml", "priority": 0, "max_retries": 0, "time_limit": 5 * 60 * 1000}
BACKGROUND = {"queue_name": "ml", "priority": 10, "max_retries": 3, "time_limit": 24 * HOURS}


dramatiq.get_broker().add_middleware(lane.InteractiveLane())


@dramatiq.actor(**INTERACTIVE)
def sam_interactive(message: dict) -> None:
    """A click → masks for a waiting web request, or a frame to embed ahead of the first click."""
    lane.handle(message)


@dramatiq.actor(**BACKGROUND)
def propagate_objects(job_id: int) -> None:
    """A SAM 2.1 propagation run (its job is the chain of the annotations it writes)."""
    propagation.run_propagation(job_id)


@dramatiq.actor(queue_name="ml", priority=5, max_retries=3, time_limit=30 * 60 * 1000)
def validate_model(model_id: int) -> None:
    """Load a newly registered model and check its output against the kind's contract."""
    registry.validate_registered_model(model_id)


@dramatiq.actor(**BACKGROUND)
def run_inference(job_id: int) -> None:
    """Batch inference over the run's images; each image's result is recorded."""
    inference.run_batch(job_id)


@dramatiq.actor(**BACKGROUND)
def auto_annotate(job_id: int) -> None:
    """A model over a project's tasks, storing predictions."""
    auto_annotation.run_auto_annotation(job_id)


@dramatiq.actor(**BACKGROUND)
def evaluate_model(job_id: int) -> None:
    """A model compared with reviewed annotations (metrics stored on the run)."""
    evaluation.run_evaluation(job_id)
