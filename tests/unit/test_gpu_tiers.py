"""Tiers share the GPU with Whisper: every tier attempt is admitted for its own model.

A route `tiers = ["ocr-small", "vision"]` on a simulated 16 GB GPU (DeclaredDevice), Whisper
resident, the vision model declaring 11.6 GB and `workers = 1`. Four files escalate at once
through the real pipeline and tier loop; the engines are probes that record their lease and the
scheduler's accounting during each call.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from edge.configure import parse_config
from edge.gpu import DeclaredDevice, Scheduler
from edge.pipeline import Pipeline, stat_job
from tests.helpers import wait_for
from tests.helpers.gpu_probes import LeaseProbe, TierProbe

PROBE = "tests.helpers.gpu_probes:TierProbe"


def setup(tmp_path: Path, total_mb: int) -> tuple[Pipeline, Scheduler, list[Path]]:
    TierProbe.reset()
    config = parse_config({
        "models": {"ocr-small": {"engine": PROBE, "workers": 4},
                   "vision": {"engine": PROBE, "vram_mb": 11600, "workers": 1},
                   "asr": {"engine": "tests.helpers.gpu_probes:LeaseProbe", "vram_mb": 1000}},
        "routes": [{"media": ["image"], "task": "extract", "schema": "claim_form", "tiers": ["ocr-small", "vision"]}],
    })
    scheduler = Scheduler(DeclaredDevice(total_mb), reserve_mb=1024)
    TierProbe.scheduler = scheduler
    pipeline = Pipeline(config, admit=scheduler.run)
    files = []
    for index in range(4):
        path = tmp_path / f"claim-{index}.png"
        path.write_bytes(_png())
        files.append(path)
    return pipeline, scheduler, files


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(out, "PNG")
    return out.getvalue()


@contextmanager
def whisper_resident(pipeline: Pipeline, scheduler: Scheduler, busy: bool = False):
    """Whisper admitted on the GPU: idle (admitted once, then released) or busy (held)."""
    engine = pipeline.engines.get("asr")
    if not busy:
        scheduler.run("asr", engine, lambda lease: None)
        yield
        return
    release, inside = threading.Event(), threading.Event()
    thread = threading.Thread(target=scheduler.run, args=("asr", engine, lambda lease: (inside.set(), release.wait(30))))
    thread.start()
    inside.wait(10)
    try:
        yield release
    finally:
        release.set()
        thread.join(10)


def run_all(pipeline: Pipeline, files: list[Path]) -> tuple[list[dict], list[threading.Thread]]:
    docs: list[dict] = []
    threads = [threading.Thread(target=lambda p=p: docs.append(pipeline.run(stat_job(p, p.parent)).doc)) for p in files]
    for thread in threads:
        thread.start()
    return docs, threads


def test_four_escalations_take_leases_one_at_a_time_within_the_budget(tmp_path):
    pipeline, scheduler, files = setup(tmp_path, total_mb=16384)
    with whisper_resident(pipeline, scheduler):
        assert scheduler.resident() == {"asr": 1000}
        TierProbe.held.add("vision")
        docs, threads = run_all(pipeline, files)
        # every first tier answered and escalated; one vision call is inside, three wait for its slot
        wait_for(lambda: TierProbe.calls.get("ocr-small") == 4 and TierProbe.inside.get("vision") == 1, 30,
                 what="four escalations, one inside the vision model")
        assert TierProbe.inside["vision"] == 1 and TierProbe.calls["vision"] == 1
        TierProbe.gate.set()
        for thread in threads:
            thread.join(30)
    assert len(docs) == 4 and all([t["tier"] for t in doc["tiers"]] == ["ocr-small", "vision"] for doc in docs)
    vision = [lease for lease in TierProbe.leases if lease[0] == "vision"]
    assert len(vision) == 4 and all(device == "cuda" for _, device, _ in vision)  # each escalation took a lease
    assert TierProbe.most_inside["vision"] == 1  # workers = 1 under four concurrent escalations
    assert all(used <= scheduler.budget_mb for _, _, used in TierProbe.leases)
    assert max(used for _, _, used in vision) == 12600  # Whisper (1 GB) and the vision model, counted together
    assert scheduler.resident() == {"asr": 1000, "vision": 11600}


def test_no_room_next_to_whisper_evicts_it_when_idle(tmp_path):
    pipeline, scheduler, files = setup(tmp_path, total_mb=12800)  # budget 11776: not both
    LeaseProbe.reset()
    with whisper_resident(pipeline, scheduler):
        doc = pipeline.run(stat_job(files[0], tmp_path)).doc
    assert [t["tier"] for t in doc["tiers"]] == ["ocr-small", "vision"]
    assert LeaseProbe.evicted == ["asr"] and scheduler.resident() == {"vision": 11600}
    assert all(used <= scheduler.budget_mb for _, _, used in TierProbe.leases)


def test_no_room_next_to_a_busy_whisper_makes_the_escalation_wait(tmp_path):
    pipeline, scheduler, files = setup(tmp_path, total_mb=12800)
    with whisper_resident(pipeline, scheduler, busy=True) as release:
        docs, threads = run_all(pipeline, files[:1])
        wait_for(lambda: TierProbe.calls.get("ocr-small") == 1 and scheduler.waiting() == 1, 30,
                 what="the escalation waiting for room")
        assert TierProbe.calls.get("vision", 0) == 0  # it waits: Whisper is working
        release.set()
        threads[0].join(30)
    assert TierProbe.calls["vision"] == 1 and [t["tier"] for t in docs[0]["tiers"]] == ["ocr-small", "vision"]
    assert all(used <= scheduler.budget_mb for _, _, used in TierProbe.leases)
