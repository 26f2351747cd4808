"""Package hygiene: a cheap import, an honest public API, one error shape."""

from __future__ import annotations

import json
import subprocess
import sys

import tailorml
from tailorml.errors import DataError, NotFoundError, SpecError, TailorError, error_body

HEAVY = ("torch", "transformers", "sentence_transformers", "mlflow", "sklearn", "ray")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_tailorml_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import tailorml")
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]
    assert "pandas" not in loaded and "pyarrow" not in loaded


def test_cli_help_loads_no_heavy_library() -> None:
    code = (
        "import sys\nfrom tailorml.cli import app\n"
        "try:\n    app(['--help'], prog_name='tailor')\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_tailor_help_runs_as_a_module() -> None:
    out = subprocess.run([sys.executable, "-m", "tailorml", "--help"], capture_output=True, text=True, check=True)
    for command in ("init", "check", "demo", "data"):
        assert command in out.stdout


def test_public_names_resolve_and_are_listed() -> None:
    for name in tailorml.__all__:
        assert getattr(tailorml, name) is not None
    assert sorted(tailorml.__all__) == sorted(dir(tailorml))


def test_error_body_shape_is_locked() -> None:
    assert error_body(SpecError("bad key", hint="fix it", details=[{"path": "x"}])) == {
        "error": {"type": "spec_error", "message": "bad key", "hint": "fix it", "details": [{"path": "x"}]}
    }
    assert error_body(NotFoundError("gone")) == {"error": {"type": "not_found", "message": "gone"}}


def test_every_error_kind_has_its_own_exit_code_and_status() -> None:
    kinds = [TailorError, SpecError, DataError, NotFoundError]
    assert len({k.exit_code for k in kinds}) == len(kinds)
    assert {k.http_status for k in kinds} <= {400, 404, 422}
