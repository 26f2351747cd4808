"""``tailor demo``: the loop on synthetic customer-service data, in a folder of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tailorml.data.importer import ImportOutcome, import_data
from tailorml.errors import TailorError
from tailorml.run import RunResult, run_project
from tailorml.spec import DEFAULT_SPEC_NAME, load_spec

__all__ = ["DemoResult", "run_demo"]

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
