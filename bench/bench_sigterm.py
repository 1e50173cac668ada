"""How soon after launch a SIGTERM makes `edge watch` exit 0, next to a program that cannot be faster.

    python bench/bench_sigterm.py [--reps 10]

For each delay (0 to 80 ms after Popen returns, that is after exec), `edge watch`
is launched through its console script and sent SIGTERM; the exit codes are
counted (0: the handler ran; -15: the signal ended the process before any of
edge's code could run). The same is done with a static C program whose first
statement installs a SIGTERM handler (built with the system's C compiler when
there is one): it is the floor for any program, since a signal that arrives
before a process runs its first instruction takes the default action.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

DELAYS_MS = (0, 1, 5, 10, 20, 30, 50, 80)
C_PROGRAM = r"""
#include <signal.h>
#include <unistd.h>
static void on_term(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, on_term); sleep(5); return 3; }
"""


def codes(command: list[str], delay_ms: int, reps: int) -> Counter[int]:
    seen: Counter[int] = Counter()
    for _ in range(reps):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if delay_ms:
            time.sleep(delay_ms / 1000)  # the delay is what is measured
        process.send_signal(signal.SIGTERM)
        seen[process.wait(30)] += 1
    return seen


def c_floor(folder: Path) -> list[str] | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, binary = folder / "first.c", folder / "first"
    source.write_text(C_PROGRAM)
    built = subprocess.run([compiler, "-O2", "-static", "-o", str(binary), str(source)], capture_output=True)
    return [str(binary)] if built.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="edge-sigterm-"))
    config = folder / "models.toml"
    config.write_text('[models.x]\nengine = "metadata"\n\n[[routes]]\nmedia = ["image"]\ntask = "metadata"\nmodel = "x"\n')
    script = Path(sys.executable).with_name("edge")
    edge = [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "edge"]),
            "watch", str(folder / "inbox"), "--config", str(config), "--state-dir", str(folder / "state")]
    (folder / "inbox").mkdir()
    floor = c_floor(folder)
    print(f"{'delay':>6}  {'edge watch':<24}  {'C, handler first' if floor else '(no C compiler)'}")
    for delay in DELAYS_MS:
        ours = codes(edge, delay, args.reps)
        theirs = codes(floor, delay, args.reps) if floor else Counter()
        print(f"{delay:>4} ms  {_show(ours):<24}  {_show(theirs)}")


def _show(counts: Counter[int]) -> str:
    return ", ".join(f"{code}: {n}" for code, n in sorted(counts.items(), reverse=True)) or "-"


if __name__ == "__main__":
    main()
