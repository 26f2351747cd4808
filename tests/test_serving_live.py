"""A real server on 127.0.0.1: answers over HTTP, and survives kill -9 with every 200 logged.

Bounded: the server is started on a free loopback port, load runs for a few seconds, and the
process is always killed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tailorml.run import run_project
from tailorml.serving.requestlog import RequestLog
from tailorml.spec import Spec
from tests.test_serving import write_project

pytestmark = pytest.mark.xdist_group("live-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, payload: dict[str, Any], timeout: float = 10) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def start_server(spec: Spec, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tailorml", "--spec", str(spec.root / "tailor.yaml"), "serve"]
    command += ["--port", str(port), "--no-auth", "--watch", "0"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not become ready within 90 s")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    spec = write_project(tmp_path_factory.mktemp("live"))
    run_project(spec, n_resamples=20)
    return spec


def test_real_server_answers_and_logs(project: Spec) -> None:
    port = free_port()
    server = start_server(project, port)
    try:
        status, body = post(f"http://127.0.0.1:{port}/v1/predict", {"inputs": ["cancel my order", "hello"]})
        assert status == 200 and len(body["predictions"]) == 2
        status, error = post(f"http://127.0.0.1:{port}/v1/predict", {"input": ""})
        assert status == 422 and error["error"]["type"] == "bad_request"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert b"tailorml_requests_total" in response.read()
    finally:
        server.kill()
        server.wait(timeout=10)
    ids = {p["request_id"] for p in body["predictions"]}
    assert ids <= {row["id"] for row in RequestLog(project.serving.log_url(project.root)).tail(20)}


def test_kill_9_under_load_loses_no_answered_request(project: Spec) -> None:
    port = free_port()
    server = start_server(project, port)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 5000:  # bounded in count and by the stop event
            i += 1
            try:
                status, body = post(f"http://127.0.0.1:{port}/v1/predict", {"input": f"where is order {n}-{i}"}, 5)
            except OSError:
                return  # the server is gone
            if status == 200:
                with lock:
                    answered.extend(p["request_id"] for p in body["predictions"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert len(answered) > 20, "the load should have been answered for a while before the kill"
    log = RequestLog(project.serving.log_url(project.root))
    assert log.integrity_check() == "ok"
    logged = {row["id"] for row in log.iter_since(None)}
    missing = set(answered) - logged
    assert not missing, f"{len(missing)} answered requests are missing from the log"
