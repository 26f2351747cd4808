"""Model paths: ways to turn labeled texts into a classifier, registered by name.

Every path is a scikit-learn estimator (``fit`` / ``predict`` / ``predict_proba`` /
``classes_``) that also saves to a folder of JSON and ``.npy`` files and loads back without
pickle. Built-in paths register through :func:`register_path`, the same decorator users get,
the first time the registry is read. Importing this package imports neither scikit-learn
nor torch.

Example
-------
>>> from tailorml.paths import create_path
>>> model = create_path("tfidf-linear", C=10.0)
>>> type(model).__name__
'TfidfLinear'
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tailorml.errors import DataError, SpecError

__all__ = [
    "PathInfo",
    "available_paths",
    "create_path",
    "load_model",
    "path_name",
    "register_path",
    "save_model",
]

_T = TypeVar("_T", bound=type)

# Modules whose import registers the built-in paths; read lazily by available_paths().
_BUILTIN_MODULES = (
    "tailorml.paths.tfidf",
    "tailorml.paths.embedding",
    "tailorml.paths.calibrated",
    "tailorml.paths.ensemble",
    "tailorml.paths.finetuned",
    "tailorml.paths.int8",
    "tailorml.paths.distilled",
)
_REGISTRY: dict[str, PathInfo] = {}


@dataclass(frozen=True)
class PathInfo:
    """A registered model path.

    Parameters
    ----------
    name:
        The name a spec uses (``candidates: [tfidf-linear]``).
    cls:
        The estimator class; ``cls(**params)`` makes an unfitted model.
    description:
        One line for ``tailor`` help and reports.
    neural:
        Whether it runs a neural network (needs the ``neural`` extra; slower on CPU).
    seconds_per_1k_train_rows:
        Training time per 1,000 rows measured on the 2-core development machine, used to
        plan which candidates fit a time budget.
    auto:
        Whether ``candidates: auto`` includes it. Paths that cost minutes per thousand rows
        on a CPU (fine-tuning, distillation, int8 exports) are searched only when listed.
    """

    name: str
    cls: type[Any]
    description: str
    neural: bool
    seconds_per_1k_train_rows: float
    auto: bool = True


def register_path(
    name: str, *, description: str, neural: bool, seconds_per_1k_train_rows: float, auto: bool = True
) -> Callable[[_T], _T]:
    """Class decorator that registers a model path under ``name``.

    Parameters
    ----------
    name:
        Unique name; registering a second class under a taken name raises ``ValueError``.
    description, neural, seconds_per_1k_train_rows, auto:
        See :class:`PathInfo`.

    Returns
    -------
    Callable
        The decorator; it returns the class unchanged.

    Example
    -------
    A path is a class with keyword-only parameters stored as given; subclassing
    :class:`~tailorml.paths._base.TextClassifier` supplies the rest of the protocol::

        @register_path("class-prior", description="predicts label frequencies", neural=False,
                       seconds_per_1k_train_rows=0.001)
        class ClassPrior(TextClassifier):
            def __init__(self, *, smoothing: float = 1.0) -> None:
                self.smoothing = smoothing

            def fit(self, X, y): ...             # set classes_ and other state ending in "_"
            def predict_proba(self, X): ...
            def _save_state(self, folder): ...   # JSON / .npy files, never pickle
            def _load_state(self, folder): ...
    """

    def decorator(cls: _T) -> _T:
        taken = _REGISTRY.get(name)
        if taken is not None and _qualified(taken.cls) != _qualified(cls):
            raise ValueError(f"model path {name!r} is already registered to {_qualified(taken.cls)}")
        _REGISTRY[name] = PathInfo(name, cls, description, neural, float(seconds_per_1k_train_rows), auto)
        return cls

    return decorator


def available_paths() -> dict[str, PathInfo]:
    """Every registered model path by name, built-ins first.

    Returns
    -------
    dict[str, PathInfo]
        A copy; changing it does not change the registry.
    """
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def create_path(name: str, **params: Any) -> Any:
    """Make an unfitted model of the path called ``name``.

    Parameters
    ----------
    name:
        A registered name (see :func:`available_paths`).
    **params:
        Constructor parameters of that path.

    Returns
    -------
    estimator
        An unfitted scikit-learn-style estimator.

    Raises
    ------
    tailorml.errors.SpecError
        For an unknown name (with the closest known name) or an unknown parameter.
    """
    info = _info(name)
    try:
        return info.cls(**params)
    except TypeError as exc:
        valid = sorted(info.cls().get_params())
        raise SpecError(
            f"model path {name!r} got invalid parameters {sorted(params)}: {exc}",
            hint=f"parameters of {name}: {', '.join(valid)}",
        ) from None


def path_name(model: Any) -> str:
    """The registered name of ``model``'s class; ``ValueError`` if it is not registered."""
    registry = available_paths()
    for info in registry.values():
        if type(model) is info.cls:
            return info.name
    raise ValueError(
        f"{type(model).__qualname__} is not a registered model path; decorate it with @register_path(...) "
        f"(registered: {', '.join(registry)})"
    )


def save_model(model: Any, folder: str | Path) -> Path:
    """Save a fitted model to ``folder``: ``path.json`` plus the path's own files, no pickle.

    Parameters
    ----------
    model:
        A fitted instance of a registered path.
    folder:
        Created if missing.

    Returns
    -------
    pathlib.Path
        The folder, ready for :func:`load_model`.
    """
    from tailorml.paths._artifact import write_manifest

    path_name(model)  # fail before writing anything for an unregistered class
    folder = Path(folder)
    model.save(folder)
    write_manifest(folder, model)
    return folder


def load_model(folder: str | Path) -> Any:
    """Load a model written by :func:`save_model`, dispatching on ``path.json``.

    Parameters
    ----------
    folder:
        The folder :func:`save_model` wrote.

    Returns
    -------
    estimator
        The fitted model.

    Raises
    ------
    tailorml.errors.DataError
        When the folder is missing, corrupt, or names a path not registered here.
    """
    from tailorml.paths._artifact import read_manifest, reading

    folder = Path(folder)
    manifest = read_manifest(folder)
    registry = available_paths()
    info = registry.get(manifest.path)
    if info is None:
        raise DataError(
            f"artifact {folder} was saved by model path {manifest.path!r}, which is not registered here",
            hint=f"install or import the package that registers it (registered: {', '.join(registry)})",
        )
    with reading(folder):
        return info.cls.load(folder)


def _info(name: str) -> PathInfo:
    registry = available_paths()
    info = registry.get(name)
    if info is None:
        close = difflib.get_close_matches(name, list(registry), n=1, cutoff=0.5)
        guess = f" Did you mean {close[0]!r}?" if close else ""
        raise SpecError(
            f"unknown model path {name!r}.{guess} Known: {', '.join(registry)}",
            hint="register new paths with tailorml.paths.register_path",
        )
    return info


def _qualified(cls: type) -> str:
    # Compared by name, not identity, so that reloading a module re-registers its classes.
    return f"{cls.__module__}.{cls.__qualname__}"
