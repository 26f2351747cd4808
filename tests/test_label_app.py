"""The annotation web app over HTTP: login, labeling, CSRF, isolation between tasks, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tailorml.labeling.app import SESSION_COOKIE, create_app
from tailorml.labeling.schema import LabelSchema
from tailorml.labeling.store import LabelStore

PASSWORD = "long enough"
XSS = '<script>alert("x")</script>'


@pytest.fixture
def store(tmp_path: Path) -> LabelStore:
    store = LabelStore(tmp_path / "labeling.db")
    for name, role in (("ann", "annotator"), ("eve", "annotator"), ("rev", "reviewer")):
        store.add_user(name, PASSWORD, role=role)
    schema = LabelSchema.model_validate(
        {"labels": [{"name": "refund", "description": "money back", "examples": ["refund please"]}, {"name": "other"}]}
    )
    ann, eve, rev = (store.user(n).id for n in ("ann", "eve", "rev"))
    texts = ["refund my order", XSS, "where is my parcel"]
    store.create_task(
        "ours",
        data_version="v1",
        schema=schema,
        texts=texts,
        row_keys=["0", "1", "2"],
        annotators_per_item=2,
        members=[ann, rev],
    )
    store.create_task(
        "theirs",
        data_version="v2",
        schema=schema,
        texts=["secret text of another project"],
        row_keys=["0"],
        annotators_per_item=1,
        members=[eve],
    )
    return store


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    return response.headers["location"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_login_then_label_with_the_form(store: LabelStore) -> None:
    client = TestClient(create_app(store))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert login(client, "ann", "wrong password") == "/login?error=1"
    assert login(client, "ann") == "/"
    assert SESSION_COOKIE in client.cookies
    home = client.get("/")
    assert "ours" in home.text and "theirs" not in home.text
    task_id = store.task("ours").id
    page = client.get(f"/tasks/{task_id}/label")
    assert "refund my order" in page.text and "money back" in page.text and "refund please" in page.text
    item_id = re.search(r'data-item="(\d+)"', page.text).group(1)
    answer = client.post(
        f"/tasks/{task_id}/items/{item_id}",
        data={"csrf": csrf_of(page.text), "label": "refund"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    [annotation] = store.annotations(task_id)
    assert (annotation.user, annotation.label, annotation.schema_version) == ("ann", "refund", 1)
    assert annotation.seconds is not None


def test_posts_without_the_session_csrf_token_are_refused(store: LabelStore) -> None:
    client = TestClient(create_app(store))
    login(client, "ann")
    task_id = store.task("ours").id
    page = client.get(f"/tasks/{task_id}/label")
    item_id = re.search(r'data-item="(\d+)"', page.text).group(1)
    for data in ({"label": "refund"}, {"label": "refund", "csrf": "forged"}):
        response = client.post(f"/tasks/{task_id}/items/{item_id}", data=data)
        assert response.status_code == 403 and "security token" in response.text
    assert store.annotations(task_id) == []
    # The login form is protected too: a cross-site login without the form's cookie fails.
    fresh = TestClient(create_app(store))
    assert fresh.post("/login", data={"name": "ann", "password": PASSWORD, "csrf": "x"}).status_code == 403


def test_an_annotator_cannot_read_or_change_another_projects_items(store: LabelStore) -> None:
    client = TestClient(create_app(store))
    login(client, "ann")
    theirs = store.task("theirs")
    [their_item] = store.items(theirs.id)
    csrf = csrf_of(client.get(f"/tasks/{store.task('ours').id}/label").text)
    page = client.get(f"/tasks/{theirs.id}/label")
    assert page.status_code == 404 and "secret text" not in page.text
    # Neither through the other task's URL nor by pairing its item with a task this user may see.
    assert (
        client.post(f"/tasks/{theirs.id}/items/{their_item.id}", data={"csrf": csrf, "label": "refund"}).status_code
        == 404
    )
    ours = store.task("ours").id
    assert (
        client.post(f"/tasks/{ours}/items/{their_item.id}", data={"csrf": csrf, "label": "refund"}).status_code == 404
    )
    assert store.annotations(theirs.id) == []
    # Agreement and review pages are for reviewers and admins.
    assert client.get(f"/tasks/{ours}/agreement").status_code == 403


def test_user_text_is_escaped_and_pages_forbid_inline_script(store: LabelStore) -> None:
    client = TestClient(create_app(store))
    login(client, "ann")
    task_id = store.task("ours").id
    page = client.get(f"/tasks/{task_id}/label")
    item_id = re.search(r'data-item="(\d+)"', page.text).group(1)
    client.post(f"/tasks/{task_id}/items/{item_id}", data={"csrf": csrf_of(page.text), "label": "other"})
    page = client.get(f"/tasks/{task_id}/label")
    assert XSS not in page.text and "&lt;script&gt;alert(" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text.replace('<script src="/static/label.js" defer></script>', "")


def test_a_reviewer_sees_agreement_and_adjudicates(store: LabelStore) -> None:
    task = store.task("ours")
    items = store.items(task.id)
    disputes = [
        (item.position, user, label) for item in items[:2] for user, label in (("ann", "refund"), ("x1", "other"))
    ]
    store.import_annotations(task.id, disputes)  # refund vs other, twice: an ambiguous pair
    client = TestClient(create_app(store))
    login(client, "rev")
    agreement = client.get(f"/tasks/{task.id}/agreement")
    assert agreement.status_code == 200 and "Krippendorff" in agreement.text
    assert "<strong>other</strong> vs <strong>refund</strong>" in agreement.text
    review = client.get(f"/tasks/{task.id}/review")
    assert "refund my order" in review.text
    answer = client.post(
        f"/tasks/{task.id}/items/{items[0].id}/adjudicate",
        data={"csrf": csrf_of(review.text), "label": "refund"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and store.adjudications(task.id) == {items[0].id: "refund"}


def test_malformed_requests_get_clear_answers(store: LabelStore) -> None:
    client = TestClient(create_app(store))
    login(client, "ann")
    task_id = store.task("ours").id
    page = client.get(f"/tasks/{task_id}/label")
    item_id = re.search(r'data-item="(\d+)"', page.text).group(1)
    bad_label = client.post(f"/tasks/{task_id}/items/{item_id}", data={"csrf": csrf_of(page.text), "label": "nope"})
    assert bad_label.status_code == 400 and "not in schema version 1" in bad_label.text
    huge = client.post(
        f"/tasks/{task_id}/items/{item_id}",
        content=b"x" * 20_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    assert client.get("/tasks/999/label").status_code == 404
    assert client.get("/static/../store.py").status_code == 404


def test_an_active_task_requeues_the_least_sure_items_as_labels_arrive(tmp_path: Path) -> None:
    import sqlite3

    from tailorml.labeling.app import REQUEUE_EVERY, REQUEUE_K

    store = LabelStore(tmp_path / "labeling.db")
    store.add_user("ann", PASSWORD)
    topics = {"refund": "money back for order", "parcel": "where is my parcel", "bill": "invoice charged twice"}
    texts = [f"{phrase} {i}" for i in range(15) for phrase in topics.values()]
    task = store.create_task(
        "active",
        data_version="v1",
        schema=LabelSchema.from_names(topics),
        texts=texts,
        row_keys=[str(i) for i in range(len(texts))],
        strategy="active",
        annotators_per_item=1,
        members=[store.user("ann").id],
    )
    client = TestClient(create_app(store))
    login(client, "ann")

    def queued() -> int:
        with sqlite3.connect(store.path) as conn:
            sql = "SELECT COUNT(*) FROM items WHERE task_id = ? AND priority > 0"
            return int(conn.execute(sql, (task.id,)).fetchone()[0])

    for n in range(REQUEUE_EVERY):
        assert queued() == 0, f"requeued after {n} annotations"
        page = client.get(f"/tasks/{task.id}/label")
        text = re.search(r'id="item-text" data-item="\d+">([^<]+)<', page.text).group(1)
        label = next(name for name, phrase in topics.items() if text.startswith(phrase))
        item_id = re.search(r'data-item="(\d+)"', page.text).group(1)
        client.post(f"/tasks/{task.id}/items/{item_id}", data={"csrf": csrf_of(page.text), "label": label})
    assert queued() == REQUEUE_K  # the model was refitted and the 20 least-sure open items lead the queue
