"""The segmentation-results package (the segmentation server's export, reworked).

For every frame in scope, with ``stem = {video}_{H}h{MM}m{SS}s{mmm}ms_frame{NNNNNN}`` (the
media's name, the frame's real timestamp from the frame timetable, the 1-based frame
number on six digits):

- ``originals``: ``original_frames/{stem}.jpg`` (seed: ``原始图片/``)
- ``separate``: ``separate_masks/{stem}_separate/{stem}_{class}_maskid{N}.png``
  (seed: ``分开Mask分割结果/{stem}_分别导出/``)
- ``gt_label``: ``GT_label/{stem}.png`` (seed: ``GT_label图/``)
- ``pro_label``: ``Pro_label/{stem}.png`` (seed: ``Pro_label彩色分割结果/``)
- ``mix_label``: ``Mix_label/{stem}.jpg`` (``mix_format: png`` as the seed) (seed: ``Mix_label重叠覆盖彩色分割结果/``)
- ``coco``: ``annotations_coco.json`` (same in both)
- ``class_map``: ``class_map.json`` (seed: ``maskid_GT像素值_类别映射.json``)

``folder_names: original`` keeps the seed's folder names for users of that tool.

* separate masks: one 0/255 PNG per class present on the frame (union of its shapes), stored
  1-bit (OpenCV reads 0/255, PIL mode "1");
* GT_label: uint8 single channel, pixel = the class's real maskid, painted bottom to top
  in z-order; maskid 0 "unclassified" paints 0, identical to background;
* Pro_label: colour PNG, each maskid in its class colour (maskid 0 black like background);
* Mix_label: the original frame with Pro_label laid over the labelled pixels at
  ``mix_opacity`` (0-1);
* the class map lists every class: maskid ↔ name ↔ colour ↔ z-order.

The archive is named ``{project}_seg_T_{first time}-{last time}_P_{first}-{last}.zip``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import cv2
import numpy as np

from exports.formats.base import (
    ExportContext,
    Exporter,
    ExportFrame,
    Option,
    encode_image,
    format_timestamp,
    label_map,
    paint_gt_label,
    safe_name,
)
from exports.formats.coco import CocoStream, coco_annotation, coco_categories

OUTPUTS = ("originals", "separate", "gt_label", "pro_label", "mix_label", "coco", "class_map")

FOLDERS = {
    "english": {
        "originals": "original_frames",
        "separate": "separate_masks",
        "separate_suffix": "_separate",
        "gt_label": "GT_label",
        "pro_label": "Pro_label",
        "mix_label": "Mix_label",
        "coco": "annotations_coco.json",
        "class_map": "class_map.json",
    },
    "original": {
        "originals": "原始图片",
        "separate": "分开Mask分割结果",
        "separate_suffix": "_分别导出",
        "gt_label": "GT_label图",
        "pro_label": "Pro_label彩色分割结果",
        "mix_label": "Mix_label重叠覆盖彩色分割结果",
        "coco": "annotations_coco.json",
        "class_map": "maskid_GT像素值_类别映射.json",
    },
}


def frame_stem(frame: ExportFrame) -> str:
    return f"{frame.video_name}_{format_timestamp(frame.pts_ms)}_frame{frame.number:06d}"


def class_map(ctx: ExportContext) -> dict:
    return {
        "classes": [
            {
                "maskid": label.maskid,
                "gt_pixel_value": label.maskid,
                "name": label.name,
                "category": label.category,
                "color": label.color,
                "rgb": list(label.rgb),
                "z_order": label.z_order,
                "label_id": label.id,
                "unclassified": label.maskid == 0,
            }
            for label in sorted(ctx.labels, key=lambda item: item.maskid)
        ],
        "background": {"gt_pixel_value": 0, "rgb": [0, 0, 0]},
        "painting_order": "ascending z_order (higher on top); maskid 0 paints background",
    }


class SegmentationResults(Exporter):
    name = "segmentation_results"
    title = "Segmentation results (GT_label, Pro_label, Mix_label, masks, class map)"
    description = "the segmentation server's results package: originals, per-class masks, GT/Pro/Mix labels, COCO"
    kinds = frozenset({"area"})
    renders_masks = True
    OPTIONS = {
        "outputs": Option(list, list(OUTPUTS), "which outputs to write", OUTPUTS),
        "mix_opacity": Option(float, 0.3, "opacity of the colour overlay in Mix_label (0-1)", minimum=0.0, maximum=1.0),
        "mix_format": Option(
            str,
            "jpg",
            "image type of Mix_label files: jpg (fast, small) or png (lossless, as the seed)",
            ("jpg", "png"),
        ),
        "folder_names": Option(
            str, "english", "english, or original (the seed's folder names)", ("english", "original")
        ),
    }

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        outputs = set(self.options["outputs"])
        names = FOLDERS[self.options["folder_names"]]
        opacity = float(self.options["mix_opacity"])
        mix_ext = "." + self.options["mix_format"]
        lut = label_map(ctx.labels)
        coco = CocoStream() if "coco" in outputs else None
        categories, category_ids = coco_categories(ctx)
        first = last = None
        image_id = ann_id = 0
        try:
            for frame in frames:
                stem = frame_stem(frame)
                first = first or frame
                last = frame
                original_name = f"{names['originals']}/{stem}{frame.image_ext}"
                if "originals" in outputs and ctx.include_images:
                    writer.write(original_name, frame.image_bytes())
                areas = [s for s in frame.shapes if s.kind == "area" and s.label is not None]
                ctx.skip("no label", sum(1 for s in frame.shapes if s.label is None))
                ctx.skip("not an area", sum(1 for s in frame.shapes if s.label is not None and s.kind != "area"))
                ctx.annotation_count += len(areas)
                if "separate" in outputs:
                    self._separate(frame, areas, stem, names, writer)
                if outputs & {"gt_label", "pro_label", "mix_label"}:
                    gt = paint_gt_label(frame, ctx.labels)
                    if "gt_label" in outputs:
                        writer.write(f"{names['gt_label']}/{stem}.png", encode_image(".png", gt))
                    if outputs & {"pro_label", "mix_label"}:
                        pro = cv2.LUT(cv2.merge([gt, gt, gt]), lut)
                        if "pro_label" in outputs:
                            writer.write(f"{names['pro_label']}/{stem}.png", encode_image(".png", pro))
                        if "mix_label" in outputs:
                            writer.write(
                                f"{names['mix_label']}/{stem}{mix_ext}",
                                encode_image(mix_ext, _mix(frame, gt, pro, opacity)),
                            )
                if coco is not None:
                    image_id += 1
                    coco.add_image(
                        {
                            "id": image_id,
                            "file_name": original_name,
                            "width": frame.width,
                            "height": frame.height,
                            "task_id": frame.task_id,
                            "frame_index": frame.index,
                            "frame_number": frame.number,
                            "timestamp_ms": frame.pts_ms,
                        }
                    )
                    for shape in areas:
                        ann_id += 1
                        coco.add_annotation(
                            coco_annotation(
                                shape,
                                frame,
                                ann_id=ann_id,
                                image_id=image_id,
                                category_id=category_ids[shape.label.id],
                                rle_all=False,
                            )
                        )
                ctx.on_frame(frame)
            if coco is not None:
                with writer.open(names["coco"]) as handle:
                    coco.write_json(
                        handle, {"info": {"description": ctx.project_name}, "licenses": [], "categories": categories}
                    )
            if "class_map" in outputs:
                writer.write(names["class_map"], json.dumps(class_map(ctx), ensure_ascii=False, indent=2).encode())
        finally:
            if coco is not None:
                coco.close()
        ctx.archive_name = archive_name(ctx.project_name, first, last)

    def _separate(self, frame: ExportFrame, areas, stem: str, names: dict, writer) -> None:
        folder = f"{names['separate']}/{stem}{names['separate_suffix']}"
        by_label: dict[int, list] = {}
        for shape in areas:
            by_label.setdefault(shape.label.id, []).append(shape)
        for shapes in sorted(by_label.values(), key=lambda group: (group[0].label.z_order, group[0].label.id)):
            label = shapes[0].label
            canvas = np.zeros((frame.height, frame.width), dtype=np.uint8)
            for shape in shapes:
                shape.draw(canvas, 255)
            # 1-bit PNG: read back as 0/255 (OpenCV) or mode "1" (PIL); encodes several times faster.
            png = cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_BILEVEL, 1])[1].tobytes()
            writer.write(f"{folder}/{stem}_{safe_name(label.name, 'class')}_maskid{label.maskid}.png", png)


def _mix(frame: ExportFrame, gt: np.ndarray, pro: np.ndarray, opacity: float) -> np.ndarray:
    original = cv2.cvtColor(frame.image_rgb(), cv2.COLOR_RGB2BGR)
    blended = cv2.addWeighted(original, 1.0 - opacity, pro, opacity, 0.0)
    return cv2.copyTo(blended, gt, original)  # labelled pixels only (OpenCV: ~80x numpy's where)


def archive_name(project_name: str, first: ExportFrame | None, last: ExportFrame | None) -> str:
    base = safe_name(project_name, "project")
    if first is None or last is None:
        return f"{base}_seg_T_{format_timestamp(0)}-{format_timestamp(0)}_P_0-0.zip"
    return (
        f"{base}_seg_T_{format_timestamp(first.pts_ms)}-{format_timestamp(last.pts_ms)}"
        f"_P_{first.number}-{last.number}.zip"
    )
