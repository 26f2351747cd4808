"""``tailor serve``: check everything, then bind the port.

:func:`prepare_service` does all that can fail before a port is bound — the spec, the
champion in the registry, its artifact (loaded and warmed), the request log database and
the key store — and raises a TailorError with the fix if any of it is wrong.
"""

from __future__ import annotations

from typing import Any

from tailorml.errors import SpecError
from tailorml.project import Project
from tailorml.serving.app import ServerSettings, Service, create_app, is_loopback
from tailorml.spec import Spec
from tailorml.tracking import Tracker

__all__ = ["prepare_service", "serve"]


def settings_from_spec(spec: Spec, *, require_auth: bool, **overrides: Any) -> ServerSettings:
    """Server settings from ``serving`` in the spec; keyword arguments (not None) override them."""
    s = spec.serving
    values: dict[str, Any] = {
        "max_batch": s.max_batch,
        "max_input_chars": s.max_input_chars,
        "max_body_bytes": s.max_body_bytes,
        "rate_limit_per_s": s.rate_limit_per_s,
        "batch_window_ms": s.batch_window_ms,
        "top_k": s.top_k,
        "require_auth": require_auth,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ServerSettings(**values)


def prepare_service(spec: Spec, *, require_auth: bool = True, **overrides: Any) -> Service:
    """Load the champion and open the log and keys; raise with the fix when anything is wrong."""
    from tailorml.serving.holder import ModelHolder
    from tailorml.serving.keys import KeyStore
    from tailorml.serving.requestlog import RequestLog

    home = Project.at(spec.root).home
    holder = ModelHolder(Tracker.for_project(spec), cache_dir=home / "serving" / "models")
    holder.load()
    log_url = spec.serving.log_url(spec.root)
    log = RequestLog(log_url, redact_pii_kinds=tuple(spec.privacy.redact_pii))
    keys = KeyStore(log_url) if require_auth else None
    return Service(
        holder=holder,
        log=log,
        keys=keys,
        settings=settings_from_spec(spec, require_auth=require_auth, **overrides),
    )


def serve(
    spec: Spec,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    no_auth: bool = False,
    log_level: str = "warning",
    **overrides: Any,
) -> None:
    """Check, then answer HTTP on ``host:port`` until interrupted."""
    import uvicorn

    if no_auth and not is_loopback(host):
        raise SpecError(
            f"--no-auth is only allowed on a loopback address; got --host {host}",
            hint="drop --no-auth and create keys with `tailor keys create NAME`, or bind to 127.0.0.1",
        )
    service = prepare_service(spec, require_auth=not no_auth, **overrides)
    app = create_app(service)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def keys_url(spec: Spec) -> str:
    """Where a project's API keys live: beside its request log."""
    return spec.serving.log_url(spec.root)
