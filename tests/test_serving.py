"""The HTTP API, in process: predictions, logging before answering, auth, limits, one error shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize
from tailorml.errors import DataError, NotFoundError
from tailorml.run import run_project
from tailorml.serving.app import create_app
from tailorml.serving.keys import KeyStore
from tailorml.serving.requestlog import RequestLog
from tailorml.serving.server import prepare_service
from tailorml.spec import Spec, load_spec
from tailorml.tracking import Tracker

ERROR_KEYS = {"type", "message"}


def write_project(folder: Path, **serving: Any) -> Spec:
    write_frame(synthesize(1200, seed=11), folder / "data" / "train.csv")
    spec = {
        "project": "support",
        "task": {"input": "text", "target": "label", "out_of_scope": "oos"},
        "data": {"train": "data/train.csv", "split": {"validation": 0.2, "test": 0.2}},
        "objectives": {"accuracy": {"min": 0.3}},
        "candidates": ["tfidf-linear"],
        "serving": {"abstain": {"target_precision": 0.999}, "rate_limit_per_s": 1000, **serving},
        "privacy": {"redact_pii": True},
    }
    (folder / "tailor.yaml").write_text(yaml.safe_dump(spec))
    return load_spec(folder / "tailor.yaml")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    folder = tmp_path_factory.mktemp("serving")
    spec = write_project(folder)
    run_project(spec, n_resamples=50)
    return spec


@pytest.fixture()
def client(project: Spec) -> Any:
    service = prepare_service(project, require_auth=False, watch_seconds=0)
    with TestClient(create_app(service)) as test_client:
        test_client.service = service  # type: ignore[attr-defined]
        yield test_client


def assert_error(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) >= ERROR_KEYS and body["error"]["type"] == kind
    assert "Traceback" not in response.text
    return body["error"]


def test_single_and_batch_predictions(client: Any) -> None:
    one = client.post("/v1/predict", json={"input": "where is my order 12345?"})
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["model"] == {"name": "support", "version": 1}
    (prediction,) = body["predictions"]
    assert prediction["label"] == prediction["top_k"][0]["label"]
    assert len(prediction["top_k"]) == 3 and 0 < prediction["confidence"] <= 1
    many = client.post("/v1/predict", json={"inputs": ["cancel my order", "what's the weather like", "hi"], "top_k": 1})
    assert [len(p["top_k"]) for p in many.json()["predictions"]] == [1, 1, 1]
    ids = {p["request_id"] for p in many.json()["predictions"]}
    assert len(ids) == 3


def test_every_answered_request_is_already_in_the_log(client: Any, project: Spec) -> None:
    response = client.post("/v1/predict", json={"inputs": ["refund please", "mail me at jane@example.com"]})
    ids = [p["request_id"] for p in response.json()["predictions"]]
    log = RequestLog(project.serving.log_url(project.root))
    logged = {row["id"]: row for row in log.tail(50)}
    assert set(ids) <= set(logged)
    row = logged[ids[1]]
    assert "[EMAIL]" in row["input_text"] and "jane@example.com" not in row["input_text"]
    assert row["model_version"] == 1 and row["latency_ms"] > 0


def test_low_confidence_goes_to_the_review_queue_and_can_be_answered(client: Any) -> None:
    inputs = ["I want money for the thing i sent", "blorp zzz qux"]
    predictions = client.post("/v1/predict", json={"inputs": inputs}).json()["predictions"]
    assert predictions[1]["label"] == "oos"  # gibberish is out of scope: answered, not queued
    abstained = [p for p in predictions if p["abstained"]]
    assert abstained, "a 0.999 precision target should make an ambiguous in-scope input abstain"
    pending = client.get("/v1/review", params={"limit": 500}).json()["items"]
    item = next(i for i in pending if i["request_id"] == abstained[0]["request_id"])
    assert item["status"] == "pending" and item["topk"]
    answered = client.post(f"/v1/review/{item['request_id']}", json={"label": "oos", "by": "tester"})
    assert answered.status_code == 200
    again = client.post(f"/v1/review/{item['request_id']}", json={"label": "oos"})
    assert again.status_code in (400, 409)
    assert_error(client.post("/v1/review/nope", json={"label": "oos"}), 404, "not_found")


def test_health_readiness_metrics_and_docs(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["model"] == {"name": "support", "version": 1}
    client.post("/v1/predict", json={"input": "reset my password"})
    text = client.get("/metrics").text
    for name in ("tailorml_requests_total", "tailorml_request_latency_seconds", "tailorml_model_info"):
        assert name in text
    assert 'version="1"' in text
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("payload", "status", "kind"),
    [
        ({}, 422, "bad_request"),
        ({"input": ""}, 422, "bad_request"),
        ({"input": 3}, 422, "bad_request"),
        ({"input": "a", "inputs": ["b"]}, 422, "bad_request"),
        ({"inputs": []}, 422, "bad_request"),
        ({"inputs": ["x"] * 300}, 413, "too_large"),
        ({"input": "x" * 6000}, 413, "too_large"),
        ({"input": "ok", "extra": 1}, 422, "bad_request"),
        ({"input": "ok", "top_k": 0}, 422, "bad_request"),
    ],
)
def test_bad_requests_get_one_error_shape(client: Any, payload: dict[str, Any], status: int, kind: str) -> None:
    assert_error(client.post("/v1/predict", json=payload), status, kind)


def test_malformed_json_oversized_body_and_unknown_route(client: Any) -> None:
    broken = client.post("/v1/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(broken, 422, "bad_request")
    huge = client.post("/v1/predict", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
    assert_error(huge, 413, "too_large")
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")


def test_api_keys_and_rate_limit(project: Spec) -> None:
    keys = KeyStore(project.serving.log_url(project.root))
    info, token = keys.create("tests", rate_per_s=2)
    service = prepare_service(project, require_auth=True, watch_seconds=0)
    with TestClient(create_app(service)) as client:
        assert_error(client.post("/v1/predict", json={"input": "hi"}), 401, "unauthorized")
        bad = {"Authorization": "Bearer tml_k_00000000_nope"}
        assert_error(client.post("/v1/predict", json={"input": "hi"}, headers=bad), 401, "unauthorized")
        good = {"Authorization": f"Bearer {token}"}
        statuses = [client.post("/v1/predict", json={"input": "hi"}, headers=good).status_code for _ in range(6)]
        assert statuses[0] == 200 and 429 in statuses
        limited = client.post("/v1/predict", json={"input": "hi"}, headers=good)
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
    logged = RequestLog(project.serving.log_url(project.root)).tail(5)
    assert logged[0]["api_key_id"] == info.id


def test_promote_reload_and_rollback_swap_the_model(project: Spec, client: Any) -> None:
    tracker = Tracker.for_project(project)
    first = tracker.by_alias("champion")
    second = tracker.register(first.run_id)  # a new version of the same run: version 2
    assert second.version == 2
    assert client.post("/v1/reload").json() == {"reloaded": True, "model": {"name": "support", "version": 2}}
    assert client.post("/v1/predict", json={"input": "hi"}).json()["model"]["version"] == 2
    assert tracker.rollback().version == 1
    assert client.post("/v1/reload").json()["model"]["version"] == 1
    assert client.post("/v1/reload").json()["reloaded"] is False


def test_server_refuses_to_start_without_a_champion(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    with pytest.raises(NotFoundError, match="no champion"):
        prepare_service(spec)


def test_server_refuses_a_corrupt_artifact(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    run_project(spec, n_resamples=20)
    for path in (tmp_path / ".tailor" / "mlartifacts").rglob("head_coef.npy"):
        path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt"):
        prepare_service(spec)


def test_openapi_lists_the_error_shape_free_of_500s(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    assert json.dumps(schema)  # serializable
    assert {"/v1/predict", "/healthz", "/readyz", "/metrics", "/v1/review", "/v1/reload"} <= set(schema["paths"])


def test_request_log_in_postgresql(tmp_path: Path) -> None:
    import os

    url = os.environ.get("TAILOR_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set TAILOR_TEST_POSTGRES_URL (scripts/postgres.sh starts a server) to run against PostgreSQL")
    spec = write_project(tmp_path, log=url)
    run_project(spec, n_resamples=20)
    service = prepare_service(spec, require_auth=False, watch_seconds=0)
    with TestClient(create_app(service)) as client:
        answered = client.post("/v1/predict", json={"inputs": ["cancel my order", "blorp zzz"]}).json()
    ids = {p["request_id"] for p in answered["predictions"]}
    log = RequestLog(url)
    assert ids <= {row["id"] for row in log.tail(100)}
    assert log.integrity_check() == "ok"
