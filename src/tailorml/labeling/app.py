"""The annotation web app behind ``tailor label serve``: server-rendered pages, keyboard labeling.

Pages:

- ``/login``: name and password (hashed with scrypt in the database).
- ``/``: the tasks this user may see, with their progress.
- ``/tasks/{id}/label``: one item at a time, the schema's labels with descriptions and
  examples; keys 1–9 pick a label (two digits in a row for labels 10 and up), ``s`` skips.
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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from tailorml.errors import TailorError
from tailorml.labeling.store import LabelStore, Session, Task

__all__ = ["create_app"]

SESSION_COOKIE = "tailor_label_session"
LOGIN_CSRF_COOKIE = "tailor_label_login"
MAX_FORM_BYTES = 16_384
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
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def create_app(store: LabelStore, *, data_store: Any = None, secure_cookies: bool = False) -> FastAPI:
    """The app over one labeling database; ``data_store`` enables nothing extra yet but is kept for the CLI."""
    env = _templates()
    static = resources.files("tailorml.labeling") / "static"
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
        return _page(env, "error.html.j2", {"status": exc.status_code, "message": exc.detail, "session": None},
                     status=exc.status_code)

    def page(name: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
        return _page(env, name, {"session": session, **context}, status=status)

    def current(request: Request) -> Session:
        session = store.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise HTTPException(401)
        return session

    def task_for(session: Session, task_id: int, *, review: bool = False) -> Task:
        try:
            task = store.task(task_id)
        except TailorError:
            raise HTTPException(404, "No such task.") from None
        if not store.can_access(session.user, task.id):
            raise HTTPException(404, "No such task.")
        if review and not session.user.can_review:
            raise HTTPException(403, "Only reviewers and admins see this page.")
        return task

    async def form(request: Request, session: Session | None) -> dict[str, str]:
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

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in ("label.js", "label.css"):
            raise HTTPException(404, "No such file.")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response((static / name).read_text(encoding="utf-8"), media_type=media)

    @app.get("/healthz")
    def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/login")
    def login_page(request: Request, error: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page("login.html.j2", None, login_csrf=token, error=error)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request, None)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(fields.get("csrf", ""), expected):
            raise HTTPException(403, "The login form's security token is missing or stale; reload the page.")
        found = store.login(fields.get("name", "").strip(), fields.get("password", ""))
        if found is None:
            return RedirectResponse("/login?error=1", status_code=303)
        token, _ = found
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies, max_age=12 * 3600
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = current(request)
        await form(request, session)
        store.logout(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/")
    def home(request: Request) -> HTMLResponse:
        session = current(request)
        tasks = [(t, store.progress(t.id)) for t in store.tasks(session.user)]
        return page("tasks.html.j2", session, tasks=tasks)

    @app.get("/tasks/{task_id}/label")
    def label_page(request: Request, task_id: int) -> HTMLResponse:
        session = current(request)
        task = task_for(session, task_id)
        item = store.next_item(task.id, session.user.id)
        version, schema = store.schema(task.id)
        return page(
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
        session = current(request)
        task = task_for(session, task_id)
        fields = await form(request, session)
        item = _item_of(store, task, item_id)
        skipped = fields.get("action") == "skip"
        try:
            store.annotate(item.id, session.user.id, None if skipped else fields.get("label"), skipped=skipped)
        except TailorError as exc:
            raise HTTPException(400, exc.message) from None
        return RedirectResponse(f"/tasks/{task.id}/label", status_code=303)

    @app.get("/tasks/{task_id}/agreement")
    def agreement_page(request: Request, task_id: int) -> HTMLResponse:
        from tailorml.labeling.pilot import label_report

        session = current(request)
        task = task_for(session, task_id, review=True)
        report = label_report(store, task)
        return page("agreement.html.j2", session, task=task, report=report)

    @app.get("/tasks/{task_id}/review")
    def review_page(request: Request, task_id: int) -> HTMLResponse:
        from tailorml.labeling.pilot import disputed_items

        session = current(request)
        task = task_for(session, task_id, review=True)
        _, schema = store.schema(task.id)
        return page(
            "review.html.j2",
            session,
            task=task,
            schema=schema,
            disputed=disputed_items(store, task),
            suspects=store.suspects(task.id),
        )

    @app.post("/tasks/{task_id}/items/{item_id}/adjudicate")
    async def adjudicate(request: Request, task_id: int, item_id: int) -> Response:
        session = current(request)
        task = task_for(session, task_id, review=True)
        fields = await form(request, session)
        item = _item_of(store, task, item_id)
        try:
            store.adjudicate(item.id, fields.get("label", ""), user_id=session.user.id)
        except TailorError as exc:
            raise HTTPException(400, exc.message) from None
        return RedirectResponse(f"/tasks/{task.id}/review", status_code=303)

    return app


def _item_of(store: LabelStore, task: Task, item_id: int) -> Any:
    try:
        item = store.item(item_id)
    except TailorError:
        raise HTTPException(404, "No such item.") from None
    if item.task_id != task.id:
        raise HTTPException(404, "No such item.")
    return item


def _page(env: Any, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status)


def serve(store: LabelStore, *, host: str = "127.0.0.1", port: int = 8500, data_store: Any = None) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(store, data_store=data_store), host=host, port=port, log_level="warning")


def template_folder() -> Path:
    return Path(str(resources.files("tailorml.labeling") / "templates"))
