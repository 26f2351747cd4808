"""Monitoring: drift is flagged in the first full window after it starts, and rarely otherwise."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tailorml.cli import app
from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize
from tailorml.monitoring.monitor import run_monitor, send_alerts
from tailorml.monitoring.simulate import log_traffic, shifted_texts
from tailorml.run import run_project
from tailorml.serving.holder import ModelHolder
from tailorml.serving.requestlog import RequestLog
from tailorml.spec import Alerts, Spec, load_spec
from tailorml.tracking import Tracker

WINDOW = 500


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    folder = tmp_path_factory.mktemp("monitor")
    write_frame(synthesize(2000, seed=3), folder / "data" / "train.csv")
    spec = {
        "project": "support",
        "task": {"input": "text", "target": "label", "out_of_scope": "oos"},
        "data": {"train": "data/train.csv"},
        "objectives": {"accuracy": {"min": 0.5}},
        "candidates": ["tfidf-linear"],
        "serving": {"abstain": {"target_precision": 0.95}},
        "monitoring": {"window": WINDOW, "embedding_drift": False},
    }
    (folder / "tailor.yaml").write_text(yaml.safe_dump(spec))
    loaded = load_spec(folder / "tailor.yaml")
    run_project(loaded, n_resamples=20)
    return loaded


def simulate(spec: Spec, seed: int, *, normal_windows: int, drifted_windows: int) -> None:
    url = spec.serving.log_url(spec.root)
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    model = ModelHolder(Tracker.for_project(spec), cache_dir=spec.root / ".tailor" / "m").load()
    log = RequestLog(url)
    total = (normal_windows + drifted_windows) * WINDOW
    normal = synthesize(total, seed=1000 + seed, unique=False)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    log_traffic(log, model, list(normal["text"][: normal_windows * WINDOW]), start=start)
    if drifted_windows:
        texts, _ = shifted_texts(list(normal["text"]), list(normal["label"]), drifted_windows * WINDOW, seed=seed)
        later = start + dt.timedelta(seconds=normal_windows * WINDOW)
        log_traffic(log, model, texts, start=later)
    log.close()


def test_shift_is_flagged_in_the_first_window_and_false_alarms_are_rare(project: Spec) -> None:
    false_alarms = normal_seen = 0
    for seed in range(4):
        simulate(project, seed, normal_windows=5, drifted_windows=1)
        report = run_monitor(project)
        assert [w.n for w in report.windows] == [WINDOW] * 6
        assert report.windows[5].status == "alert", report.windows[5].reasons
        normal_seen += 5
        false_alarms += sum(w.status == "alert" for w in report.windows[:5])
    assert false_alarms / normal_seen <= 0.05


def test_alerts_reach_a_webhook_and_a_command(project: Spec, tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)  # exactly one request, then stop
    thread.start()
    out = tmp_path / "alert.json"
    alerts = Alerts(webhook=f"http://127.0.0.1:{server.server_port}/hook", command=f"cat > {out}")
    spec = project.model_copy(update={"monitoring": project.monitoring.model_copy(update={"alerts": alerts})})
    spec._root = project.root
    simulate(project, 9, normal_windows=2, drifted_windows=1)
    report = run_monitor(project)
    sent = send_alerts(spec, report)
    thread.join(timeout=10)
    server.server_close()
    assert any("HTTP 204" in line for line in sent) and any("exit 0" in line for line in sent)
    assert received and received[0]["windows"][0]["reasons"]
    assert json.loads(out.read_text())["model"]["version"] == report.model_version


def test_cli_monitor_exit_code_and_report(project: Spec) -> None:
    simulate(project, 11, normal_windows=2, drifted_windows=1)
    result = CliRunner().invoke(app, ["--spec", str(project.root / "tailor.yaml"), "monitor"])
    assert result.exit_code == 1, result.output  # an ALERT is a failing exit code for cron and CI
    assert "ALERT" in result.output
    assert (project.root / ".tailor" / "monitoring" / "monitor.html").is_file()
    assert (project.root / ".tailor" / "monitoring" / "latest.json").is_file()


def test_the_out_of_scope_share_of_traffic_is_estimated_from_what_the_detector_flags(project: Spec) -> None:
    from tailorml.cli.monitoring import _oos_share_line

    simulate(project, 21, normal_windows=2, drifted_windows=0)
    traffic = synthesize(2 * WINDOW, seed=1021, unique=False)  # what simulate logged
    report = run_monitor(project)
    for window, rows in zip(report.windows, (traffic[:WINDOW], traffic[WINDOW:]), strict=True):
        signals = {s.name: s for s in window.signals}
        truth = float((rows["label"] == "oos").mean())
        assert signals["oos_share_estimate"].value == pytest.approx(truth, abs=0.03)
        assert signals["oos_share_estimate"].reference is not None
    line = _oos_share_line(report)
    assert line is not None and line.startswith("out-of-scope share of window 1:")
    # A model set for another share is told what to set.
    moved = report.model_copy(update={"reference": {**report.reference, "oos_assumed_share": 0.5}})
    assert "set out_of_scope_detection.expected_rate to about" in (_oos_share_line(moved) or "")
