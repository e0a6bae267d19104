"""The second pass over an ingested video: one decode gives every frame's picture type and,
when the source is not browser-safe, feeds an H.264 playback copy. The demuxed timetable
(pts, keyframes, byte offsets) was saved at import, so the workspace could already use it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from fractions import Fraction

from django.conf import settings
from django.db import transaction

from jobs.events import project_group, publish
from jobs.models import Job
from jobs.services import report_progress
from media import video
from media.models import Asset, AssetStatus, Frame
from media.storage import local_file, put_file, relative_to_project

logger = logging.getLogger(__name__)


def playback_path(asset: Asset) -> str:
    return f"{asset.project.storage_prefix}/playback/{asset.content_hash}.mp4"


def process_video(job: Job) -> dict:
    """Fill picture types (and the playback copy) for the job's asset. Idempotent: a ready
    asset is left alone; frames and the copy have fixed places and are rewritten."""
    asset = Asset.objects.select_related("project").get(pk=job.params["asset_id"], organization_id=job.organization_id)
    if asset.status == AssetStatus.READY:
        return {"asset_id": asset.pk, "skipped": "already processed"}
    started = time.monotonic()
    meta = asset.metadata
    time_base = Fraction(meta["time_base"])
    needs_copy = not meta.get("browser_safe")
    total = asset.frame_count or 0
    last = [time.monotonic()]

    def progress(done: int) -> None:
        if time.monotonic() - last[0] > 1.0:
            last[0] = time.monotonic()
            report_progress(job, done=min(done, total), total=total, message="decoding")

    copy_path = None
    with local_file(asset.file) as source:
        if needs_copy:
            with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
                encoder = video.PlaybackEncoder(
                    tmp.name,
                    width=asset.width,
                    height=asset.height,
                    time_base=time_base,
                    start_pts=int(meta.get("start_pts", 0)),
                    preset=settings.MEDIA_PLAYBACK_PRESET,
                    crf=settings.MEDIA_PLAYBACK_CRF,
                )
                decoded = video.decode_pass(source, on_frame=encoder.add, progress=progress)
                encoder.close()
                with open(tmp.name, "rb") as handle:
                    copy_path = put_file(playback_path(asset), handle)
        else:
            decoded = video.decode_pass(source, progress=progress)
    decode_seconds = time.monotonic() - started
    rebuilt = _apply_picture_types(asset, decoded)
    meta = asset.metadata  # a rebuild may have moved the start pts
    video_meta = dict(meta["video_metadata"])
    if copy_path:
        video_meta["playback_path"] = relative_to_project(asset.project, copy_path)
        video_meta["playback_codec"] = "h264"
    video_meta["frame_timetable_frame_count"] = Frame.objects.filter(asset=asset).count()
    if rebuilt:
        video_meta["frame_count"] = video_meta["frame_timetable_frame_count"]
    with transaction.atomic():
        asset.metadata = {**meta, "video_metadata": video_meta, "timetable_source": video.TIMETABLE_SOURCE}
        asset.playback_path = copy_path or ""
        asset.status = AssetStatus.READY
        asset.frame_count = video_meta["frame_count"]
        asset.save(update_fields=["metadata", "playback_path", "status", "frame_count"])
        event = {
            "type": "media",
            "event": "ready",
            "task_id": asset.task_id,
            "asset_id": asset.pk,
            "project_id": asset.project_id,
        }
        transaction.on_commit(lambda: publish([project_group(asset.organization_id, asset.project_id)], event))
    return {
        "asset_id": asset.pk,
        "frames": len(decoded),
        "playback_copy": bool(copy_path),
        "timetable_rebuilt": rebuilt,
        "timings": {"decode_seconds": round(decode_seconds, 3), "total_seconds": round(time.monotonic() - started, 3)},
    }


CHUNK = 2000


@transaction.atomic
def _apply_picture_types(asset: Asset, decoded: list[video.DecodedFrame]) -> bool:
    """Write picture types onto the timetable; rebuild it from the decoder when the decoder
    saw other frames than the demuxer did (returns True then). Works in chunks: hours of
    video are hundreds of thousands of rows."""
    rows = Frame.objects.filter(asset=asset).order_by("index")
    demuxed = list(rows.values_list("metadata__pts", flat=True))
    decoded_pts = sorted(d.pts for d in decoded if d.pts is not None)
    if len(decoded_pts) == len(decoded) and decoded_pts != demuxed:
        return _rebuild(asset, decoded)
    by_pts = {d.pts: d.pict_type for d in decoded}
    in_order = len(decoded) == len(demuxed)
    for start in range(0, len(demuxed), CHUNK):
        frames = list(rows.only("id", "index", "metadata")[start : start + CHUNK])
        for offset, frame in enumerate(frames):
            pict_type = by_pts.get(frame.metadata.get("pts"))
            if pict_type is None and in_order:
                pict_type = decoded[start + offset].pict_type  # no usable pts: decode order it is
            frame.pict_type = pict_type or ""
        Frame.objects.bulk_update(frames, ["pict_type"])
    return False


def _rebuild(asset: Asset, decoded: list[video.DecodedFrame]) -> bool:
    meta = asset.metadata
    time_base = Fraction(meta["time_base"])
    start = min(d.pts for d in decoded) if decoded else 0
    demuxed = Frame.objects.filter(asset=asset).values_list("metadata__pts", "byte_offset", "is_keyframe")
    known = {pts: (offset, keyframe) for pts, offset, keyframe in demuxed.iterator(chunk_size=CHUNK)}
    before = len(known)
    Frame.objects.filter(asset=asset).delete()
    ordered = sorted(decoded, key=lambda d: d.pts)
    for first in range(0, len(ordered), CHUNK):
        Frame.objects.bulk_create(
            [
                Frame(
                    organization_id=asset.organization_id,
                    task_id=asset.task_id,
                    asset=asset,
                    index=index,
                    asset_frame=index,
                    width=asset.width,
                    height=asset.height,
                    pts_ms=float((item.pts - start) * time_base * 1000),
                    is_keyframe=known.get(item.pts, (None, item.is_keyframe))[1],
                    pict_type=item.pict_type,
                    byte_offset=known.get(item.pts, (None, None))[0],
                    metadata={"pts": item.pts},
                )
                for index, item in enumerate(ordered[first : first + CHUNK], start=first)
            ]
        )
    asset.metadata = {**meta, "start_pts": start}
    logger.info("asset %s: timetable rebuilt from the decoder (%d -> %d frames)", asset.pk, before, len(ordered))
    return True
