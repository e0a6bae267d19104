"""SAM 2.1 configuration as the web process sees it: is it configured, which config, how to
configure it. Importing this never imports torch or sam2 (the web never loads a model)."""

from __future__ import annotations

from django.conf import settings

# The four SAM 2.1 sizes and their configs inside the sam2 package (checkpoint file names
# as published by facebookresearch/sam2).
SAM2_SIZES: dict[str, str] = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}
SAM2_CHECKPOINT_NAMES: dict[str, str] = {
    "tiny": "sam2.1_hiera_tiny.pt",
    "small": "sam2.1_hiera_small.pt",
    "base_plus": "sam2.1_hiera_base_plus.pt",
    "large": "sam2.1_hiera_large.pt",
}

CONFIGURE_HELP = (
    "SAM 2.1 is not configured: set SAM2_CHECKPOINT to a SAM 2.1 checkpoint file (e.g. "
    "sam2.1_hiera_tiny.pt from https://github.com/facebookresearch/sam2) on the ML worker and "
    "SAM2_CONFIG to the matching config (tiny, small, base_plus or large, or a path such as "
    "configs/sam2.1/sam2.1_hiera_t.yaml), then restart the ML worker. See docs/ml.md."
)


class SamUnavailable(Exception):
    """SAM cannot run here: not configured, or the weights could not be loaded."""


def sam_configured() -> bool:
    """True when a checkpoint is configured (the web process checks only this, never loads)."""
    return bool(settings.SAM2_CHECKPOINT)


def config_name(value: str | None = None) -> str:
    """``SAM2_CONFIG`` as the sam2 package's hydra config name (size aliases accepted)."""
    value = (value or settings.SAM2_CONFIG or "tiny").strip()
    if value in SAM2_SIZES:
        return SAM2_SIZES[value]
    if not value.endswith(".yaml"):
        value += ".yaml"
    if "/" not in value:
        value = f"configs/sam2.1/{value}"
    return value
