"""Route once: a file is routed when it is processed, under the configuration of that moment,
and runs in the lane of the model that route names.

A real daemon in-process (inotify, ledger, lanes) with two probe models; a reload (what SIGHUP
does) changes the route while a file waits in the old model's lane.
"""

from __future__ import annotations

from edge.daemon import Daemon
from tests.helpers import validate_sidecar, wait_for
from tests.helpers.gpu_probes import LeaseProbe

CONFIG = """
[edge]
settle = 0.1
rescan = 0
grace = 5

[models.first]
engine = "tests.helpers.gpu_probes:LeaseProbe"

[models.second]
engine = "tests.helpers.gpu_probes:LeaseProbe"

[[routes]]
name = "notes"
match = ["**"]
task = "metadata"
model = "{model}"
"""


def test_a_file_waiting_in_a_lane_is_routed_by_the_new_configuration(tmp_path):
    from edge.configure import load_config

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config_path = tmp_path / "models.toml"
    config_path.write_text(CONFIG.format(model="first"))
    LeaseProbe.reset()
    daemon = Daemon(load_config(config_path), [inbox], tmp_path / "state", config_path=config_path)
    daemon._start()
    try:
        (inbox / "hold-a.txt").write_text("a")  # holds the first model's only worker
        wait_for(lambda: LeaseProbe.inside == {"first"}, 30, what="the first file inside the first model")
        (inbox / "b.txt").write_text("b")
        wait_for(lambda: daemon.ledger.get(str(inbox / "b.txt")) is not None, 30, what="b.txt queued")
        assert daemon.ledger.get(str(inbox / "b.txt")).lane == "first"
        config_path.write_text(CONFIG.format(model="second"))
        daemon.reload()
        LeaseProbe.gate.set()
        wait_for(lambda: (inbox / "b.txt.json").exists(), 30, what="b.txt answered")
        moved_to = daemon.ledger.get(str(inbox / "b.txt")).lane
    finally:
        LeaseProbe.gate.set()
        daemon.stop()
        daemon._shutdown()
    ran = {(model, name): thread for model, name, thread in LeaseProbe.threads}
    assert ("first", "hold-a.txt") in ran  # in flight at the reload: finished as it started
    assert ("second", "b.txt") in ran and ("first", "b.txt") not in ran
    assert ran[("second", "b.txt")].startswith("edge-second-")  # in the second model's lane
    assert validate_sidecar(inbox / "b.txt.json")["task"]["route"] == "notes"
    assert moved_to == "second"
