"""Two editors saving from the same revision at the same moment: one wins, the other gets 409,
and nothing of the winner's edit is lost (PostgreSQL, real threads and connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from annotations.models import Annotation, AnnotationRevision
from annotations.services import save_annotations, write_annotations
from annotator.api.errors import Conflict
from tasks.models import Task
from tests.annotations.conftest import box

pytestmark = pytest.mark.django_db(transaction=True)


def race(*writers):
    """Run the writers in threads released together; returns what each returned or raised."""
    barrier = threading.Barrier(len(writers))
    results: list[object] = [None] * len(writers)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            results[i] = fn()
        except Exception as exc:  # the outcome under test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.parametrize("attempt", range(3))
def test_two_saves_from_the_same_revision_one_gets_409_none_is_lost(desk, attempt):
    base = desk.draft([box()]).json()
    task = Task.objects.get(pk=desk.task.pk)
    user = desk.annotator
    kept = base["annotations"][0]
    tab_a = [kept, box(x=100, class_name="dog")]
    tab_b = [{**kept, "geometry": {"x": 1, "y": 1, "width": 9, "height": 9}}, box(x=200, class_name="person")]
    results = race(
        lambda: save_annotations(task, tab_a, actor=user, revision=1, submit=False),
        lambda: save_annotations(task, tab_b, actor=user, revision=1, submit=False),
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(conflicts) == 1 and len(wins) == 1, results
    assert conflicts[0].extra["current_revision"] == 2
    winner = tab_a if results[0] is wins[0] else tab_b
    stored = Annotation.objects.filter(task=task).order_by("id")
    assert [a.label.name for a in stored] == ["car", winner[1]["class_name"]]
    assert stored[0].geometry == (winner[0].get("geometry") if winner is tab_b else kept["geometry"])
    assert list(AnnotationRevision.objects.filter(task=task).values_list("number", flat=True)) == [1, 2]
    assert Task.objects.get(pk=task.pk).annotation_revision == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_concurrent_background_writes_all_land_with_distinct_revisions(desk):
    task = Task.objects.get(pk=desk.task.pk)
    results = race(*[(lambda i=i: write_annotations(task, [box(x=i)], source="imported")) for i in range(6)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Annotation.objects.filter(task=task).count() == 6
    assert sorted(AnnotationRevision.objects.filter(task=task).values_list("number", flat=True)) == list(range(1, 7))
