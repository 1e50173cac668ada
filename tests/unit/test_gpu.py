"""The GPU scheduler against a simulated device (no GPU on the test machines).

The device is `DeclaredDevice` (declared VRAM); the models are engine doubles
with declared footprints that record their evictions, as faster-whisper's
unload, Ollama's keep_alive 0 and llama.cpp's free would be called.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from edge import gpu
from edge.configure import parse_config
from edge.errors import EngineUnavailable, OutOfMemory, TransientError
from edge.gpu import DeclaredDevice, Scheduler
from edge.metrics import Metrics
from tests.helpers import wait_for


class Model:
    """An engine double: a declared footprint; evict() frees it."""

    def __init__(self, name: str, vram_mb: int, fallback: str = "wait", timeout: float = 30.0):
        self.name = name
        self.spec = SimpleNamespace(vram_mb=vram_mb, fallback=fallback, timeout=timeout)
        self.evictions = 0

    def evict(self) -> None:
        self.evictions += 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def scheduler(total_mb: int = 16000, reserve_mb: int = 1000, **kwargs) -> Scheduler:
    return Scheduler(DeclaredDevice(total_mb), reserve_mb=reserve_mb, clock=Clock(), **kwargs)


class Job(threading.Thread):
    """A job that holds its admission until released; records where it ran."""

    def __init__(self, sched: Scheduler, model: Model):
        super().__init__(daemon=True)
        self.sched, self.model = sched, model
        self.inside = threading.Event()
        self.release = threading.Event()
        self.lease: gpu.Lease | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.sched.admit(self.model.name, self.model) as lease:
                self.lease = lease
                self.inside.set()
                self.release.wait(30)
        except BaseException as exc:  # reported to the test
            self.error = exc

    def finish(self) -> None:
        self.release.set()
        self.join(30)
        assert not self.is_alive()


def test_budget_defaults_to_total_minus_reserve():
    assert scheduler(16000, 1000).budget_mb == 15000
    assert Scheduler(DeclaredDevice(16000), budget_mb=9000).budget_mb == 9000


def test_two_models_that_fit_run_at_the_same_time():
    sched = scheduler()  # budget 15000
    asr, vision = Model("asr", 3000), Model("vision", 11600)
    audio_job, image_job = Job(sched, asr), Job(sched, vision)
    audio_job.start()
    wait_for(audio_job.inside.is_set, 10, what="audio job admitted")
    image_job.start()
    wait_for(image_job.inside.is_set, 10, what="image job admitted while the audio job runs")
    assert audio_job.lease.device == image_job.lease.device == "cuda"
    assert sched.resident() == {"asr": 3000, "vision": 11600}
    audio_job.finish(), image_job.finish()
    assert asr.evictions == vision.evictions == 0


def test_two_models_that_do_not_fit_are_serialised():
    sched = scheduler()  # budget 15000
    vision, big_asr = Model("vision", 11600), Model("asr", 6000)
    first, second = Job(sched, vision), Job(sched, big_asr)
    first.start()
    wait_for(first.inside.is_set, 10, what="first job admitted")
    second.start()
    wait_for(lambda: sched.waiting() == 1, 10, what="second job waiting for room")
    assert not second.inside.is_set()
    assert vision.evictions == 0  # busy models are never evicted
    first.finish()
    wait_for(second.inside.is_set, 10, what="second job admitted after the first ended")
    assert vision.evictions == 1  # now idle, it made room
    assert sched.resident() == {"asr": 6000}
    second.finish()
    assert first.error is None and second.error is None


def test_least_recently_used_idle_model_is_evicted():
    sched = scheduler()  # budget 15000
    a, b, c = Model("a", 6000), Model("b", 6000), Model("c", 6000)
    for model in (a, b):
        with sched.admit(model.name, model):
            pass
    with sched.admit("a", a):  # a is now more recent than b
        pass
    with sched.admit("c", c) as lease:
        assert lease.device == "cuda"
    assert (a.evictions, b.evictions, c.evictions) == (0, 1, 0)
    assert set(sched.resident()) == {"a", "c"}


def test_no_eviction_when_it_would_not_make_room():
    sched = scheduler()
    busy, idle, big = Model("busy", 10000), Model("idle", 2000), Model("big", 8000, timeout=0.2)
    with sched.admit("idle", idle):
        pass
    holder = Job(sched, busy)
    holder.start()
    wait_for(holder.inside.is_set, 10, what="busy model admitted")
    with pytest.raises(TransientError) as caught:
        with sched.admit("big", big):
            pass
    assert caught.value.code == "gpu_busy"
    assert idle.evictions == 0  # evicting it could not have freed 8000 MB
    holder.finish()


def test_out_of_memory_evicts_then_retries_once_with_less():
    sched = scheduler()
    other, vision = Model("other", 2000), Model("vision", 11600)
    with sched.admit("other", other):
        pass
    calls: list[gpu.Lease] = []

    def infer(lease: gpu.Lease) -> str:
        calls.append(lease)
        assert gpu.current_lease() is lease
        if not lease.reduced:
            raise OutOfMemory("CUDA out of memory")
        return "answer"

    assert sched.run("vision", vision, infer) == "answer"
    assert [lease.reduced for lease in calls] == [False, True]
    assert other.evictions == 1
    assert gpu.current_lease() is None


def test_out_of_memory_twice_is_raised_as_transient():
    sched = scheduler()
    vision = Model("vision", 11600)
    attempts = []

    def always_oom(lease: gpu.Lease) -> None:
        attempts.append(lease.reduced)
        raise OutOfMemory("CUDA out of memory")

    with pytest.raises(OutOfMemory):
        sched.run("vision", vision, always_oom)
    assert attempts == [False, True]


def test_fallback_cpu_runs_at_once_on_the_cpu():
    sched = scheduler()
    vision, asr = Model("vision", 11600), Model("asr", 6000, fallback="cpu")
    holder = Job(sched, vision)
    holder.start()
    wait_for(holder.inside.is_set, 10, what="vision admitted")
    with sched.admit("asr", asr) as lease:
        assert lease.device == "cpu"
        assert gpu.current_lease().device == "cpu"
    assert "asr" not in sched.resident()
    assert vision.evictions == 0
    holder.finish()


def test_model_larger_than_the_budget():
    sched = scheduler(8000, 1000)
    with sched.admit("huge", Model("huge", 11600, fallback="cpu")) as lease:
        assert lease.device == "cpu"
    with pytest.raises(EngineUnavailable) as caught:
        with sched.admit("huge", Model("huge", 11600)):
            pass
    assert "7000 MB" in str(caught.value) and "fallback" in caught.value.hint


def test_measured_footprint_replaces_the_declared_one():
    sched = scheduler()

    class Ollama(Model):
        size_vram_mb = 11900

        def vram_used_mb(self) -> int:  # what /api/ps size_vram says
            return self.size_vram_mb

    vision = Ollama("vision", 11600)
    with sched.admit("vision", vision):
        pass
    assert sched.resident() == {"vision": 11900}
    vision.size_vram_mb = 0  # keep_alive ran out: Ollama unloaded it
    with sched.admit("vision", vision):
        pass
    assert sched.resident() == {}


def test_models_without_vram_or_without_gpu_pass_through():
    ocr = Model("ocr", 0)
    with scheduler().admit("ocr", ocr) as lease:
        assert lease.device == "auto"
    no_gpu = Scheduler(None)
    assert not no_gpu.enabled
    with no_gpu.admit("vision", Model("vision", 11600)) as lease:
        assert lease.device == "auto"
    assert no_gpu.resident() == {}


def test_gpu_memory_gauge_follows_the_resident_models():
    metrics = Metrics()
    sched = scheduler(metrics=metrics)
    with sched.admit("asr", Model("asr", 3000)):
        assert metrics.snapshot()["gpu_memory_mb"] == 3000
    sched.evict_idle()
    assert metrics.snapshot()["gpu_memory_mb"] == 0


def test_discovery_on_this_machine_is_consistent():
    found = gpu.discover()
    assert found.present == bool(found.gpus or found.ctranslate2_cuda or found.llama_gpu_offload)
    assert all(info.total_mb >= info.free_mb >= 0 for info in found.gpus)
    config = parse_config({"edge": {"gpu": {"reserve_mb": 512}},
                           "models": {"asr": {"engine": "faster-whisper", "vram_mb": 1000}}})
    sched = Scheduler.from_config(config)
    if not found.present:
        assert not sched.enabled  # CPU machine: the scheduler is a no-op
    elif found.gpus:
        assert sched.budget_mb == found.gpus[0].total_mb - 512


def test_declared_budget_without_nvml_uses_a_declared_device(monkeypatch):
    monkeypatch.setattr(gpu, "discover", lambda: gpu.Discovery(ctranslate2_cuda=1))
    config = parse_config({"edge": {"gpu": {"budget_mb": 12000}},
                           "models": {"asr": {"engine": "faster-whisper", "vram_mb": 1000}}})
    sched = Scheduler.from_config(config)
    assert sched.enabled and sched.budget_mb == 12000


def test_no_model_wants_the_gpu_no_probe(monkeypatch):
    monkeypatch.setattr(gpu, "discover", lambda: pytest.fail("must not probe the GPU libraries"))
    assert not Scheduler.from_config(parse_config({"models": {"asr": {"engine": "faster-whisper"}}})).enabled


class FakePipeline:
    """Shaped like Pipeline for the lane: config.models, engines.get(name), run(job)."""

    def __init__(self, answer, **models: Model):
        self.models, self.answer = models, answer
        self.config = SimpleNamespace(models={name: m.spec for name, m in models.items()})
        self.engines = SimpleNamespace(get=lambda name: self.models[name])

    def run(self, job, routed=None):
        return self.answer(gpu.current_lease())


def test_admitted_pipeline_retries_out_of_memory_once_reduced():
    sched = scheduler()
    seen = []

    def answer(lease):
        seen.append((lease.device, lease.reduced))
        if not lease.reduced:
            raise OutOfMemory("CUDA out of memory")
        return "outcome"

    pipeline = FakePipeline(answer, vision=Model("vision", 11600), asr=Model("asr", 3000))
    with sched.admit("asr", pipeline.models["asr"]):
        pass
    admitted = sched.pipeline_for("vision", pipeline)
    assert admitted.run(SimpleNamespace()) == "outcome"
    assert seen == [("cuda", False), ("cuda", True)]
    assert pipeline.models["asr"].evictions == 1
    assert admitted.config is pipeline.config  # everything but run() is the pipeline's


def test_admission_errors_are_classified_by_the_runner():
    """A refusal at admission is an error of the job (paused), not a crash of the lane."""
    from edge.runner import execute

    sched = scheduler(8000, 1000)
    pipeline = FakePipeline(lambda lease: pytest.fail("must not run"), vision=Model("vision", 11600))
    verdict = execute(sched.pipeline_for("vision", pipeline), SimpleNamespace(attempts=0), max_attempts=5)
    assert verdict.kind == "paused" and verdict.error.code == "gpu_too_small"


def test_pipeline_for_passes_through_models_without_vram():
    pipeline = FakePipeline(lambda lease: "outcome", ocr=Model("ocr", 0))
    assert scheduler().pipeline_for("ocr", pipeline) is pipeline
    assert scheduler().pipeline_for("metadata", pipeline) is pipeline  # a lane that is not a model
    assert Scheduler(None).pipeline_for("ocr", pipeline) is pipeline
