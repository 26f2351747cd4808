"""``tailor.yaml``: the one place where user input is validated.

The spec is a tree of pydantic models. :func:`load_spec` reads the file safely, validates
structure and types, then checks what pydantic cannot see (objectives against the metric
catalog, the hardware profile against the price table). Every problem is reported at once,
each naming its key path, its line, the value received, what is allowed, and the fix.
Downstream code trusts a loaded :class:`Spec`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from tailorml.errors import SpecError
from tailorml.metrics import METRICS

__all__ = ["DEFAULT_SPEC_NAME", "Problem", "Spec", "load_spec", "parse_spec"]

DEFAULT_SPEC_NAME = "tailor.yaml"
PII_KINDS = ("email", "phone", "card", "iban")
TASK_KINDS = ("text-classification",)
_PLANNED_KINDS = ("tabular-classification", "tabular-regression", "image-classification")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(_Section):
    kind: str = Field(
        "text-classification",
        description="what the model does; supported: text-classification",
    )
    input: str = Field(description="column holding the model input")
    target: str = Field(description="column holding the label to predict")
    out_of_scope: str | None = Field(None, description="the label meaning 'none of the above', if the data has one")
    groups: list[str] = Field(default_factory=list, description="columns to slice quality by, for fairness")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value in TASK_KINDS:
            return value
        if value in _PLANNED_KINDS:
            raise ValueError(f"{value} is planned but not supported yet; use text-classification")
        raise ValueError(f"must be one of: {', '.join(TASK_KINDS)}; got {value!r}.{_did_you_mean(value, TASK_KINDS)}")

    @model_validator(mode="after")
    def _distinct_columns(self) -> Task:
        if self.input == self.target:
            raise ValueError(f"task.input and task.target are both {self.input!r}; they must differ")
        for column in self.groups:
            if column in (self.input, self.target):
                raise ValueError(f"task.groups lists {column!r}, which is the input or target column")
        return self


class SplitSpec(_Section):
    validation: float = Field(
        0.1, ge=0, lt=1, description="fraction of rows for validation (unused with data.validation)"
    )
    test: float = Field(0.2, ge=0, lt=1, description="fraction of rows held out for test (unused with data.test)")
    seed: int = Field(7, description="seed of the split: the same seed gives the same split")

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> SplitSpec:
        if self.validation + self.test >= 0.9:
            raise ValueError(
                f"validation ({self.validation:g}) + test ({self.test:g}) leave less than 10% of rows "
                "for training; lower them (0.1 and 0.2 are typical)"
            )
        return self


class CheckSpec(_Section):
    max_input_chars: int = Field(1000, gt=0, description="inputs longer than this are flagged")
    near_duplicate_similarity: float = Field(
        0.8, ge=0.5, le=1, description="similarity above which two inputs are near-duplicates"
    )
    max_imbalance_ratio: float = Field(
        20, gt=1, description="largest / smallest class size above which imbalance is flagged"
    )


class DataSpec(_Section):
    train: str = Field(description="training data file: CSV, TSV, JSON Lines or Parquet")
    test: str | None = Field(None, description="test data file; split off the training data when absent")
    validation: str | None = Field(
        None,
        description="validation data file (calibration, thresholds, early stopping, ensemble weights); "
        "split off the training data when absent",
    )
    encoding: str = Field("utf-8", description="text encoding of CSV / JSON Lines files")
    split: SplitSpec = Field(default_factory=SplitSpec, description="how held-out rows are chosen")
    checks: CheckSpec = Field(default_factory=CheckSpec, description="thresholds of the data checks")


class Objective(_Section):
    min: float | None = Field(None, description="the measured value must be at least this")
    max: float | None = Field(None, description="the measured value must be at most this")


class Budget(_Section):
    train_minutes: float = Field(30, gt=0, description="wall-clock limit for training all candidates")


class Abstain(_Section):
    target_precision: float | None = Field(
        None, gt=0, le=1, description="abstain below the confidence that reaches this precision"
    )
    coverage: float | None = Field(None, gt=0, le=1, description="answer this share of requests, abstain on the rest")

    @model_validator(mode="after")
    def _one_rule(self) -> Abstain:
        if self.target_precision is not None and self.coverage is not None:
            raise ValueError("set either target_precision or coverage, not both")
        if self.target_precision is None and self.coverage is None:
            raise ValueError("set target_precision (e.g. 0.98) or coverage (e.g. 0.9)")
        return self


class Calibration(_Section):
    method: Literal["auto", "temperature", "isotonic", "none"] = Field(
        "auto",
        description="how probabilities are calibrated on the validation side: auto picks the method with the "
        "lowest cross-validated ECE there",
    )


class OutOfScopeDetection(_Section):
    score: Literal["auto", "max_prob", "energy", "centroid"] = Field(
        "auto",
        description="out-of-scope score: auto keeps the one with the best validation AUROC; centroid needs "
        "embeddings (embedding-linear)",
    )
    threshold_rule: Literal["auto", "reach_recall", "keep_in_scope_accuracy"] = Field(
        "auto",
        description="how the threshold is chosen on validation: reach_recall (reach target_recall, then the best "
        "accuracy) or keep_in_scope_accuracy (flag as many inputs as validation in-scope accuracy allows, down to "
        "min_in_scope_accuracy; robust when production's out-of-scope inputs are harder than validation's); auto: "
        "keep_in_scope_accuracy when both a recall target and an in-scope floor are known, else reach_recall",
    )
    target_recall: float | None = Field(
        None,
        gt=0,
        le=1,
        description="out-of-scope recall the threshold must reach on validation; default: objectives.oos_recall.min, "
        "else the best validation accuracy",
    )
    min_in_scope_accuracy: float | None = Field(
        None,
        gt=0,
        le=1,
        description="in-scope accuracy keep_in_scope_accuracy must keep on validation; default: "
        "objectives.in_scope_accuracy.min",
    )
    confidence: float | None = Field(
        None,
        ge=0.5,
        lt=1,
        description="reach the recall, or keep the floor, with this confidence: the lower bound of the validation "
        "proportion must reach it (e.g. 0.95; needs enough validation rows); default: the point estimate",
    )
    expected_rate: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="share of production inputs expected to be out of scope (from traffic logs); the output "
        "probability of out-of-scope is moved to it from validation's share; default: validation's share",
    )


class Serving(_Section):
    abstain: Abstain | None = Field(None, description="when to send a request to human review")
    log: str = Field(
        "sqlite:///.tailor/requests.db",
        description="request log database URL: sqlite:///PATH or postgresql://...",
    )
    retention_days: int | None = Field(None, gt=0, description="delete logged requests older than this")
    max_batch: int = Field(256, gt=0, le=10_000, description="most inputs one request may carry")
    max_input_chars: int = Field(5000, gt=0, description="longest input accepted, in characters")
    max_body_bytes: int = Field(1_000_000, gt=0, description="largest request body accepted, in bytes")
    rate_limit_per_s: float = Field(100, gt=0, description="requests per second per API key (a key may set its own)")
    batch_window_ms: float = Field(
        3, ge=0, le=100, description="how long a request waits for others to share one model call"
    )
    top_k: int = Field(3, gt=0, le=20, description="alternatives returned with each prediction")

    def log_url(self, root: Path) -> str:
        """The request log URL with a relative SQLite path made absolute against ``root``."""
        prefix = "sqlite:///"
        if self.log.startswith(prefix) and not Path(self.log[len(prefix) :]).is_absolute():
            return prefix + str(root / self.log[len(prefix) :])
        return self.log

    @field_validator("log")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not re.match(r"^(sqlite:///|postgresql(\+\w+)?://)", value):
            raise ValueError(f"must be a database URL starting with sqlite:/// or postgresql://; got {value!r}")
        return value


class Drift(_Section):
    psi_warn: float = Field(0.1, gt=0, description="population stability index at which a window warns")
    psi_max: float = Field(0.2, gt=0, description="population stability index above which a window alerts")
    js_max: float = Field(
        0.1, gt=0, le=1, description="Jensen-Shannon divergence of the predicted-class mix that alerts"
    )
    embedding_p_min: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="p-value of the MMD test between window and reference input embeddings below which a window alerts",
    )
    oov_increase_max: float = Field(
        0.15, gt=0, le=1, description="rise in the share of out-of-vocabulary words that alerts"
    )
    rate_increase_max: float = Field(
        0.15, gt=0, le=1, description="rise in the abstention or out-of-scope rate over the reference that alerts"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Drift:
        if self.psi_warn >= self.psi_max:
            raise ValueError(f"psi_warn ({self.psi_warn:g}) must be below psi_max ({self.psi_max:g})")
        return self


class Alerts(_Section):
    webhook: str | None = Field(None, description="URL that receives each alert as a JSON POST")
    command: str | None = Field(None, description="shell command run with each alert as JSON on stdin")

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError(f"must be an http(s) URL; got {value!r}")
        return value


class Monitoring(_Section):
    window: int = Field(1000, gt=0, description="requests per monitoring window (window_by: count)")
    window_by: Literal["count", "time"] = Field("count", description="cut windows by request count or by time")
    window_minutes: float = Field(60, gt=0, description="minutes per window (window_by: time)")
    embedding_drift: bool = Field(True, description="measure drift of sentence embeddings (loads the MiniLM encoder)")
    drift: Drift = Field(default_factory=Drift, description="drift thresholds")
    alerts: Alerts = Field(default_factory=Alerts, description="where alerts go besides the log line")


class Privacy(_Section):
    redact_pii: list[str] = Field(
        default_factory=list,
        description="kinds of personal data to replace before storing: true for all "
        "(email, phone, card, iban) or a list",
    )
    drop_columns: list[str] = Field(default_factory=list, description="columns removed before storing")

    @field_validator("redact_pii", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if value is True:
            return list(PII_KINDS)
        if value is False or value is None:
            return []
        if isinstance(value, list):
            for kind in value:
                if kind not in PII_KINDS:
                    raise ValueError(
                        f"unknown kind of personal data {kind!r}; allowed: {', '.join(PII_KINDS)}."
                        f"{_did_you_mean(str(kind), PII_KINDS)}"
                    )
        return value


class Spec(_Section):
    """A validated ``tailor.yaml``. Build one with :func:`load_spec` or :func:`parse_spec`."""

    project: str = Field(description="project name: lowercase letters, digits and dashes")
    task: Task = Field(description="what the model does and which columns it uses")
    data: DataSpec = Field(description="where the data is and how it is split and checked")
    objectives: dict[str, Objective] = Field(
        default_factory=dict, description="metric name -> {min: x} or {max: x}; each becomes a gate"
    )
    hardware: str = Field("cpu-2", description="hardware profile where latency and cost are measured")
    prices: str | None = Field(None, description="a price table file overriding the shipped one")
    budget: Budget = Field(default_factory=Budget, description="limits on training")
    candidates: Literal["auto"] | list[str] = Field(
        "auto", description="model paths to try: auto (every path that fits the budget), or a list of names"
    )
    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking server or database for runs and the model registry; "
        "default: a SQLite file under .tailor/",
    )
    calibration: Calibration = Field(default_factory=Calibration, description="probability calibration")
    out_of_scope_detection: OutOfScopeDetection = Field(
        default_factory=OutOfScopeDetection, description="how out-of-scope inputs are detected (with task.out_of_scope)"
    )
    ensemble: Literal["auto", "none"] | list[str] = Field(
        "auto",
        description="an extra candidate averaging candidates' calibrated probabilities (see ensemble_weights): "
        "auto (the two best on validation), none, or a list of two or more candidate names",
    )
    ensemble_weights: Literal["equal", "log_loss"] = Field(
        "equal",
        description="how the ensemble weighs its members: equal, or log_loss (the weights minimizing the "
        "validation log loss, which favour the best-calibrated member)",
    )
    serving: Serving = Field(default_factory=Serving, description="how the chosen model answers")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="drift thresholds")
    privacy: Privacy = Field(default_factory=Privacy, description="personal data handling")

    _root: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("project")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
            suggestion = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-") or "my-project"
            raise ValueError(
                f"must be lowercase letters, digits and dashes; got {value!r}. Did you mean {suggestion!r}?"
            )
        return value

    @field_validator("candidates", mode="before")
    @classmethod
    def _candidates(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "auto":
            raise ValueError(f"must be `auto` or a list of model path names; got {value!r}")
        if isinstance(value, list):
            if not value:
                raise ValueError("is an empty list; name at least one model path, or write `auto`")
            if not all(isinstance(name, str) for name in value):
                raise ValueError(f"must list model path names as strings; got {value!r}")
            if len(set(map(str, value))) != len(value):
                raise ValueError(f"lists a model path twice: {value}")
        return value

    @field_validator("ensemble", mode="before")
    @classmethod
    def _ensemble(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("auto", "none"):
            raise ValueError(f"must be auto, none, or a list of two or more candidate names; got {value!r}")
        if isinstance(value, list) and (len(value) < 2 or len(set(map(str, value))) != len(value)):
            raise ValueError(
                f"must name two or more different candidates, e.g. [tfidf-linear, embedding-linear]; got {value}"
            )
        return value

    @model_validator(mode="after")
    def _ensemble_members_are_candidates(self) -> Spec:
        if isinstance(self.ensemble, list) and isinstance(self.candidates, list):
            missing = [m for m in self.ensemble if m not in self.candidates]
            if missing:
                raise ValueError(
                    f"ensemble lists {missing}, which candidates does not; add them to candidates or change ensemble"
                )
        if "out_of_scope_detection" in self.model_fields_set and self.task.out_of_scope is None:
            raise ValueError(
                "out_of_scope_detection needs task.out_of_scope (the label meaning 'none of the above'); set it"
            )
        rule = self.out_of_scope_detection.threshold_rule
        if rule == "keep_in_scope_accuracy" and self.in_scope_floor() is None:
            raise ValueError(
                "out_of_scope_detection.threshold_rule keep_in_scope_accuracy needs a floor: set "
                "out_of_scope_detection.min_in_scope_accuracy or objectives.in_scope_accuracy.min"
            )
        if rule == "reach_recall" and self.oos_target_recall() is None:
            raise ValueError(
                "out_of_scope_detection.threshold_rule reach_recall needs a recall: set "
                "out_of_scope_detection.target_recall or objectives.oos_recall.min"
            )
        return self

    def oos_target_recall(self) -> float | None:
        """The out-of-scope recall to reach on validation: the detection setting, else the objective."""
        objective = self.objectives.get("oos_recall")
        fallback = objective.min if objective is not None else None
        return self.out_of_scope_detection.target_recall or fallback

    def in_scope_floor(self) -> float | None:
        """The in-scope accuracy to keep on validation: the detection setting, else the objective."""
        objective = self.objectives.get("in_scope_accuracy")
        fallback = objective.min if objective is not None else None
        return self.out_of_scope_detection.min_in_scope_accuracy or fallback

    def oos_threshold_rule(self) -> str:
        """``threshold_rule`` with ``auto`` resolved."""
        rule = self.out_of_scope_detection.threshold_rule
        if rule != "auto":
            return rule
        both = self.oos_target_recall() is not None and self.in_scope_floor() is not None
        return "keep_in_scope_accuracy" if both else "reach_recall"

    @property
    def root(self) -> Path:
        """The folder the spec lives in; relative paths in the spec are relative to it."""
        return self._root

    def resolve(self, relative: str | Path) -> Path:
        """A path from the spec, made absolute against the spec's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self._root / path

    def spec_hash(self) -> str:
        """A short hash of the spec's content, recorded with every run it produces."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Problem(BaseModel):
    """One thing wrong with a spec."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


def load_spec(path: str | Path = DEFAULT_SPEC_NAME) -> Spec:
    """Read and validate a spec file.

    Parameters
    ----------
    path:
        The YAML file; relative paths inside it resolve against its folder.

    Returns
    -------
    Spec
        The validated spec.

    Raises
    ------
    SpecError
        The file is missing, unsafe, not YAML, or invalid; ``details`` lists every problem.

    Example
    -------
    >>> spec = load_spec("tailor.yaml")  # doctest: +SKIP
    >>> spec.objectives["accuracy"].min  # doctest: +SKIP
    0.9
    """
    from tailorml._yaml import read_yaml

    path = Path(path)
    data, lines = read_yaml(path)
    return parse_spec(data, root=path.resolve().parent, lines=lines, source=str(path))


def parse_spec(
    data: Any,
    *,
    root: Path | None = None,
    lines: dict[tuple[str, ...], int] | None = None,
    source: str = DEFAULT_SPEC_NAME,
) -> Spec:
    """Validate an already parsed spec (a dict); see :func:`load_spec`."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{source} must be a mapping of keys (project, task, data, ...); got {type(data).__name__}",
            hint="run `tailor init` to see a complete example",
        )
    root = root or Path.cwd()
    problems = _catalog_problems(data, root, lines)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_pydantic(err, lines) for err in exc.errors()] + problems
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise _spec_error(source, problems)
    spec._root = root
    return spec


def _spec_error(source: str, problems: list[Problem]) -> SpecError:
    if len(problems) == 1:
        message = f"{source}: {problems[0]}"
    else:
        listed = "\n".join(f"  - {p}" for p in problems)
        message = f"{source} has {len(problems)} problems:\n{listed}"
    return SpecError(
        message,
        hint="fix the keys named above; `tailor init --example customer-service` writes a valid spec",
        details=[p.model_dump() for p in problems],
    )


# ---------------------------------------------------------------------------------------
# Turning pydantic's errors into ones that name the key, the value and the fix.


def _key_path(loc: tuple[Any, ...]) -> tuple[str, ...]:
    # Union members add their type name to the location ("list[str]", "literal['auto']").
    return tuple(str(part) for part in loc if not (isinstance(part, str) and "[" in part))


def _format_path(parts: tuple[str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _parent_model(parts: tuple[str, ...]) -> type[BaseModel] | None:
    """The model class that holds the last key of ``parts``."""
    model: type[BaseModel] | None = Spec
    for i, part in enumerate(parts[:-1]):
        if model is None:
            return None
        if model is Spec and part == "objectives":  # objectives.<metric>.<bound>
            return Objective if len(parts) == i + 3 else None
        field = model.model_fields.get(part)
        model = _first_model(field.annotation) if field else None
    return model


def _problem_from_pydantic(err: Any, lines: dict[tuple[str, ...], int]) -> Problem:
    parts = _key_path(tuple(err["loc"]))
    path = _format_path(parts)
    line = lines.get(parts) or lines.get(parts[:-1])
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        parent = _parent_model(parts)
        allowed = list(parent.model_fields) if parent else []
        key = parts[-1] if parts else "?"
        where = _format_path(parts[:-1]) or "the top level"
        message = f"unknown key {key!r} in {where}"
        if allowed:
            message += f"; allowed: {', '.join(allowed)}.{_did_you_mean(key, allowed)}"
        return Problem(path=path, message=message, line=line)
    if kind == "missing":
        parent = _parent_model(parts)
        field = parent.model_fields.get(parts[-1]) if parent and parts else None
        what = f" ({field.description})" if field and field.description else ""
        return Problem(path=path, message=f"is required{what}; add it", line=line)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(
            path=path,
            message=f"must be a mapping of keys; got {_show(value)}",
            line=line,
        )
    message = str(err["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.replace("Input should be", "must be")
    if kind != "value_error" and "got" not in message:
        message += f"; got {_show(value)}"
    return Problem(path=path, message=message, line=line)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(value: str, allowed: Any) -> str:
    """' Did you mean X?' for the closest allowed value, or ''; goes after a full stop."""
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# ---------------------------------------------------------------------------------------
# Checks that need the whole spec or the catalogs.


def _catalog_problems(data: dict[str, Any], root: Path, lines: dict[tuple[str, ...], int]) -> list[Problem]:
    """Objectives against the metric catalog, hardware against the price table.

    Run on the raw mapping, so these are reported together with any structural problems.
    """
    problems: list[Problem] = []
    objectives = data.get("objectives")
    raw_task = data.get("task")
    task: dict[str, Any] = raw_task if isinstance(raw_task, dict) else {}
    if isinstance(objectives, dict):
        for name, bounds in objectives.items():
            bounds = bounds if isinstance(bounds, dict) else {}
            problems.extend(_objective_problems(str(name), bounds, task, lines))
    hardware, prices = data.get("hardware", "cpu-2"), data.get("prices")
    if isinstance(hardware, str) and (prices is None or isinstance(prices, str)):
        problems.extend(_hardware_problems(hardware, prices, root, lines))
    return problems


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _objective_problems(
    name: str, bounds: dict[str, Any], task: dict[str, Any], lines: dict[tuple[str, ...], int]
) -> list[Problem]:
    base = ("objectives", name)
    info = METRICS.get(name)
    if info is None:
        return [
            Problem(
                path=_format_path(base),
                message=f"unknown metric {name!r}.{_did_you_mean(name, METRICS)} Known metrics: {', '.join(METRICS)}",
                line=lines.get(base),
            )
        ]
    problems = []
    wrong = "max" if info.bound == "min" else "min"
    wrong_value = _number(bounds.get(wrong))
    if wrong_value is not None:
        better = "higher" if info.bound == "min" else "lower"
        problems.append(
            Problem(
                path=_format_path((*base, wrong)),
                message=f"{name} is {better}-is-better, so its objective is a `{info.bound}`; "
                f"write {name}: {{{info.bound}: {wrong_value:g}}}",
                line=lines.get((*base, wrong)),
            )
        )
    value = _number(bounds.get(info.bound))
    if value is None:
        if not problems and info.bound not in bounds:
            problems.append(
                Problem(
                    path=_format_path(base),
                    message=f"sets no bound; write {name}: {{{info.bound}: <value>}}",
                    line=lines.get(base),
                )
            )
        return problems
    where = _format_path((*base, info.bound))
    line = lines.get((*base, info.bound))
    if info.is_fraction and not 0 <= value <= 1:
        hint = f" Did you mean {value / 100:g}?" if 1 < value <= 100 else ""
        problems.append(Problem(path=where, message=f"must be in [0, 1]; got {value:g}.{hint}", line=line))
    elif info.low is not None and value < info.low:
        problems.append(Problem(path=where, message=f"must be at least {info.low:g}; got {value:g}", line=line))
    elif info.bound == "max" and info.low is not None and value <= info.low and not info.is_fraction:
        problems.append(
            Problem(
                path=where,
                message=f"{name} is always above {info.low:g}{info.unit and ' ' + info.unit}, so "
                f"max {value:g} cannot be met; set a positive limit",
                line=line,
            )
        )
    if info.requires == "out_of_scope" and task.get("out_of_scope") is None:
        problems.append(
            Problem(
                path=_format_path(base),
                message=f"{name} needs task.out_of_scope (the label meaning 'none of the above'); "
                "set it, or drop this objective",
                line=lines.get(base),
            )
        )
    if info.requires == "groups" and not task.get("groups"):
        problems.append(
            Problem(
                path=_format_path(base),
                message=f"{name} needs task.groups (the columns to compare groups by); set it, or drop this objective",
                line=lines.get(base),
            )
        )
    return problems


def _hardware_problems(
    hardware: str, prices: str | None, root: Path, lines: dict[tuple[str, ...], int]
) -> list[Problem]:
    from tailorml.hardware import load_price_table

    try:
        table = load_price_table(root / Path(prices).expanduser() if prices else None)
    except SpecError as exc:
        return [Problem(path="prices", message=exc.message, line=lines.get(("prices",)))]
    if hardware in table.profiles:
        return []
    return [
        Problem(
            path="hardware",
            message=f"unknown hardware profile {hardware!r}.{_did_you_mean(hardware, table.profiles)} "
            f"Profiles in the price table ({table.as_of}): {', '.join(table.profiles)}",
            line=lines.get(("hardware",)),
        )
    ]
