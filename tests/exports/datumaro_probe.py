"""Run inside the Datumaro venv: import a dataset with Datumaro and print what it found.

Usage: python datumaro_probe.py FORMAT PATH  → JSON on stdout.
"""

import json
import sys

from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset


def main() -> None:
    fmt, path = sys.argv[1], sys.argv[2]
    dataset = Dataset.import_from(path, fmt)
    labels = dataset.categories()[AnnotationType.label]
    items = []
    for item in dataset:
        anns = []
        for ann in item.annotations:
            row = {"type": ann.type.name, "label": labels[ann.label].name if ann.label is not None else None}
            if ann.type.name == "bbox":
                row["bbox"] = [round(v, 3) for v in ann.get_bbox()]
            if ann.type.name in ("polygon", "points"):
                row["points"] = [round(v, 3) for v in ann.points]
            if ann.type.name == "mask":
                row["area"] = int(ann.image.sum()) if ann.image is not None else 0
            anns.append(row)
        size = item.media.size if item.media is not None and item.media.has_size else None
        items.append({"id": item.id, "subset": item.subset, "size": list(size) if size else None, "anns": anns})
    print(json.dumps({"labels": [label.name for label in labels], "items": items}))


if __name__ == "__main__":
    main()
