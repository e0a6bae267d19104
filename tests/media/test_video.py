"""Video: timetable from real timestamps (VFR included), picture types, exact frames,
playback copies for sources browsers cannot play, manifest and task metadata."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from media import selectors, synthetic
from media.models import Asset, Frame
from tasks.models import Task
from tests.media.conftest import outcomes

pytestmark = pytest.mark.django_db

SEED_KEYS = {
    "duration_ms",
    "fps",
    "frame_count",
    "width",
    "height",
    "codec",
    "playback_path",
    "playback_codec",
    "poster_frame_path",
    "frame_timetable_frame_count",
}


def clip(tmp_path, name: str, **kwargs) -> tuple[bytes, list[float]]:
    path = Path(tmp_path) / name
    times = synthetic.write_video(path, **kwargs)
    return path.read_bytes(), times


def top_level_boxes(data: bytes) -> list[bytes]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes


def assert_frames_exact(task, count: int) -> None:
    """Every frame decodes to its own picture (marker block = frame number)."""
    for index in range(count):
        level = selectors.frame_image(task, index)[:40, :40].mean()
        assert abs(level - synthetic.frame_level(index)) < 6, f"frame {index}: {level}"


def test_h264_mp4_is_played_as_is_with_a_decoded_timetable(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "cfr.mp4", codec="libx264", frames=10, fps=25)
    job = ingest(project, [("cfr.mp4", data)])
    assert outcomes(job) == {"cfr.mp4": ("accepted", "")}
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    assert asset.status == "ready" and not asset.playback_path
    meta = selectors.video_metadata_for(task)
    assert set(meta) == SEED_KEYS
    assert meta["codec"] == "h264" and meta["fps"] == 25.0 and meta["frame_count"] == 10
    assert meta["duration_ms"] == 400 and (meta["width"], meta["height"]) == (160, 120)
    assert meta["playback_path"] is None and meta["playback_codec"] == "h264"
    assert meta["poster_frame_path"].startswith("thumbnails/")
    assert default_storage.exists(f"{project.storage_prefix}/{meta['poster_frame_path']}")
    frames = list(Frame.objects.filter(task=task).order_by("index"))
    assert [f.pts_ms for f in frames] == times
    assert frames[0].is_keyframe and frames[0].pict_type == "I"
    assert all(f.pict_type in {"I", "P", "B"} for f in frames)
    assert frames[0].byte_offset is not None
    assert_frames_exact(task, 10)

    detail = world_a.client("annotator").get(f"/api/v1/tasks/{task.pk}").json()
    assert detail["video_metadata"] == meta


def test_mpeg4_avi_with_b_frames_gets_an_h264_faststart_playback_copy(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "old.avi", codec="mpeg4", container="avi", frames=12, bframes=2)
    ingest(project, [("old.avi", data)])
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    meta = selectors.video_metadata_for(task)
    assert meta["codec"] == "mpeg4"
    assert meta["playback_codec"] == "h264" and meta["playback_path"] == f"playback/{asset.content_hash}.mp4"
    assert asset.playback_path == f"{project.storage_prefix}/{meta['playback_path']}"
    assert "B" in {f.pict_type for f in Frame.objects.filter(task=task)}
    with default_storage.open(asset.playback_path, "rb") as handle:
        boxes = top_level_boxes(handle.read())
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # +faststart: the index comes first
    with av.open(default_storage.path(asset.playback_path)) as copy:
        stream = copy.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        copy_times = sorted(float(p.pts * stream.time_base * 1000) for p in copy.demux(stream) if p.size)
    assert copy_times == times  # frame N of the copy is frame N of the source
    assert_frames_exact(task, 12)


def test_variable_frame_rate_uses_real_timestamps_never_frame_over_fps(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "vfr.webm", codec="libvpx-vp9", container="webm", frames=9, durations_ms=[40, 120])
    ingest(project, [("vfr.webm", data)])
    task = Task.objects.get(project=project)
    meta = selectors.video_metadata_for(task)
    assert meta["frame_count"] == 9  # webm declares no frame count: counted
    pts = list(Frame.objects.filter(task=task).order_by("index").values_list("pts_ms", flat=True))
    assert pts == times == [0, 40, 160, 200, 320, 360, 480, 520, 640]
    assert meta["fps"] == round(8 / 0.64, 3)
    assert meta["duration_ms"] == 680
    assert meta["playback_path"] is not None  # VP9/webm is not the browser-safe H.264 path
    assert_frames_exact(task, 9)


def test_vfr_h264_with_b_frames_runs_of_frames_match_single_fetches(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "vfr.mkv", codec="libx264", container="matroska", frames=14, durations_ms=[33, 80])
    ingest(project, [("vfr.mkv", data)])
    task = Task.objects.get(project=project)
    assert list(Frame.objects.filter(task=task).order_by("index").values_list("pts_ms", flat=True)) == times
    run = dict(selectors.iter_frame_images(task, 3, 11))
    assert sorted(run) == list(range(3, 11))
    for index, picture in run.items():
        assert np.array_equal(picture, selectors.frame_image(task, index))
        assert abs(picture[:40, :40].mean() - synthetic.frame_level(index)) < 6


def test_frame_timetable_endpoint_pages_with_from_and_to(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "v.mp4", frames=12, durations_ms=[40, 40, 100])
    ingest(project, [("v.mp4", data)])
    task = Task.objects.get(project=project)
    client = world_a.client("annotator")
    body = client.get(f"/api/v1/tasks/{task.pk}/video/frame-timetable?from=2&to=5").json()
    assert body["task_id"] == task.pk and body["source"] == "pyav" and body["frame_count"] == 12
    assert [f["frame_index"] for f in body["frames"]] == [2, 3, 4, 5]
    assert [f["pts_ms"] for f in body["frames"]] == times[2:6]
    assert set(body["frames"][0]) == {"frame_index", "pts_ms", "is_keyframe", "pict_type", "byte_offset"}
    everything = client.get(f"/api/v1/tasks/{task.pk}/video/frame-timetable").json()
    assert len(everything["frames"]) == 12
    bad = client.get(f"/api/v1/tasks/{task.pk}/video/frame-timetable?from=5&to=2")
    assert bad.status_code == 400


def test_timetable_is_estimated_for_a_video_task_without_one(world_a, make_project):
    from tasks.services.tasks import create_task

    project = make_project(world_a, "video")
    task = create_task(actor=world_a.owner, project=project, name="legacy")
    body = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/frame-timetable?from=0&to=120").json()
    assert body["source"] == "estimated" and body["frames"] == []
    manifest = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/manifest")
    assert manifest.status_code == 409 and manifest.json()["code"] == "no_video"


def test_manifest_and_timetable_answer_400_for_non_video_tasks(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    ingest(project, [("a.png", synthetic.image_bytes(20, 20))])
    task = Task.objects.get(project=project)
    for url in (f"/api/v1/tasks/{task.pk}/video/manifest", f"/api/v1/tasks/{task.pk}/video/frame-timetable"):
        response = world_a.client().get(url)
        assert response.status_code == 400 and response.json()["code"] == "not_a_video"


def test_manifest_has_signed_playback_and_poster_urls_with_the_same_metadata(
    world_a, world_b, make_project, ingest, tmp_path
):
    project = make_project(world_a, "video")
    data, _ = clip(tmp_path, "m.avi", codec="mpeg4", container="avi", frames=6)
    ingest(project, [("m.avi", data)])
    task = Task.objects.get(project=project)
    client = world_a.client("annotator")
    manifest = client.get(f"/api/v1/tasks/{task.pk}/video/manifest").json()
    assert manifest["video_metadata"] == selectors.video_metadata_for(task)
    assert manifest["status"] == "ready" and manifest["video_content_type"] == "video/mp4"
    assert manifest["video_url"] != manifest["original_url"]
    video = client.get(manifest["video_url"])
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    assert video["X-Content-Type-Options"] == "nosniff" and video["Content-Disposition"].startswith("inline")
    body = b"".join(video.streaming_content)
    assert body[4:8] == b"ftyp"
    partial = client.get(manifest["video_url"], HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206 and partial["Content-Range"].endswith(f"/{len(body)}")
    assert b"".join(partial.streaming_content) == body[:100]
    poster = client.get(manifest["poster_url"])
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    # The original AVI is never served inline from our origin.
    original = client.get(manifest["original_url"])
    assert original["Content-Disposition"].startswith("attachment")
    # Another organization cannot use the link, nor see the task.
    assert world_b.client().get(manifest["video_url"]).status_code == 404
    assert world_b.client().get(f"/api/v1/tasks/{task.pk}/video/manifest").status_code == 404


def test_frame_endpoint_returns_the_exact_video_frame(world_a, make_project, ingest, tmp_path):
    import io

    from PIL import Image

    project = make_project(world_a, "video")
    data, _ = clip(tmp_path, "f.mp4", frames=8, bframes=2)
    ingest(project, [("f.mp4", data)])
    task = Task.objects.get(project=project)
    response = world_a.client().get(f"/api/v1/tasks/{task.pk}/frames/6?ext=png")
    picture = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert abs(picture[:40, :40].mean() - synthetic.frame_level(6)) < 6


def test_the_demuxed_timetable_is_served_at_once_and_the_decoder_has_the_last_word(world_a, make_project, tmp_path):
    from jobs.models import Job
    from media.actors import process_video, run_import
    from media.services.imports import Source, start_import
    from tests.media.conftest import files_of

    project = make_project(world_a, "video")
    data, times = clip(tmp_path, "d.mp4", frames=9, durations_ms=[40, 60])
    job = start_import(actor=world_a.owner, project=project, files=files_of([("d.mp4", data)]), source=Source.UPLOAD)
    run_import.fn(job.pk)
    task = Task.objects.get(project=project)
    early = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/frame-timetable").json()
    assert early["source"] == "pyav-demux" and [f["pts_ms"] for f in early["frames"]] == times
    assert {f["pict_type"] for f in early["frames"]} == {None}
    assert world_a.client().get(f"/api/v1/tasks/{task.pk}/video/manifest").json()["status"] == "processing"

    # Pretend the demuxer missed a frame: the decode pass rebuilds the timetable.
    Frame.objects.filter(task=task, index=8).delete()
    process_video.fn(Job.objects.get(kind="media.video", project=project).pk)
    late = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/frame-timetable").json()
    assert late["source"] == "pyav" and [f["pts_ms"] for f in late["frames"]] == times
    assert all(f["pict_type"] for f in late["frames"])
    assert selectors.video_metadata_for(task)["frame_timetable_frame_count"] == 9
    assert_frames_exact(task, 9)


def _block_corner(picture: np.ndarray, level: int) -> str:
    """Which corner holds the marker block (the frame number as a grey level)."""
    height, width = picture.shape[:2]
    side = min(width, height) // 4
    corners = {
        "top-left": picture[:side, :side],
        "top-right": picture[:side, -side:],
        "bottom-left": picture[-side:, :side],
        "bottom-right": picture[-side:, -side:],
    }
    return min(corners, key=lambda name: abs(corners[name].mean() - level))


@pytest.mark.parametrize(
    ("rotation", "corner"),
    [(-90, "top-right"), (90, "bottom-left"), (180, "bottom-right")],  # -90: a phone held upright
)
def test_a_phone_video_is_upright_everywhere_as_players_show_it(
    world_a, make_project, ingest, tmp_path, rotation, corner
):
    """The pictures are stored landscape (160x120) with a display matrix; frames, their sizes
    (which bound annotations' coordinates) and the poster are those of the turned picture."""
    project = make_project(world_a, "video")
    data, _ = clip(tmp_path, "phone.mp4", frames=6, size=(160, 120), display_rotation=rotation)
    with av.open(io.BytesIO(data)) as container:  # what FFmpeg reads from the file
        assert next(container.decode(video=0)).rotation % 360 == rotation % 360
    ingest(project, [("phone.mp4", data)])
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    upright = (120, 160) if rotation in (90, -90) else (160, 120)
    assert (asset.width, asset.height) == upright and asset.metadata["rotation"] == rotation % 360
    meta = selectors.video_metadata_for(task)
    assert (meta["width"], meta["height"]) == upright
    assert {(f.width, f.height) for f in Frame.objects.filter(task=task)} == {upright}
    for index in (0, 5):
        picture = selectors.frame_image(task, index)
        assert (picture.shape[1], picture.shape[0]) == upright
        assert _block_corner(picture, synthetic.frame_level(index)) == corner
    with default_storage.open(f"{project.storage_prefix}/{meta['poster_frame_path']}", "rb") as handle:
        poster = np.asarray(Image.open(handle).convert("RGB"))
    assert (poster.shape[1], poster.shape[0]) == upright and _block_corner(poster, synthetic.frame_level(0)) == corner


def test_a_rotated_source_gets_an_upright_playback_copy(world_a, make_project, ingest, tmp_path):
    """A copy cannot keep the display matrix (the encoder writes none): its pictures are turned."""
    project = make_project(world_a, "video")
    data, _ = clip(tmp_path, "phone444.mp4", frames=6, size=(160, 120), pix_fmt="yuv444p", display_rotation=-90)
    ingest(project, [("phone444.mp4", data)])
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    assert asset.playback_path, "yuv444p is not browser-safe: a copy is made"
    with av.open(default_storage.path(asset.playback_path)) as copy:
        frame = next(copy.decode(video=0))
        assert (frame.width, frame.height) == (120, 160) and frame.rotation == 0
        assert _block_corner(frame.to_ndarray(format="rgb24"), synthetic.frame_level(0)) == "top-right"
    corners = [_block_corner(selectors.frame_image(task, index), synthetic.frame_level(index)) for index in range(6)]
    assert corners == ["top-right"] * 6


def test_a_rotated_video_ingested_before_rotation_was_applied_keeps_its_frames(world_a, make_project, ingest, tmp_path):
    """Its frames were annotated as stored (landscape, sizes 160x120): turning them now would
    move every annotation. Only assets that record a rotation are turned."""
    project = make_project(world_a, "video")
    data, _ = clip(tmp_path, "old-phone.mp4", frames=4, size=(160, 120), display_rotation=-90)
    ingest(project, [("old-phone.mp4", data)])
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    metadata = dict(asset.metadata)
    del metadata["rotation"]  # as an asset ingested before this change
    Asset.objects.filter(pk=asset.pk).update(metadata=metadata, width=160, height=120)
    Frame.objects.filter(task=task).update(width=160, height=120)
    picture = selectors.frame_image(task, 2)
    assert picture.shape[:2] == (120, 160) and _block_corner(picture, synthetic.frame_level(2)) == "top-left"
