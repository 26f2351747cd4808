"""The annotation web app behind ``tailor label serve``: server-rendered pages, keyboard labeling.

Pages:

- ``/login``: name and password (hashed with scrypt in the database).
- ``/``: the tasks this user may see, with their progress.
- ``/tasks/{id}/label``: one item at a time, the schema's labels with descriptions and
  examples; keys 1–9 pick a label (two digits in a row for labels 10 and up), ``s`` skips.
  In an ``active`` task, every 10 annotations refit the model and move the items it is
  least sure of to the front of the queue.
- ``/tasks/{id}/agreement`` (reviewers, admins): kappa, alpha, per-label agreement, the
  ambiguous label pairs with their disputed items, seconds per item.
- ``/tasks/{id}/review`` (reviewers, admins): disputed items to adjudicate and the
  suspected label errors.

Security: a session cookie (HttpOnly, SameSite=Strict) holds a random token whose hash is
stored; every form carries the session's CSRF token, checked on each POST; a user sees and
changes only the tasks they are a member of (anything else answers 404, so other tasks'
existence does not leak); pages are rendered with autoescaping and served with a
Content-Security-Policy that allows no inline script.
"""

from __future__ import annotations

import hmac
import secrets
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tailorml.errors import TailorError
from tailorml.labeling.store import Item, LabelStore, Session, Task

__all__ = ["create_app"]

SESSION_COOKIE = "tailor_label_session"
LOGIN_CSRF_COOKIE = "tailor_label_login"
MAX_FORM_BYTES = 16_384
REQUEUE_EVERY = 10  # active tasks: refit the uncertainty model after this many new annotations
REQUEUE_K = 20  # ... and move this many least-sure open items to the front
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _templates() -> Any:
    import jinja2

    folder = resources.files("tailorml.labeling") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Pages:
    """What every route needs: the store, the templates, and the session and access checks."""

    def __init__(self, store: LabelStore, secure_cookies: bool) -> None:
        self.store = store
        self.env = _templates()
        self.secure_cookies = secure_cookies

    def render(self, name: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(session=session, **context)
        return HTMLResponse(html, status_code=status)

    def current(self, request: Request) -> Session:
        """The logged-in session, or 401 (answered with a redirect to the login page)."""
        session = self.store.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise HTTPException(401)
        return session

    def task_for(self, session: Session, task_id: int, *, review: bool = False) -> Task:
        """The task, if this user is a member (else 404: another project's tasks do not exist for them)."""
        try:
            task = self.store.task(task_id)
        except TailorError:
            raise HTTPException(404, "No such task.") from None
        if not self.store.can_access(session.user, task.id):
            raise HTTPException(404, "No such task.")
        if review and not session.user.can_review:
            raise HTTPException(403, "Only reviewers and admins see this page.")
        return task

    def item_of(self, task: Task, item_id: int) -> Item:
        """The item, if it belongs to ``task`` (ids of other tasks' items answer 404)."""
        try:
            item = self.store.item(item_id)
        except TailorError:
            raise HTTPException(404, "No such item.") from None
        if item.task_id != task.id:
            raise HTTPException(404, "No such item.")
        return item

    async def form(self, request: Request, session: Session | None) -> dict[str, str]:
        """The posted form's fields; with a session, its CSRF token must match (else 403)."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "The form is too large.")
        try:
            fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            raise HTTPException(400, "The form is not valid UTF-8.") from None
        if session is not None and not hmac.compare_digest(fields.get("csrf", ""), session.csrf):
            raise HTTPException(403, "The form's security token is missing or stale; reload the page and try again.")
        return fields


def create_app(store: LabelStore, *, secure_cookies: bool = False) -> FastAPI:
    """The app over one labeling database. ``secure_cookies``: send cookies over HTTPS only."""
    pages = _Pages(store, secure_cookies)
    app = FastAPI(title="tailorml labeling", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401:
            return RedirectResponse("/login", status_code=303)
        return pages.render(
            "error.html.j2", None, status=exc.status_code, status_code=exc.status_code, message=exc.detail
        )

    _static_routes(app)
    _auth_routes(app, pages)
    _label_routes(app, pages)
    _review_routes(app, pages)
    return app


def _static_routes(app: FastAPI) -> None:
    static = resources.files("tailorml.labeling") / "static"

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in ("label.js", "label.css"):
            raise HTTPException(404, "No such file.")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response((static / name).read_text(encoding="utf-8"), media_type=media)

    @app.get("/healthz")
    def health() -> PlainTextResponse:
        return PlainTextResponse("ok")


def _auth_routes(app: FastAPI, pages: _Pages) -> None:
    store = pages.store

    @app.get("/login")
    def login_page(error: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = pages.render("login.html.j2", None, login_csrf=token, error=error)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=pages.secure_cookies)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await pages.form(request, None)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(fields.get("csrf", ""), expected):
            raise HTTPException(403, "The login form's security token is missing or stale; reload the page.")
        # scrypt takes tens of milliseconds: off the event loop.
        found = await run_in_threadpool(store.login, fields.get("name", "").strip(), fields.get("password", ""))
        if found is None:
            return RedirectResponse("/login?error=1", status_code=303)
        token, _ = found
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="strict", secure=pages.secure_cookies, max_age=12 * 3600
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = pages.current(request)
        await pages.form(request, session)
        store.logout(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response


def _label_routes(app: FastAPI, pages: _Pages) -> None:
    store = pages.store

    @app.get("/")
    def home(request: Request) -> HTMLResponse:
        session = pages.current(request)
        tasks = [(t, store.progress(t.id)) for t in store.tasks(session.user)]
        return pages.render("tasks.html.j2", session, tasks=tasks)

    @app.get("/tasks/{task_id}/label")
    def label_page(request: Request, task_id: int) -> HTMLResponse:
        session = pages.current(request)
        task = pages.task_for(session, task_id)
        item = store.next_item(task.id, session.user.id)
        version, schema = store.schema(task.id)
        return pages.render(
            "label.html.j2",
            session,
            task=task,
            item=item,
            schema=schema,
            schema_version=version,
            progress=store.progress(task.id),
        )

    @app.post("/tasks/{task_id}/items/{item_id}")
    async def annotate(request: Request, task_id: int, item_id: int) -> Response:
        session = pages.current(request)
        task = pages.task_for(session, task_id)
        fields = await pages.form(request, session)
        item = pages.item_of(task, item_id)
        skipped = fields.get("action") == "skip"
        label = None if skipped else fields.get("label")
        try:
            await run_in_threadpool(store.annotate, item.id, session.user.id, label, skipped=skipped)
        except TailorError as exc:
            raise HTTPException(400, exc.message) from None
        if task.strategy == "active" and not skipped:
            await run_in_threadpool(_requeue_if_due, store, task)
        return RedirectResponse(f"/tasks/{task.id}/label", status_code=303)


def _requeue_if_due(store: LabelStore, task: Task) -> None:
    """For an ``active`` task: every :data:`REQUEUE_EVERY` annotations, refit and move the least-sure items first."""
    from tailorml.labeling.pilot import queue_active

    if store.progress(task.id)["annotations"] % REQUEUE_EVERY == 0:
        queue_active(store, task, REQUEUE_K)


def _review_routes(app: FastAPI, pages: _Pages) -> None:
    store = pages.store

    @app.get("/tasks/{task_id}/agreement")
    def agreement_page(request: Request, task_id: int) -> HTMLResponse:
        from tailorml.labeling.pilot import label_report

        session = pages.current(request)
        task = pages.task_for(session, task_id, review=True)
        return pages.render("agreement.html.j2", session, task=task, report=label_report(store, task))

    @app.get("/tasks/{task_id}/review")
    def review_page(request: Request, task_id: int) -> HTMLResponse:
        from tailorml.labeling.pilot import disputed_items

        session = pages.current(request)
        task = pages.task_for(session, task_id, review=True)
        _, schema = store.schema(task.id)
        return pages.render(
            "review.html.j2",
            session,
            task=task,
            schema=schema,
            disputed=disputed_items(store, task),
            suspects=store.suspects(task.id),
        )

    @app.post("/tasks/{task_id}/items/{item_id}/adjudicate")
    async def adjudicate(request: Request, task_id: int, item_id: int) -> Response:
        session = pages.current(request)
        task = pages.task_for(session, task_id, review=True)
        fields = await pages.form(request, session)
        item = pages.item_of(task, item_id)
        try:
            store.adjudicate(item.id, fields.get("label", ""), user_id=session.user.id)
        except TailorError as exc:
            raise HTTPException(400, exc.message) from None
        return RedirectResponse(f"/tasks/{task.id}/review", status_code=303)


def serve(store: LabelStore, *, host: str = "127.0.0.1", port: int = 8500) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
