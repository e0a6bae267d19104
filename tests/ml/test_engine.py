"""Engine pieces that need no model: the lazy frame sequence the video predictor reads, the
bounded tracking memory, device choice, and the SAM config names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.engine.devices import autocast, resolve_device
from ml.engine.sam import FrameTensors, _forget_far_frames
from ml.sam_config import SAM2_SIZES, config_name


def test_frames_are_read_in_sequential_chunks_forward_and_backward_and_only_one_chunk_is_held():
    reads: list[tuple[int, int]] = []

    def read_run(start, stop):
        reads.append((start, stop))
        for index in range(start, stop):
            yield index, np.full((6, 8, 3), index, dtype=np.uint8)

    frames = FrameTensors(read_run, count=40, image_size=16, chunk=8)
    assert len(frames) == 40
    assert frames[20].shape == (3, 16, 16)  # the reference frame
    for index in range(21, 30):  # forward
        frames[index]
    for index in range(19, 9, -1):  # then backward
        frames[index]
    assert reads == [(20, 28), (28, 36), (12, 20), (4, 12)]
    assert len(frames._pictures) <= 8
    # normalised like sam2's loader: (x / 255 - mean) / std
    expected = (10 / 255 - 0.485) / 0.229
    assert frames[10][0, 0, 0].item() == pytest.approx(expected, abs=1e-5)
    with pytest.raises(IndexError):
        frames[40]


def test_tracking_outputs_beyond_the_memory_reach_are_dropped_except_near_the_reference():
    outputs = {t: object() for t in range(0, 60)}
    state = {"output_dict_per_obj": {0: {"non_cond_frame_outputs": outputs, "cond_frame_outputs": {10: 1}}}}
    _forget_far_frames(state, current=50, reference=10, keep=8)
    assert sorted(outputs) == [*range(2, 19), *range(42, 59)]
    assert state["output_dict_per_obj"][0]["cond_frame_outputs"] == {10: 1}


def test_device_auto_and_precision(settings):
    settings.ML_DEVICE = "auto"
    assert resolve_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    settings.ML_DEVICE = "cpu"
    assert resolve_device() == torch.device("cpu")
    with autocast(torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")  # bfloat16 autocast is for CUDA only


def test_config_names_accept_the_four_sizes(settings):
    assert config_name("large") == "configs/sam2.1/sam2.1_hiera_l.yaml"
    assert config_name("sam2.1_hiera_s") == "configs/sam2.1/sam2.1_hiera_s.yaml"
    assert config_name("configs/sam2.1/sam2.1_hiera_b+.yaml") == SAM2_SIZES["base_plus"]
    settings.SAM2_CONFIG = "tiny"
    assert config_name() == SAM2_SIZES["tiny"]
