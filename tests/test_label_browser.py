"""The annotation app in a real headless Chromium: log in, label ten items with the keyboard, read the kappa.

Runs ``tailor label serve`` as a real server on 127.0.0.1 and drives Debian's ``chromium``
with Playwright. Skips when no Chromium is installed (CI installs it: see .ci/run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from tailorml.labeling.pilot import open_store
from tailorml.labeling.schema import LabelSchema
from tailorml.labeling.store import LabelStore

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("TAILOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "long enough"
LABELS = [f"intent_{i:02d}" for i in range(1, 13)]  # 12 labels: keys 10-12 take two digits
# What the other annotator said, and the keys the browser user presses, for items 0-9.
OTHER = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12]
KEYS = ["1", "2", "3", "5", "5", "6", "9", "8", "11", "2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, tuple[LabelStore, int]]]:
    store = open_store(tmp_path / ".tailor")
    store.add_user("ann", PASSWORD)
    store.add_user("rev", PASSWORD, role="reviewer")
    members = [store.user("ann").id, store.user("rev").id]
    texts = [f"customer message number {i} <b>not bold</b>" for i in range(11)]
    task = store.create_task(
        "pilot",
        data_version="v1",
        schema=LabelSchema.from_names(LABELS),
        texts=texts,
        row_keys=[str(i) for i in range(11)],
        annotators_per_item=2,
        members=members,
    )
    store.import_annotations(task.id, [(i, "other", LABELS[k - 1]) for i, k in enumerate(OTHER)])
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tailorml", "label", "serve", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"label server did not start: {process.stderr.read().decode()}") from None
                time.sleep(0.2)
        yield url, (store, task.id)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH; install it: apt-get install -y chromium")
def test_annotator_labels_ten_items_with_the_keyboard_and_the_kappa_is_shown(served) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, stored = served

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{server}/")
        page.fill("input[name=name]", "ann")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.get_by_role("link", name="Label", exact=True).click()
        seen = []
        for keys in KEYS:
            item = page.locator("#item-text")
            seen.append(item.inner_text())
            before = item.get_attribute("data-item")
            with page.expect_navigation():
                for key in keys:
                    page.keyboard.press(key)
            assert page.locator("#item-text").get_attribute("data-item") != before
        assert "<b>not bold</b>" in seen[0]  # shown as text, not markup
        with page.expect_navigation():
            page.keyboard.press("s")  # the eleventh item: skipped
        expect(page.locator("#done")).to_be_visible()
        page.get_by_role("button", name="Log out").click()
        page.fill("input[name=name]", "rev")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.get_by_role("link", name="Agreement", exact=True).click()
        shown = page.locator("#cohen-kappa").inner_text()
        browser.close()

    expected = cohen_kappa_score([LABELS[k - 1] for k in OTHER], [LABELS[int(k) - 1] for k in KEYS])
    assert shown == f"{expected:.3f}"
    store, task_id = stored
    mine = [a for a in store.annotations(task_id, include_skipped=True) if a.user == "ann"]
    assert [a.label for a in mine] == [LABELS[int(k) - 1] for k in KEYS] + [None]
    assert mine[-1].skipped and all(a.seconds is not None and a.schema_version == 1 for a in mine)
