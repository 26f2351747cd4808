"""The serving commands: keys, log, review, models, promote and rollback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tailorml.cli import app
from tailorml.run import run_project
from tailorml.serving.requestlog import RequestLog
from tailorml.spec import Spec
from tests.test_serving import write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    spec = write_project(tmp_path_factory.mktemp("cli"))
    run_project(spec, n_resamples=20)
    return spec


def tailor(spec: Spec, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--spec", str(spec.root / "tailor.yaml"), *args], input=stdin)
    return result.exit_code, result.output


def test_keys_create_list_revoke(project: Spec) -> None:
    code, out = tailor(project, "--json", "keys", "create", "mobile-app", "--rate", "5")
    assert code == 0
    created = json.loads(out)
    assert created["token"].startswith(f"tml_{created['id']}_")
    code, out = tailor(project, "--json", "keys", "list")
    listed = {k["id"]: k for k in json.loads(out)}
    assert listed[created["id"]]["name"] == "mobile-app" and created["token"] not in out
    assert tailor(project, "keys", "revoke", created["id"])[0] == 0
    code, out = tailor(project, "keys", "revoke", "k_missing")
    assert code == 4 and "k_missing" in out


def test_log_tail_export_and_review(project: Spec, tmp_path: Path) -> None:
    log = RequestLog(project.serving.log_url(project.root))
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "id": f"r{i}",
            "created_at": now,
            "model_name": "support",
            "model_version": 1,
            "input_text": f"text {i}",
            "label": "oos",
            "confidence": 0.4,
            "topk": json.dumps([["oos", 0.4], ["cancel_order", 0.3]]),
            "abstained": i < 2,
            "latency_ms": 1.0,
            "api_key_id": None,
        }
        for i in range(3)
    ]
    log.record(rows)
    code, out = tailor(project, "log", "tail", "-n", "3")
    assert code == 0 and "text 2" in out
    target = tmp_path / "export.jsonl"
    code, out = tailor(project, "log", "export", str(target), "--since", "1d")
    assert code == 0 and len(target.read_text().splitlines()) >= 3
    assert tailor(project, "log", "export", str(target), "--since", "yesterday")[0] != 0
    code, out = tailor(project, "review", "--limit", "2", stdin="2\ns\n")
    assert code == 0 and "answered 1, skipped 1" in out
    answered = {r["request_id"]: r["answer"] for r in log.answered_reviews()}
    assert answered.get("r0") == "cancel_order"


def test_models_promote_rollback(project: Spec) -> None:
    from tailorml.tracking import Tracker

    tracker = Tracker.for_project(project)
    run_id = tracker.by_alias("champion").run_id
    tracker.register(run_id, alias="challenger")
    code, out = tailor(project, "models")
    assert code == 0 and "champion" in out and "challenger" in out
    code, out = tailor(project, "--json", "promote", "2")
    assert code == 0 and json.loads(out)["champion"] == 2
    code, out = tailor(project, "--json", "rollback")
    assert code == 0 and json.loads(out)["champion"] == 1
    code, out = tailor(project, "rollback")
    assert code == 4 and "no earlier champion" in out
    assert tailor(project, "promote", "99")[0] == 4


def test_serve_refuses_no_auth_off_loopback(project: Spec) -> None:
    code, out = tailor(project, "serve", "--host", "0.0.0.0", "--no-auth")
    assert code == 2 and "loopback" in out
