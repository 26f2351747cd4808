"""Schemathesis over the server's OpenAPI schema: whatever a client sends, no 5xx and one error shape."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tailorml.run import run_project
from tailorml.serving.app import create_app
from tailorml.serving.server import prepare_service
from tests.test_serving import write_project


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec = write_project(tmp_path_factory.mktemp("fuzz"))
    run_project(spec, n_resamples=20)
    app = create_app(prepare_service(spec, require_auth=False, watch_seconds=0))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors(api_schema: Any) -> None:
    seen = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        seen.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and {"type", "message"} <= set(body["error"])

        check()
    assert "POST /v1/predict" in seen and "POST /v1/review/{request_id}" in seen
