"""The model a server answers with, and the atomic swap to a new champion.

A :class:`ModelHolder` loads the version the ``champion`` alias points at, warms it up and
keeps it as one immutable :class:`LoadedModel`. A reload loads the new version completely
before replacing the reference in one assignment, so a request that already took the old
model finishes on it, and no request ever sees a half-loaded model.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tailorml.abstain import AbstainRule
from tailorml.errors import DataError
from tailorml.tracking import CHAMPION, ModelVersion, Tracker

__all__ = ["LoadedModel", "ModelHolder"]


@dataclass(frozen=True)
class LoadedModel:
    """One loaded, warmed model version and how it abstains."""

    name: str
    version: int
    run_id: str
    path: str
    model: Any
    classes: np.ndarray
    abstain: AbstainRule
    loaded_at: float

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(texts))


class ModelHolder:
    """Holds the serving model; :meth:`reload` swaps in a new champion atomically."""

    def __init__(self, tracker: Tracker, *, alias: str = CHAMPION, cache_dir: Path | None = None) -> None:
        self.tracker = tracker
        self.alias = alias
        self.cache_dir = cache_dir or Path(tempfile.mkdtemp(prefix="tailorml-serve-"))
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()  # one reload at a time; readers never take it

    @property
    def current(self) -> LoadedModel:
        model = self._current
        if model is None:
            raise DataError("no model loaded yet", hint="the server is starting; retry shortly")
        return model

    @property
    def ready(self) -> bool:
        return self._current is not None

    def load(self) -> LoadedModel:
        """Load the alias's version now (raises NotFoundError / DataError with the fix)."""
        with self._lock:
            version = self.tracker.by_alias(self.alias)
            self._current = self._load(version)
            return self._current

    def reload(self) -> bool:
        """Swap in the alias's version if it changed; True when a new model now serves."""
        with self._lock:
            version = self.tracker.by_alias(self.alias)
            if self._current is not None and self._current.version == version.version:
                return False
            self._current = self._load(version)
            return True

    def _load(self, version: ModelVersion) -> LoadedModel:
        from tailorml.paths import load_model

        folder = self.tracker.download(version, self.cache_dir / f"v{version.version}-{time.time_ns()}")
        model_dir = folder if (folder / "path.json").is_file() else folder / "model"
        model = load_model(model_dir)
        if hasattr(model, "set_cache_dir"):  # wrappers pass it on to the models inside
            model.set_cache_dir(None)  # serving computes every request
        elif "cache_dir" in model.get_params():
            model.set_params(cache_dir=None)  # serving computes every request
        classes = np.asarray(model.classes_, dtype=object)
        probe = np.asarray(model.predict_proba(["warm-up request"]))  # load lazy parts before serving
        if probe.shape != (1, len(classes)):
            raise DataError(
                f"model {version.name} v{version.version} returned probabilities of shape {probe.shape}",
                hint="the artifact is corrupt; retrain and register a new version",
            )
        raw_rule = version.tags.get("tailorml.abstain")
        rule = (
            AbstainRule.model_validate(json.loads(raw_rule))
            if raw_rule
            else AbstainRule(threshold=0.0, precision=1.0, coverage=1.0, n=0)
        )
        return LoadedModel(
            name=version.name,
            version=version.version,
            run_id=version.run_id,
            path=version.tags.get("tailorml.path", ""),
            model=model,
            classes=classes,
            abstain=rule,
            loaded_at=time.time(),
        )
