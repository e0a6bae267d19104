"""Ingest benchmark: our media pipeline against plain tools on the same files.

    .venv/bin/python bench/ingest.py [--video-seconds 20] [--slices 200] [--images 100]

* Video timetable: a 1080p H.264 clip (synthetic, made here). Ours: the demux alone
  (``media.video.demux_timetable``), the whole import step (check + demux timetable +
  poster + thumbnail, ``media.services.prepare.prepare_video``) and the worker's decode pass
  for picture types (``media.video.decode_pass``). Baselines: ``ffprobe -show_frames``
  (decodes every frame: the same information as import step + decode pass) and ``ffprobe
  -show_packets`` (demux only). Given as seconds per minute of video.
* DICOM: a 512x512 CT series. Ours: check (sniff, SHA-256, header) and
  ``prepare_dicom_series`` (order, decode every slice, series range, thumbnail). Baseline: a
  plain ``pydicom.dcmread(path).pixel_array`` loop. Slices per second.
* Images: 1920x1080 JPEGs. Ours: check + ``prepare_images`` (full decode, EXIF orientation,
  thumbnail). Baseline: a plain Pillow ``open().load()`` loop. Images per second.

Nothing touches the database: the prepare functions are the ingest work; saving rows is a
few bulk inserts per task. Storage is a local folder in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(data_dir: Path) -> None:
    os.environ["ANNOTATOR_DATA_DIR"] = str(data_dir)
    os.environ["MEDIA_ROOT"] = str(data_dir / "media")
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "DRAMATIQ_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


class FakeProject:
    """What the prepare functions read from a project."""

    def __init__(self, kind: str):
        self.kind = kind
        self.storage_prefix = f"orgs/0/projects/bench-{kind}"
        self.strip_patient_identity = False


class FakeItem:
    def __init__(self, name: str, stored_path: str):
        self.name = name
        self.stored_path = stored_path
        self.owned = True


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def store(name: str, data_path: Path, prefix: str) -> str:
    from media.storage import put_file

    with open(data_path, "rb") as handle:
        return put_file(f"{prefix}/originals/bench/{name}", handle)


def candidate(project: FakeProject, name: str, stored: str):
    """The check step of an import: size, sniff, SHA-256, DICOM header."""
    from media import dicom
    from media.services.prepare import Candidate
    from media.sniff import HEAD_BYTES, sniff
    from media.storage import local_file, sha256_of_file

    with local_file(stored) as path:
        with open(path, "rb") as handle:
            sniffed = sniff(handle.read(HEAD_BYTES))
        digest = sha256_of_file(path)
        header = dicom.read_header(path) if sniffed.kind == "dicom" else None
        size = path.stat().st_size
    return Candidate(item=FakeItem(name, stored), sniffed=sniffed, content_hash=digest, size=size, header=header)


# --- video ---------------------------------------------------------------------------------
def make_1080p(path: Path, seconds: int, fps: int = 30) -> None:
    import av
    import numpy as np

    out = av.open(str(path), "w")
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
    stream.options = {"preset": "ultrafast", "crf": "23", "g": str(fps * 2)}
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(1080, 1920, 3), dtype=np.uint8)
    for index in range(seconds * fps):
        picture = np.roll(base, index * 8, axis=1)  # moving texture: realistic P/B frames
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


def ffprobe(args: list[str]) -> float | None:
    binary = shutil.which("ffprobe")
    if binary is None:
        return None
    started = time.perf_counter()
    subprocess.run([binary, "-v", "error", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_video(work: Path, seconds: int) -> dict:
    from media import video
    from media.services.prepare import prepare_video

    clip = work / "clip-1080p.mp4"
    make_time, _ = timed(make_1080p, clip, seconds)
    minutes = seconds / 60
    project = FakeProject("video")
    stored = store(clip.name, clip, project.storage_prefix)
    check_s, cand = timed(candidate, project, clip.name, stored)
    import_s, prepared = timed(prepare_video, project, cand, [])
    frames = prepared.assets[0].frame_count

    def demux_only():
        import av

        with av.open(str(clip)) as container:
            return video.demux_timetable(container, container.streams.video[0])

    demux_s, entries = timed(demux_only)
    assert len(entries) == frames
    decode_s, decoded = timed(video.decode_pass, clip)
    assert len(decoded) == frames, (len(decoded), frames)
    show_frames = ffprobe(["-select_streams", "v:0", "-show_frames", "-of", "compact", str(clip)])
    show_packets = ffprobe(["-select_streams", "v:0", "-show_packets", "-of", "compact", str(clip)])
    ours_full = check_s + import_s + decode_s
    result = {
        "clip": f"1920x1080 H.264, {seconds} s, {frames} frames, {clip.stat().st_size / 1e6:.1f} MB",
        "clip_encoded_in_s": round(make_time, 1),
        "ours_demux_only_s_per_min": round(demux_s / minutes, 3),
        "ours_import_step_s_per_min": round((check_s + import_s) / minutes, 3),
        "ours_decode_pass_s_per_min": round(decode_s / minutes, 3),
        "ours_full_timetable_s_per_min": round(ours_full / minutes, 3),
    }
    if show_frames is not None:
        result["ffprobe_show_frames_s_per_min"] = round(show_frames / minutes, 3)
        result["ratio_full_timetable_vs_ffprobe_show_frames"] = round(ours_full / show_frames, 3)
    if show_packets is not None:
        result["ffprobe_show_packets_s_per_min"] = round(show_packets / minutes, 3)
        result["ratio_demux_only_vs_ffprobe_show_packets"] = round(demux_s / show_packets, 3)
    return result


def bench_playback_copy(work: Path, seconds: int = 10) -> dict:
    """The worker's playback copy for a source browsers cannot play (720p MPEG-4 in AVI)."""
    from fractions import Fraction

    from django.conf import settings

    from media import synthetic, video

    source = work / "old-720p.avi"
    synthetic.write_video(source, codec="mpeg4", container="avi", frames=seconds * 25, size=(1280, 720), fps=25)
    probe = video.probe_video(source, max_pixels=10**9, max_seconds=10**6)
    encoder = video.PlaybackEncoder(
        work / "copy.mp4",
        width=probe.width,
        height=probe.height,
        time_base=Fraction(probe.time_base),
        start_pts=probe.start_pts,
        preset=settings.MEDIA_PLAYBACK_PRESET,
        crf=settings.MEDIA_PLAYBACK_CRF,
    )
    elapsed, _ = timed(video.decode_pass, source, on_frame=encoder.add)
    encoder.close()
    return {"clip": f"1280x720 MPEG-4/AVI, {seconds} s", "x_realtime": round(seconds / elapsed, 2)}


# --- DICOM ---------------------------------------------------------------------------------
def bench_dicom(work: Path, slices: int) -> dict:
    import pydicom

    from media import synthetic
    from media.services.prepare import prepare_dicom_series

    folder = work / "ct"
    folder.mkdir()
    make_s, files = timed(synthetic.ct_series, slices, 512)
    paths = []
    for name, data in files:
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    project = FakeProject("dicom")
    stored = [(p.name, store(f"ct/{p.name}", p, project.storage_prefix)) for p in paths]

    def ours():
        candidates = [candidate(project, f"ct/{name}", path) for name, path in stored]
        return prepare_dicom_series(project, "CT", candidates, [], job_id=0)

    ours_s, prepared = timed(ours)
    assert sum(len(a.frames) for a in prepared.assets) == slices

    def plain():
        for path in paths:
            pydicom.dcmread(path).pixel_array  # noqa: B018 (the decode is the point)

    plain_s, _ = timed(plain)
    return {
        "series": f"{slices} slices 512x512 CT (written in {make_s:.2f} s)",
        "ours_slices_per_s": round(slices / ours_s, 1),
        "plain_pydicom_slices_per_s": round(slices / plain_s, 1),
        "ratio_ours_time_vs_plain_pydicom": round(ours_s / plain_s, 3),
    }


# --- images --------------------------------------------------------------------------------
def bench_images(work: Path, count: int) -> dict:
    import io

    import numpy as np
    from PIL import Image

    from media import synthetic
    from media.services.prepare import prepare_images

    folder = work / "images"
    folder.mkdir()
    rng = np.random.default_rng(1)
    paths = []
    for n in range(count):
        picture = synthetic.street_scene(1920, 1080, seed=n)
        picture = np.clip(picture.astype(np.int16) + rng.integers(-12, 12, picture.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="JPEG", quality=90)
        path = folder / f"{n:04d}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    project = FakeProject("image")
    stored = [(p.name, store(p.name, p, project.storage_prefix)) for p in paths]

    def ours():
        for name, path in stored:
            prepare_images(project, name, [candidate(project, name, path)], [])

    ours_s, _ = timed(ours)

    def plain():
        for path in paths:
            with Image.open(path) as image:
                image.load()

    plain_s, _ = timed(plain)
    return {
        "images": f"{count} JPEGs 1920x1080 ({sum(p.stat().st_size for p in paths) / count / 1e3:.0f} kB each)",
        "ours_images_per_s": round(count / ours_s, 1),
        "plain_pillow_images_per_s": round(count / plain_s, 1),
        "ratio_ours_time_vs_plain_pillow": round(ours_s / plain_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-seconds", type=int, default=20)
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--no-playback-copy", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        work = Path(folder)
        setup_django(work / "data")
        import av

        report = {
            "machine": {
                "cpus": os.cpu_count(),
                "pyav": av.__version__,
                "ffprobe": shutil.which("ffprobe") or "not installed",
                "ffmpeg_in_pyav": ".".join(map(str, av.ffmpeg_version_info))
                if hasattr(av, "ffmpeg_version_info") and isinstance(av.ffmpeg_version_info, tuple)
                else str(getattr(av, "ffmpeg_version_info", "")),
            },
            "video_timetable": bench_video(work, options.video_seconds),
            "dicom_series": bench_dicom(work, options.slices),
            "images": bench_images(work, options.images),
        }
        if not options.no_playback_copy:
            report["playback_copy"] = bench_playback_copy(work)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
