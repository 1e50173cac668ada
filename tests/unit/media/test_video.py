"""Frame sampling with PyAV on generated videos: scene cuts, uniform, fps, keyframes, rotation, VFR, size.

The 1-hour video (memory and time follow the frames taken) is in tests/e2e/video/test_long.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.errors import InputError
from edge.media import video
from tests.helpers import video as vh

CUTS = [7.3, 19.1, 30.0, 41.7, 52.2]


def sample(path: Path, max_side: int = 640, **kwargs) -> tuple[list[video.Frame], video.Report]:
    report = video.Report(kwargs.get("mode", "uniform"))
    frames = list(video.sample(path, video.Sampling(**kwargs), max_side, report))
    return frames, report


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """60 s, 10 fps, five hard cuts at known times, a moving square inside each shot."""
    return vh.write(tmp_path_factory.mktemp("video") / "shots.mp4", vh.Clip(60, cuts=CUTS))


@pytest.mark.parametrize("scan", ["full", "keyframes"])
def test_scene_sampling_takes_one_frame_just_after_each_cut(shots, scan):
    frames, report = sample(shots, mode="scene", max=16, scene_scan=scan)
    times = [frame.t for frame in frames]
    print(f"\nscene ({scan} scan) frames at {times}; {report.decoded} frames decoded, cuts {report.cuts}")
    assert times[0] == 0.0  # the first shot
    assert len(times) == len(CUTS) + 1  # one per shot, none for the motion inside a shot
    for cut, t in zip(CUTS, times[1:], strict=True):
        assert cut <= t <= cut + 0.5
    colours = [tuple(np.asarray(frame.image)[40, 100]) for frame in frames]
    assert len(set(colours)) == len(colours)  # each frame shows a different shot


def test_a_keyframe_guided_scene_scan_decodes_only_the_gops_that_change(tmp_path):
    # I-frames every 5 s; one cut inside a GOP, one on a keyframe (the end of the span looked at)
    path = vh.write(tmp_path / "long-shots.mp4", vh.Clip(60, gop=50, cuts=[31.3, 45.0]))
    full, full_report = sample(path, mode="scene", max=16)
    guided, report = sample(path, mode="scene", max=16, scene_scan="keyframes")
    print(f"\nfull scan: {full_report.decoded} frames decoded; keyframe-guided: {report.decoded}")
    assert [frame.t for frame in full] == [0.0, 31.5, 45.0]
    assert [frame.t for frame in guided] == [0.0, 31.5, 45.0]
    assert report.decoded < 250 < full_report.decoded  # 12 keyframes, the two GOPs with cuts, the last GOP


def test_scene_sampling_keeps_the_strongest_cuts_within_max(shots):
    frames, report = sample(shots, mode="scene", max=3)
    times = [frame.t for frame in frames]
    assert len(times) == 3 and times[0] == 0.0
    assert all(any(cut <= t <= cut + 0.5 for cut in CUTS) for t in times[1:])
    assert report.notes and report.notes[0]["code"] == "frames_capped"


def test_uniform_sampling_gives_the_exact_count_at_the_span_centres(shots):
    frames, report = sample(shots, mode="uniform", max=12)
    assert [frame.t for frame in frames] == pytest.approx([2.5 + 5 * i for i in range(12)], abs=1e-6)
    assert report.requested == 12 and not report.notes


def test_fps_sampling_gives_one_frame_per_period(shots):
    frames, report = sample(shots, mode="fps", fps=0.25, max=64)
    assert [frame.t for frame in frames] == pytest.approx([4.0 * i for i in range(15)], abs=1e-6)
    assert not report.notes


def test_fps_sampling_over_max_spreads_the_frames_and_says_so(shots):
    frames, report = sample(shots, mode="fps", fps=2, max=10)
    assert [frame.t for frame in frames] == pytest.approx([6.0 * i for i in range(10)], abs=1e-6)
    assert report.notes[0]["code"] == "frames_capped" and "120 frames" in report.notes[0]["message"]


def test_keyframes_sampling_uses_the_streams_own_i_frames(tmp_path):
    path = vh.write(tmp_path / "gop.mp4", vh.Clip(20, gop=40))  # an I-frame every 4 s
    frames, report = sample(path, mode="keyframes", max=16)
    assert [frame.t for frame in frames] == pytest.approx([0, 4, 8, 12, 16], abs=1e-6)
    assert all(frame.keyframe for frame in frames)
    assert report.decoded <= len(frames) * 2  # each one decoded right after its seek


def test_snap_moves_targets_back_to_a_near_keyframe_and_decodes_only_those(tmp_path):
    path = vh.write(tmp_path / "gop.mp4", vh.Clip(20, gop=40))  # an I-frame every 4 s
    exact, exact_report = sample(path, mode="uniform", max=5)  # targets 2, 6, 10, 14, 18
    snapped, report = sample(path, mode="uniform", max=5, snap=2.0)
    assert [frame.t for frame in exact] == pytest.approx([2, 6, 10, 14, 18], abs=1e-6)
    assert [frame.t for frame in snapped] == pytest.approx([0, 4, 8, 12, 16], abs=1e-6)
    print(f"\nexact: {exact_report.decoded} frames decoded; snapped to keyframes: {report.decoded}")
    assert report.decoded <= 5 * 2 < exact_report.decoded


def test_frames_are_scaled_within_max_side_and_keep_the_aspect(tmp_path):
    path = vh.write(tmp_path / "wide.mp4", vh.Clip(2, size=(640, 360)))
    frames, _ = sample(path, max_side=320, mode="uniform", max=2)
    assert [frame.image.size for frame in frames] == [(320, 180), (320, 180)]
    assert all(frame.image.mode == "RGB" for frame in frames)


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_a_rotated_phone_video_arrives_upright(tmp_path, rotation):
    """Stored turned, with a display matrix: the frame is turned back (white half on top)."""
    upright = vh.Clip(2, size=(96, 160), motion=False)  # portrait: top half white, bottom half black
    stored = _turned_clip(upright, rotation)
    path = vh.write(tmp_path / f"phone{rotation}.mp4", stored)
    frames, _ = sample(path, mode="uniform", max=1)
    image = np.asarray(frames[0].image.convert("L"), dtype=float)
    assert frames[0].image.size == (96, 160)
    assert image[:70].mean() > 200 and image[90:].mean() < 50
    assert frames[0].rotation == rotation % 360


def _turned_clip(upright: vh.Clip, rotation: int) -> vh.Clip:
    from PIL import Image

    width, height = upright.size
    picture = np.zeros((height, width, 3), np.uint8)
    picture[: height // 2] = 255
    turned = Image.fromarray(picture).rotate(-rotation, expand=True)  # what the camera stored
    clip = vh.Clip(upright.seconds, size=turned.size, rotation=rotation, motion=False)
    vh._cache[(0, None, turned.size)] = np.asarray(turned)
    return clip


def test_variable_frame_rate_timestamps_come_from_the_stream(tmp_path):
    times = [0.0, 0.1, 0.2, 1.5, 1.6, 4.0, 4.05, 4.1, 7.0, 9.9]
    path = vh.write(tmp_path / "vfr.mkv", vh.Clip(10, times=times, cuts=[1.5, 4.0, 7.0]))
    frames, _ = sample(path, mode="uniform", max=5)  # targets 1, 3, 5, 7, 9
    assert [frame.t for frame in frames] == pytest.approx([1.5, 4.0, 7.0, 9.9], abs=1e-3)  # 5 s and 7 s: one frame
    shots, _ = sample(path, mode="scene", max=8)
    assert [frame.t for frame in shots] == pytest.approx([0.0, 1.5, 4.0, 7.0], abs=1e-3)


def test_a_16k_by_16k_stream_is_refused_before_decoding(tmp_path):
    path = vh.write_huge_avi(tmp_path / "huge.avi", 16000, 16000)
    with pytest.raises(InputError) as caught:
        video.probe(path)
    assert caught.value.code == "too_large" and "16000x16000" in caught.value.message


def test_audio_only_and_empty_streams_are_clear_errors(tmp_path):
    from tests.helpers import audio as ah

    with pytest.raises(video.NoVideo, match="no video stream"):
        video.probe(vh.write_audio_only_mp4(tmp_path / "sound.mp4", ah.silence(1.0)))
    empty = vh.write_empty_video(tmp_path / "empty.mkv")
    assert video.probe(empty).width == 64  # a video stream is declared...
    with pytest.raises(InputError, match="no video frame could be decoded") as caught:
        list(video.sample(empty, video.Sampling(), 640))  # ...and holds nothing
    assert caught.value.code == "no_frames"
