"""The HTTP API: predictions, health, metrics, the review queue and model reloads.

Routes are thin: parse and validate, authenticate, rate-limit, hand inputs to the
micro-batcher, write every prediction to the request log (and wait for the commit), then
answer. Every error a client can cause is a 4xx with the one JSON error shape of
:func:`tailorml.errors.error_body`; anything else is a 500 with the same shape and no trace.
"""

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import time
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tailorml.errors import NotFoundError, TailorError, error_body
from tailorml.serving.answers import PredictResponse, log_row, make_prediction
from tailorml.serving.batching import MicroBatcher
from tailorml.serving.holder import LoadedModel, ModelHolder
from tailorml.serving.keys import KeyInfo, KeyStore, RateLimiter
from tailorml.serving.requestlog import LogWriter, RequestLog
from tailorml.serving.telemetry import ServingMetrics

__all__ = ["ServerSettings", "Service", "create_app"]


class Unauthorized(TailorError):
    http_status = 401
    kind = "unauthorized"


class RateLimited(TailorError):
    http_status = 429
    kind = "rate_limited"


class TooLarge(TailorError):
    http_status = 413
    kind = "too_large"


class BadRequest(TailorError):
    http_status = 400
    kind = "bad_request"


class NotReady(TailorError):
    http_status = 503
    kind = "not_ready"


@dataclass(frozen=True)
class ServerSettings:
    """Limits and switches of one server (from ``serving`` in tailor.yaml and the CLI)."""

    max_batch: int = 256
    max_input_chars: int = 5000
    max_body_bytes: int = 1_000_000
    rate_limit_per_s: float = 100.0
    batch_window_ms: float = 3.0
    top_k: int = 3
    require_auth: bool = True
    watch_seconds: float = 5.0  # how often the registry is checked for a new champion; 0 = never
    workers: int = 1
    model_batch: int = 32  # most inputs in one model call (1 turns micro-batching off)


@dataclass
class Service:
    """Everything a server holds: the model, the batcher, the log, the keys and the metrics."""

    holder: ModelHolder
    log: RequestLog
    keys: KeyStore | None
    settings: ServerSettings

    def __post_init__(self) -> None:
        self.metrics = ServingMetrics()
        self.limiter = RateLimiter(self.settings.rate_limit_per_s)
        self.batcher = MicroBatcher(
            self._predict,
            max_batch=self.settings.model_batch,
            max_wait_ms=self.settings.batch_window_ms,
            workers=self.settings.workers,
        )
        self.writer = LogWriter(self.log)

    def _predict(self, texts: list[str]) -> list[tuple[LoadedModel, np.ndarray]]:
        model = self.holder.current  # one model for the whole batch, even if a swap happens now
        proba = model.predict_proba(texts)
        self.metrics.observe_batch(len(texts))
        return [(model, row) for row in proba]


class PredictRequest(BaseModel):
    """One input (``input``) or several (``inputs``)."""

    model_config = ConfigDict(extra="forbid")

    input: Annotated[str, StringConstraints(min_length=1)] | None = Field(None, description="one text to classify")
    inputs: list[Annotated[str, StringConstraints(min_length=1)]] | None = Field(
        None, min_length=1, description="several texts to classify in one request"
    )
    top_k: int | None = Field(None, ge=1, le=20, description="alternatives to return (default: serving.top_k)")

    @model_validator(mode="after")
    def _one_form(self) -> "PredictRequest":
        if (self.input is None) == (self.inputs is None):
            raise ValueError("give exactly one of `input` (a string) or `inputs` (a list of strings)")
        return self

    @property
    def texts(self) -> list[str]:
        return [self.input] if self.input is not None else list(self.inputs or [])


class ReviewAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    by: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "api"


def create_app(service: Service) -> FastAPI:
    """The FastAPI application for a prepared :class:`Service` (its model already loaded)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.writer.start()
        service.batcher.start()
        current = service.holder.current
        service.metrics.set_model(current.name, str(current.version))
        watcher = asyncio.create_task(_watch(service)) if service.settings.watch_seconds > 0 else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await service.batcher.stop()
            service.writer.close()

    app = FastAPI(
        title="tailorml model server",
        version="1",
        description="Predictions from the project's champion model; every request is logged.",
        lifespan=lifespan,
    )
    _install_error_handlers(app)
    _install_limits(app, service)
    auth = _auth_dependency(service)

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="A model is loaded and warmed")
    async def readyz() -> dict[str, Any]:
        if not service.holder.ready:
            raise NotReady("no model loaded yet", hint="retry shortly")
        current = service.holder.current
        return {"status": "ready", "model": {"name": current.name, "version": current.version}}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        service.metrics.set_pending_reviews(service.log.review_counts().get("pending", 0))
        body, content_type = service.metrics.render()
        return Response(content=body, media_type=content_type)

    @app.post("/v1/predict", response_model=PredictResponse, summary="Classify one input or a batch")
    async def predict(body: PredictRequest, key: Annotated[KeyInfo | None, Depends(auth)]) -> Response:
        start = time.perf_counter()
        texts = body.texts
        _check_inputs(texts, service.settings)
        results = await service.batcher.submit(texts)
        model = results[0][0]
        k = min(body.top_k or service.settings.top_k, len(model.classes))
        elapsed_ms = (time.perf_counter() - start) * 1000
        now = dt.datetime.now(dt.UTC)
        predictions, rows = [], []
        for text, (used, proba) in zip(texts, results, strict=True):
            prediction = make_prediction(used, proba, k)
            predictions.append(prediction)
            rows.append(log_row(prediction, text, used, elapsed_ms, now, key.id if key else None))
        await asyncio.gather(*(service.writer.write(row) for row in rows))
        service.metrics.observe_predictions([p.label for p in predictions], [p.abstained for p in predictions])
        answer = PredictResponse(model={"name": model.name, "version": model.version}, predictions=predictions)
        # Serialized once here: the response model above documents the shape, and skipping
        # FastAPI's re-validation of what we just built saves a copy on the hot path.
        return Response(content=answer.model_dump_json(), media_type="application/json")

    @app.get("/v1/review", summary="Requests waiting for a person")
    async def pending(
        key: Annotated[KeyInfo | None, Depends(auth)], limit: int = 20
    ) -> dict[str, list[dict[str, Any]]]:
        items = service.log.pending_reviews(limit=max(1, min(limit, 500)))
        return {"items": [_jsonable(item) for item in items]}

    @app.post("/v1/review/{request_id}", summary="Answer a review item with the right label")
    async def answer(
        request_id: str, body: ReviewAnswer, key: Annotated[KeyInfo | None, Depends(auth)]
    ) -> dict[str, str]:
        service.log.answer_review(request_id, body.label, by=body.by)
        return {"status": "answered", "request_id": request_id}

    @app.post("/v1/reload", summary="Load the champion now if it changed")
    async def reload(key: Annotated[KeyInfo | None, Depends(auth)]) -> dict[str, Any]:
        changed = await asyncio.to_thread(service.holder.reload)
        current = service.holder.current
        service.metrics.set_model(current.name, str(current.version))
        return {"reloaded": changed, "model": {"name": current.name, "version": current.version}}

    return app


async def _watch(service: Service) -> None:
    """Poll the registry and swap in a new champion; a failed check is retried next time."""
    while True:
        await asyncio.sleep(service.settings.watch_seconds)
        with contextlib.suppress(TailorError):
            if await asyncio.to_thread(service.holder.reload):
                current = service.holder.current
                service.metrics.set_model(current.name, str(current.version))


def _check_inputs(texts: list[str], settings: ServerSettings) -> None:
    if len(texts) > settings.max_batch:
        raise TooLarge(
            f"the request carries {len(texts):,} inputs; at most {settings.max_batch:,} are accepted",
            hint="split it into several requests (serving.max_batch)",
        )
    for i, text in enumerate(texts):
        if len(text) > settings.max_input_chars:
            raise TooLarge(
                f"input {i} is {len(text):,} characters; at most {settings.max_input_chars:,} are accepted",
                hint="shorten it (serving.max_input_chars)",
            )


def _jsonable(item: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in item.items():
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif key == "topk" and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def _auth_dependency(service: Service) -> Any:
    async def authenticate(request: Request) -> KeyInfo | None:
        if not service.settings.require_auth:
            return None
        token = _token(request)
        if token is None:
            raise Unauthorized(
                "this server needs an API key",
                hint="send `Authorization: Bearer <key>`; create one with `tailor keys create NAME`",
            )
        assert service.keys is not None
        key = await asyncio.to_thread(service.keys.verify, token)
        if key is None:
            raise Unauthorized("the API key is not valid or was revoked", hint="create a new one: tailor keys create")
        allowed, retry_after = service.limiter.allow(key.id, key.rate_per_s)
        if not allowed:
            raise RateLimited(
                f"key {key.id} is over its rate limit",
                hint=f"retry after {retry_after:.2f} s",
                details={"retry_after_s": round(retry_after, 3)},
            )
        return key

    return authenticate


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _install_limits(app: FastAPI, service: Service) -> None:
    app.add_middleware(_LimitsAndMetrics, service=service)


class _LimitsAndMetrics:
    """Plain ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path).

    Refuses bodies over ``max_body_bytes`` (declared or streamed), turns any unexpected
    exception into a 500 with the JSON error shape and no trace, and times every request.
    """

    def __init__(self, app: Any, service: Service) -> None:
        self.app = app
        self.service = service
        self.limit = service.settings.max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _error_response(self._too_large())(scope, receive, send_and_note)
        else:
            try:
                await self.app(scope, self._bounded(receive), send_and_note)
            except Exception:  # the last line of defence: never a stack trace to the client
                if not started:
                    error = TailorError("internal error", hint="the server log has the details")
                    await _error_response(error, status=500)(scope, receive, send_and_note)
        route = getattr(scope.get("route"), "path", "unmatched")
        self.service.metrics.observe_request(route, status, time.perf_counter() - start)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"the request body is over {self.limit:,} bytes", hint="send smaller batches")

    def _bounded(self, receive: Any) -> Any:
        seen = 0

        async def bounded_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise self._too_large()
            return message

        return bounded_receive


def _error_response(error: TailorError, status: int | None = None) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=status or error.http_status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TailorError)
    async def tailor_error(_request: Request, exc: TailorError) -> JSONResponse:
        response = _error_response(exc, status=404 if isinstance(exc, NotFoundError) else None)
        if isinstance(exc, RateLimited) and isinstance(exc.details, dict):
            response.headers["Retry-After"] = str(max(1, round(exc.details["retry_after_s"] + 0.5)))
        return response

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        error = TailorError("the request log database is unavailable", hint="retry shortly; nothing was answered")
        error.kind = "unavailable"
        return _error_response(error, status=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"path": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]} for err in exc.errors()
        ]
        first = problems[0] if problems else {"path": "", "message": "invalid request"}
        where = f"{first['path']}: " if first["path"] else ""
        return _error_response(
            BadRequest(
                f"invalid request: {where}{first['message']}",
                hint='send JSON like {"input": "where is my order?"} or {"inputs": ["...", "..."]}',
                details=problems,
            ),
            status=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not_found", 405: "method_not_allowed"}
        error = TailorError(str(exc.detail), hint="see /docs for the routes")
        error.kind = kinds.get(exc.status_code, "http_error")
        return _error_response(error, status=exc.status_code)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
