"""The demo organization gets generated media, ingested through the real import path."""

from __future__ import annotations

import pytest

from demo.services import DEMO_CONTENT_HOOKS, load_demo
from jobs.models import Job
from media.demo import add_demo_media
from media.models import Frame
from tasks.models import Task
from tests.media.conftest import run_import_now

pytestmark = pytest.mark.django_db


def test_demo_projects_get_images_a_video_and_a_ct_series():
    assert add_demo_media in DEMO_CONTENT_HOOKS
    organization = load_demo().organization
    imports = Job.objects.filter(organization=organization, kind="import").order_by("id")
    assert imports.count() == 3
    for job in imports:
        assert run_import_now(job.pk).status == "succeeded"
    by_kind = {t.project.kind: t for t in Task.objects.filter(organization=organization).select_related("project")}
    assert Task.objects.filter(organization=organization, project__kind="image").count() == 4
    video = by_kind["video"]
    assert video.assets.get().playback_path  # the AVI got its H.264 playback copy
    assert Frame.objects.filter(task=video).count() == 75
    assert Frame.objects.filter(task=by_kind["dicom"]).count() == 24
