"""Which task frame an imported file annotates: matched by file name.

Rules, in order (case-sensitive; folders in the name are ignored):

1. the uploaded media's name (``Asset.original_name``) — ``cat.jpg`` — or its stem with any
   extension (``cat.png``, ``cat.txt`` annotate ``cat.jpg``): the asset's frame (an image
   task's only frame; an image of a sequence);
2. a frame stem as our exports write it: ``{media stem}_frame{NNNNNN}`` (1-based frame
   number; a DICOM series' media stem is its task's name), optionally with the segmentation
   package's timestamp
   ``{media stem}_{H}h{MM}m{SS}s{mmm}ms_frame{NNNNNN}``, and ``_t{task id}`` where two media
   share a name: frame NNNNNN of that video / series.

A name that matches no frame, or several tasks' media, is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from media.models import Asset, Frame
from projects.models import Project

_FRAME = re.compile(r"^(?P<media>.+?)(?:_t(?P<task>\d+))?(?:_\d+h\d{2}m\d{2}s\d{3}ms)?_frame(?P<number>\d{6,})$")
_TASK = re.compile(r"^(?P<media>.+)_t(?P<task>\d+)$")


@dataclass(frozen=True)
class Target:
    task_id: int
    frame_index: int
    width: int
    height: int


class FrameMatcher:
    """Looks names up in the project's media, a few queries per name (no full index)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._cache: dict[str, Target | str] = {}

    def match(self, image_name: str) -> Target | str:
        """The target frame, or a refusal reason."""
        if image_name not in self._cache:
            self._cache[image_name] = self._match(image_name)
            if len(self._cache) > 50_000:
                self._cache.clear()
        return self._cache[image_name]

    def _assets(self, **filters):
        return Asset.objects.for_organization(self.project.organization_id).filter(project=self.project, **filters)

    def _frame(self, asset_filter: dict, number: int | None) -> list[Frame]:
        frames = Frame.objects.filter(
            task__project=self.project, **{f"asset__{k}": v for k, v in asset_filter.items()}
        ).order_by("task_id", "index")
        if number is not None:
            frames = frames.filter(index=number - 1)
        return list(frames[:3])

    def _match(self, image_name: str) -> Target | str:
        name = PurePosixPath(image_name.replace("\\", "/")).name
        stem = name.rsplit(".", 1)[0] if "." in name else name
        frames = self._frame({"original_name": name}, None)
        if not frames:
            frames = self._frame({"original_name__regex": rf"^{re.escape(stem)}\.[^./]+$"}, None)
        task_hint = _TASK.match(stem)
        if not frames and task_hint:
            frames = [
                f
                for f in self._frame({"original_name__regex": rf"^{re.escape(task_hint['media'])}\.[^./]+$"}, None)
                if f.task_id == int(task_hint["task"])
            ]
        if frames:
            single = [f for f in frames if f.asset.kind == "image"] if len(frames) > 1 else frames
            tasks = {f.task_id for f in single}
            if len(tasks) > 1:
                ids = ", ".join(map(str, sorted(tasks)))
                return f"{name!r} names media of several tasks ({ids}); rename it <stem>_t<task id>"
            if single and (len(frames) == 1 or frames[0].asset.kind == "image"):
                frame = single[0]
                return Target(frame.task_id, frame.index, frame.width, frame.height)
        found = _FRAME.match(stem)
        if found:
            number = int(found["number"])
            candidates = self._frame({"original_name__regex": rf"^{re.escape(found['media'])}(\.[^./]+)?$"}, number)
            if not candidates:  # a DICOM series: named by its task
                candidates = list(
                    Frame.objects.filter(
                        task__project=self.project, task__name=found["media"], index=number - 1, asset__kind="dicom"
                    )[:3]
                )
            if found["task"]:
                candidates = [f for f in candidates if f.task_id == int(found["task"])]
            tasks = {f.task_id for f in candidates}
            if len(tasks) == 1:
                frame = candidates[0]
                return Target(frame.task_id, frame.index, frame.width, frame.height)
            if len(tasks) > 1:
                return f"{name!r} names frame {number} of several tasks; add _t<task id> before _frame"
            return f"no media called {found['media']!r} with a frame {number} in this project"
        return f"no image called {name!r} (or {stem!r} with another extension) in this project"
