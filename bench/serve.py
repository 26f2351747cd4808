"""Benchmark: the model server under load on 127.0.0.1, next to the same model in process.

For each model path it trains a champion on synthetic data, starts ``tailor serve`` on a free
loopback port, and drives it with 1, 8 and 32 concurrent keep-alive clients for a fixed time
each (every request logged before it is answered, as in production). It prints throughput
and p50/p95/p99 latency per level, the same model's in-process single-call latency (so the
HTTP + logging overhead is a measured difference), and for the neural path the throughput at
32 clients with micro-batching on and off. Loopback only; every phase is bounded in time,
and the server is killed at the end.

    python bench/serve.py [--seconds 6] [--paths tfidf-linear embedding-linear]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import yaml

TEXTS = [
    "where is my order 48213?",
    "I want to cancel my subscription please",
    "how do I reset my password",
    "the blender arrived broken, I need a refund",
    "what time do you open on sunday",
    "can I talk to a real person",
    "what's the weather in paris tomorrow",
    "please change my delivery address to 12 main street",
]


def make_project(folder: Path, path: str) -> Path:
    from tailorml.data.io import write_frame
    from tailorml.data.synth import synthesize
    from tailorml.run import run_project
    from tailorml.spec import load_spec

    write_frame(synthesize(2000, seed=3), folder / "data" / "train.csv")
    spec = {
        "project": f"bench-{path}",
        "task": {"input": "text", "target": "label", "out_of_scope": "oos"},
        "data": {"train": "data/train.csv"},
        "objectives": {"accuracy": {"min": 0.5}},
        "candidates": [path],
        "serving": {"abstain": {"target_precision": 0.95}},
    }
    (folder / "tailor.yaml").write_text(yaml.safe_dump(spec))
    run_project(load_spec(folder / "tailor.yaml"), n_resamples=50)
    return folder / "tailor.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(spec_path: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tailorml", "--spec", str(spec_path), "serve", "--port", str(port)]
    command += ["--no-auth", "--watch", "0", *extra]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not start")


async def client(port: int, until: float, latencies: list[float], offset: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < until:
            body = json.dumps({"input": TEXTS[i % len(TEXTS)]}).encode()
            i += 1
            head = (
                f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            start = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if b" 200 " not in status_line:
                raise RuntimeError(f"server answered {status_line!r}")
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        writer.close()


async def load(port: int, clients: int, seconds: float) -> tuple[float, np.ndarray]:
    latencies: list[float] = []
    await asyncio.gather(*(client(port, time.perf_counter() + 0.5, [], n) for n in range(clients)))  # warm-up
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(client(port, until, latencies, n) for n in range(clients)))
    elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, np.asarray(latencies)


def in_process_ms(spec_path: Path) -> float:
    """Median single-call latency of the champion loaded in this process (threads as served)."""
    from tailorml.paths import load_model
    from tailorml.spec import load_spec
    from tailorml.tracking import Tracker

    spec = load_spec(spec_path)
    tracker = Tracker.for_project(spec)
    folder = tracker.download(tracker.by_alias("champion"), Path(tempfile.mkdtemp()))
    model = load_model(folder if (folder / "path.json").is_file() else folder / "model")
    if "cache_dir" in model.get_params():
        model.set_params(cache_dir=None)
    for text in TEXTS:
        model.predict_proba([text])
    samples = []
    for i in range(200):
        t = time.perf_counter()
        model.predict_proba([TEXTS[i % len(TEXTS)]])
        samples.append((time.perf_counter() - t) * 1000)
    return float(np.median(samples))


def row(label: str, rate: float, lat: np.ndarray) -> str:
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    return f"| {label} | {rate:,.0f} | {p50:.2f} | {p95:.2f} | {p99:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="load time per level")
    parser.add_argument("--paths", nargs="+", default=["tfidf-linear", "embedding-linear"])
    args = parser.parse_args()
    os.environ.pop("TAILOR_HOME", None)
    lines = [
        f"bench/serve.py  {time.strftime('%Y-%m-%d')}  {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; server and load generator share the machine\n",
        "| path · clients | requests/s | p50 ms | p95 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.paths:
            spec_path = make_project(Path(tmp) / path, path)
            baseline = in_process_ms(spec_path)
            port = free_port()
            server = start(spec_path, port)
            try:
                results = {c: asyncio.run(load(port, c, args.seconds)) for c in (1, 8, 32)}
            finally:
                server.kill()
                server.wait()
            for clients, (rate, lat) in results.items():
                lines.append(row(f"{path} · {clients}", rate, lat))
            overhead = float(np.median(results[1][1])) - baseline
            notes.append(
                f"{path}: in-process single call p50 {baseline:.2f} ms; HTTP + logging overhead at p50 "
                f"(1 client) {overhead:.2f} ms"
            )
            if path != "tfidf-linear":
                port = free_port()
                server = start(spec_path, port, "--model-batch", "1", "--batch-window-ms", "0")
                try:
                    rate_b1, lat_b1 = asyncio.run(load(port, 32, args.seconds))
                finally:
                    server.kill()
                    server.wait()
                lines.append(row(f"{path} · 32, batching off", rate_b1, lat_b1))
                notes.append(
                    f"{path}: micro-batching lifts throughput at 32 clients {results[32][0] / rate_b1:.1f}x "
                    f"({results[32][0]:,.0f} vs {rate_b1:,.0f} requests/s)"
                )
    print("\n".join(lines))
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
