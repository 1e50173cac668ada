"""Operations overhead: GPU admission, metrics and sd_notify per job, `edge doctor`, and offline mode.

Each figure is printed with its ratio against the raw thing measured in the
same run: the metadata engine called bare vs under the GPU scheduler (on a
simulated device: no GPU here) and with the metrics and STATUS= a daemon job
adds; `edge process` on speech outside vs inside a network namespace with no
route out (unshare -n, needs root).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.engines.metadata import MetadataEngine  # noqa: E402
from edge.gpu import DeclaredDevice, Scheduler  # noqa: E402
from edge.metrics import Metrics  # noqa: E402
from edge.service import Notifier  # noqa: E402

JOBS = 2000


def per_call_us(func, n: int = JOBS) -> float:
    started = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - started) / n * 1e6


def job_overheads(folder: Path) -> None:
    image = folder / "pixel.jpg"
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(image)
    engine = MetadataEngine("vision", SimpleNamespace(vram_mb=11600, fallback="wait", timeout=30), None)
    sched = Scheduler(DeclaredDevice(16000), reserve_mb=1000)
    metrics = Metrics()
    sock_path = folder / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(sock_path))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    notifier = Notifier({"NOTIFY_SOCKET": str(sock_path)})

    def raw():
        engine.describe(image, "image")

    def admitted():
        with sched.admit("vision", engine):
            engine.describe(image, "image")

    def daemon_job():
        admitted()
        metrics.job_finished("documents", "ollama", "done", {"prepare": 1, "inference": 2, "total": 3})
        notifier.status("3 queued, 1 in flight, processing pixel.jpg")
        listener.recv(4096)

    raw_us = statistics.median(per_call_us(raw) for _ in range(3))
    admit_us = statistics.median(per_call_us(admitted) for _ in range(3))
    job_us = statistics.median(per_call_us(daemon_job) for _ in range(3))
    print(f"metadata engine, bare:                       {raw_us:8.1f} us/file  (1.00x)")
    print(f"  + GPU admission (simulated device):        {admit_us:8.1f} us/file  ({admit_us / raw_us:.2f}x)")
    print(f"  + metrics + STATUS= (a daemon job's share): {job_us:8.1f} us/file  ({job_us / raw_us:.2f}x)")
    listener.close()


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def doctor_time(folder: Path, env: dict[str, str]) -> None:
    config = folder / "models.toml"
    config.write_text('[models.asr]\nengine = "faster-whisper"\nmodel = "embedded:tiny.en"\n')
    seconds = statistics.median(run([sys.executable, "-m", "edge", "doctor", "--config", str(config),
                                     "--state-dir", str(folder / "state")], env) for _ in range(3))
    print(f"edge doctor (one embedded model):            {seconds:8.2f} s")


def offline_ratio(folder: Path, env: dict[str, str]) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("espeak-ng"):
        print("offline ratio: skipped (needs root for unshare -n, and espeak-ng)")
        return
    wav = folder / "memo.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "The pump station was inspected and no leaks were found."],
                   check=True, capture_output=True)
    config = folder / "asr.toml"
    config.write_text('[models.asr]\nengine = "faster-whisper"\nmodel = "embedded:tiny.en"\n\n'
                      '[[routes]]\nmedia = ["audio"]\ntask = "transcribe"\nmodel = "asr"\n')
    cmd = [sys.executable, "-m", "edge", "process", str(wav), "--stdout", "--config", str(config)]
    netns = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    online = statistics.median(run(cmd, env) for _ in range(3))
    offline = statistics.median(run([*netns, *cmd], env) for _ in range(3))
    print(f"edge process speech (tiny.en), with network:  {online:8.2f} s  (1.00x)")
    print(f"  inside a netns with no route out:           {offline:8.2f} s  ({offline / online:.2f}x)")


def main() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    print(f"machine: {os.cpu_count()} cores, {sys.platform}; no GPU: the scheduler runs on a simulated device")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        folder = Path(tmp)
        job_overheads(folder)
        doctor_time(folder, env)
        offline_ratio(folder, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
