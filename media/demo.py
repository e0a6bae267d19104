"""Demo media, generated on the fly and ingested through the real import path (the
embedded default's in-process worker then processes it like any upload)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from media import synthetic
from media.services.imports import IncomingFile, Source, start_import


def demo_files() -> dict[str, list[IncomingFile]]:
    images = [
        IncomingFile(name=f"street-{n + 1}.jpg", content=data, size=len(data))
        for n, data in enumerate(
            synthetic.image_bytes(320, 240, seed=n, fmt="JPEG", exif_orientation=6 if n == 3 else None)
            for n in range(4)
        )
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traffic.avi"
        # MPEG-4 in AVI: not browser-safe, so the worker also makes the H.264 playback copy.
        synthetic.write_video(path, codec="mpeg4", container="avi", frames=75, size=(320, 240), fps=25, bframes=2)
        clip = path.read_bytes()
    videos = [IncomingFile(name="traffic.avi", content=clip, size=len(clip))]
    series = [
        IncomingFile(name=f"head-neck-ct/{name}", content=data, size=len(data))
        for name, data in synthetic.ct_series(24, 128, description="Head and neck (synthetic)")
    ]
    return {"image": images, "video": videos, "dicom": series}


def add_demo_media(*, org, owner, image, video, dicom) -> None:
    """``demo.services.DEMO_CONTENT_HOOKS`` entry: a few images, a clip and a CT series."""
    files = demo_files()
    for project, key in ((image, "image"), (video, "video"), (dicom, "dicom")):
        start_import(actor=owner, project=project, files=files[key], source=Source.DEMO)
