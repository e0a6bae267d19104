"""Tiny TorchScript models the tests build themselves (scripted 1x1-conv nets), one per kind,
plus one that breaks the detection contract. They "see" bright pixels, so their output on
``tests.ml.conftest.scene`` pictures is known: the bright square, as a box, a region or a class.
"""

from __future__ import annotations

import io
from typing import Dict  # noqa: UP035 - TorchScript needs typing.Dict in signatures

import torch
from torch import nn

# Every model here: index 0 "person", index 1 "vehicle" (alias "car", a project label).
LABEL_MAP = [
    {"index": 0, "name": "person", "aliases": ["pedestrian"]},
    {"index": 1, "name": "vehicle", "aliases": ["car"]},
]


class _Brightness(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, kernel_size=1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0 / 3.0)


class BrightBoxDetector(_Brightness):
    """One box around the bright pixels (label 1 when red beats blue there, else 0)."""

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:  # noqa: UP006
        brightness = self.conv(x)[0, 0]
        found = torch.nonzero(brightness > 0.5)
        if found.shape[0] == 0:
            return {
                "boxes": torch.zeros((0, 4)),
                "scores": torch.zeros((0,)),
                "labels": torch.zeros((0,), dtype=torch.int64),
            }
        y0 = found[:, 0].min().float()
        y1 = found[:, 0].max().float() + 1.0
        x0 = found[:, 1].min().float()
        x1 = found[:, 1].max().float() + 1.0
        inside = brightness > 0.5
        red = x[0, 0][inside].mean()
        blue = x[0, 2][inside].mean()
        label = torch.where(red > blue, torch.tensor(1), torch.tensor(0)).reshape(1)
        score = brightness[inside].mean().clamp(0.0, 1.0).reshape(1)
        box = torch.stack([x0, y0, x1, y1]).reshape(1, 4)
        return {"boxes": box, "scores": score, "labels": label.to(torch.int64)}


class BrightSegmenter(_Brightness):
    """Per-pixel logits [1, 2, H, W]: class 1 where bright."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        brightness = self.conv(x)
        return torch.cat([torch.zeros_like(brightness), (brightness - 0.5) * 20.0], dim=1)


class BrightClassifier(_Brightness):
    """Logits [1, 2]: "vehicle" when the picture holds many bright pixels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        share = (self.conv(x) > 0.5).float().mean()
        return torch.stack([0.05 - share, share - 0.05]).reshape(1, 2) * 100.0


class BrokenDetector(nn.Module):
    """Returns class scores where a detector must return boxes, scores and labels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def scripted(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


def all_models() -> dict[str, bytes]:
    return {
        "detection": scripted(BrightBoxDetector()),
        "segmentation": scripted(BrightSegmenter()),
        "classification": scripted(BrightClassifier()),
        "broken": scripted(BrokenDetector()),
    }
