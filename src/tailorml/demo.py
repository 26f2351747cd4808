"""``tailor demo``: the loop on synthetic customer-service data, in a folder of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tailorml.data.importer import ImportOutcome, import_data
from tailorml.errors import TailorError
from tailorml.monitoring.results import MonitorReport
from tailorml.retrain import RetrainOutcome
from tailorml.run import RunResult, run_project
from tailorml.spec import DEFAULT_SPEC_NAME, load_spec

__all__ = ["DemoResult", "DriftDemoResult", "run_demo", "run_drift_demo"]

_MARKER = ".tailor-demo"


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    spec_path: Path
    data_path: Path
    outcome: ImportOutcome
    run: RunResult | None = None


def run_demo(
    folder: str | Path,
    *,
    rows: int = 2000,
    seed: int = 0,
    data_only: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Write the example spec, synthesize data, import, check and split it; then (unless
    ``data_only``) train, evaluate, select, register and report, as ``tailor run`` does.

    The folder must be new, empty, or an earlier demo's; running the demo again with the
    same arguments finds the same content already stored under the same version id.
    """
    from tailorml.data.io import write_frame
    from tailorml.data.synth import synthesize

    step = on_step or (lambda _name: None)
    folder = Path(folder).resolve()
    _claim(folder)
    spec_path = folder / DEFAULT_SPEC_NAME
    spec_path.write_text(
        resources.files("tailorml").joinpath("examples", "customer-service.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    spec = load_spec(spec_path)
    step(f"synthesizing {rows:,} customer-service messages")
    data_path = spec.resolve(spec.data.train)
    write_frame(synthesize(rows, seed=seed), data_path)
    outcome = import_data(spec, on_step=on_step)
    run = None if data_only else run_project(spec, on_step=on_step)
    return DemoResult(folder=folder, spec_path=spec_path, data_path=data_path, outcome=outcome, run=run)


def _claim(folder: Path) -> None:
    """Make sure the demo writes only into a folder that is new, empty, or a previous demo's."""
    if folder.exists() and any(folder.iterdir()) and not (folder / _MARKER).exists():
        raise TailorError(
            f"{folder} already exists and is not a tailorml demo folder",
            hint="pass --dir NEW_FOLDER so nothing of yours is overwritten",
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _MARKER).write_text("created by tailor demo\n", encoding="utf-8")


@dataclass(frozen=True)
class DriftDemoResult:
    base: DemoResult
    monitor: MonitorReport
    reviewed: int
    labeled_file: Path
    retrain: RetrainOutcome


def run_drift_demo(
    folder: str | Path, *, rows: int = 2000, seed: int = 0, on_step: Callable[[str], None] | None = None
) -> DriftDemoResult:
    """The loop after launch: traffic drifts, monitoring alerts, people label, retraining promotes.

    1. ``run_demo`` trains and registers a champion.
    2. Four windows of ordinary traffic are answered and logged, then two windows where a new
       intent (loyalty points) appears and customers phrase things differently.
    3. ``tailor monitor`` raises an ALERT on the drifted windows.
    4. A person answers the review queue and labels a sample of the drifted traffic.
    5. ``tailor retrain`` trains a challenger on the fresh labels and promotes it only if it
       passes every gate without regressing the champion.
    """
    import datetime as dt

    import pandas as pd

    from tailorml.data.io import write_frame
    from tailorml.data.synth import synthesize
    from tailorml.monitoring.monitor import run_monitor
    from tailorml.monitoring.simulate import log_traffic, shifted_texts
    from tailorml.retrain import retrain
    from tailorml.serving.holder import ModelHolder
    from tailorml.serving.requestlog import RequestLog
    from tailorml.tracking import Tracker

    step = on_step or (lambda _name: None)
    base = run_demo(folder, rows=rows, seed=seed, on_step=on_step)
    spec = load_spec(base.spec_path)
    size = spec.monitoring.window
    model = ModelHolder(Tracker.for_project(spec), cache_dir=base.folder / ".tailor" / "serving" / "models").load()
    log = RequestLog(spec.serving.log_url(spec.root), redact_pii_kinds=tuple(spec.privacy.redact_pii))
    step(f"logging {4 * size:,} ordinary requests, then {2 * size:,} drifted ones")
    normal = synthesize(6 * size, seed=seed + 101, unique=False)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)
    log_traffic(log, model, list(normal["text"][: 4 * size]), start=start, seconds_between=3.0)
    drifted, truth = shifted_texts(list(normal["text"]), list(normal["label"]), 2 * size, seed=seed + 7)
    ids = log_traffic(log, model, drifted, start=start + dt.timedelta(seconds=3.0 * 4 * size), seconds_between=3.0)
    report = run_monitor(spec, on_step=on_step)
    step("a person answers the review queue and labels a sample of the drifted traffic")
    labels_by_id = dict(zip(ids, truth, strict=True))
    reviewed = 0
    for item in log.pending_reviews(limit=10_000):
        if item["request_id"] in labels_by_id:
            log.answer_review(item["request_id"], labels_by_id[item["request_id"]], by="demo-reviewer")
            reviewed += 1
    sample = pd.DataFrame({"text": drifted, "label": truth}).sample(n=min(400, len(drifted)), random_state=seed)
    labeled = write_frame(sample, base.folder / "data" / "labeled_drift_sample.csv")
    outcome = retrain(spec, new_files=[labeled], on_step=on_step)
    return DriftDemoResult(base=base, monitor=report, reviewed=reviewed, labeled_file=labeled, retrain=outcome)
