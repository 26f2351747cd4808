"""A deterministic synthetic customer-service intent data set, for demos, tests and benchmarks.

An :class:`IntentSchema` (YAML; one ships with the package) lists intents with templates such
as ``"where is my order {order_id}"`` and the values of each slot. :func:`synthesize` renders
templates, then adds noise the way real traffic has it: typos, casing, punctuation, greetings,
fillers, word order and register. Each row also gets a ``channel`` (chat, email or phone
transcript) that shapes its style, so fairness slices differ as real ones do.

Everything is drawn from one ``numpy.random.default_rng(seed)``, so the same arguments give
the same rows on every machine. Rendering and noise run over NumPy object arrays a template
or a perturbation kind at a time, so a million rows take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tailorml.errors import DataError, NotFoundError

__all__ = [
    "CHANNELS",
    "Intent",
    "IntentSchema",
    "SlotSpec",
    "load_intent_schema",
    "synthesize",
]

CHANNELS = ("chat", "email", "phone_transcript")
_CHANNEL_SHARE = (0.5, 0.2, 0.3)
_SHIPPED = "customer_service.yaml"
_SLOT_RE = re.compile(r"\{([^{}]*)\}")
_PATTERN_ALPHABETS = {
    "#": np.array(list("0123456789")),
    "%": np.array(list("123456789")),
    "@": np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
}
_MAX_ROUNDS = 20  # rounds of re-drawing duplicates before unique=True gives up


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class SlotSpec:
    """A slot's values: a list, or a pattern (``#`` digit, ``%`` digit 1-9, ``@`` letter A-Z)."""

    name: str
    values: tuple[str, ...] = ()
    pattern: str | None = None

    def sample(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Draw ``k`` values as an object array of str."""
        if self.pattern is None:
            return np.asarray(self.values, dtype=object)[rng.integers(len(self.values), size=k)]
        chars = np.empty((k, len(self.pattern)), dtype="<U1")
        for j, char in enumerate(self.pattern):
            alphabet = _PATTERN_ALPHABETS.get(char)
            chars[:, j] = char if alphabet is None else alphabet[rng.integers(len(alphabet), size=k)]
        return chars.view(f"<U{len(self.pattern)}").ravel().astype(object)


@dataclass(frozen=True)
class Intent:
    """One label: what it means, canonical examples, and the templates that render it."""

    name: str
    description: str
    templates: tuple[str, ...]
    examples: tuple[str, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True)
class IntentSchema:
    """Intents, slots and the out-of-scope label that :func:`synthesize` draws from.

    Build one with :func:`load_intent_schema` (a YAML file) or :meth:`from_dict`; both
    validate, so a schema that exists renders every template.
    """

    name: str
    intents: tuple[Intent, ...]
    slots: Mapping[str, SlotSpec] = field(hash=False)
    out_of_scope: Intent

    @property
    def labels(self) -> tuple[str, ...]:
        """Intent names in file order, then the out-of-scope label."""
        return (*(intent.name for intent in self.intents), self.out_of_scope.name)

    @property
    def oos_label(self) -> str:
        """The label of out-of-scope rows."""
        return self.out_of_scope.name

    def describe(self) -> dict[str, str]:
        """Return ``{label: description}`` for every label, out-of-scope last."""
        return {i.name: i.description for i in (*self.intents, self.out_of_scope)}

    def render(self, template: str, rng: np.random.Generator | int = 0) -> str:
        """Fill one template's slots with values drawn from ``rng`` (a Generator or a seed).

        Example
        -------
        >>> load_intent_schema().render("where is my order {order_id}", rng=1)
        'where is my order 5579018'
        """
        _check_template(template, self.slots, "render()", "template")
        return str(self._fill(template, np.random.default_rng(rng), 1)[0])

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<dict>") -> IntentSchema:
        """Validate parsed YAML (see the shipped ``customer_service.yaml``) into a schema."""
        return _parse_schema(raw, source)

    def _fill(self, template: str, rng: np.random.Generator, k: int) -> np.ndarray:
        literals, names = _split(template)
        text = np.full(k, literals[0], dtype=object)
        for name, literal in zip(names, literals[1:], strict=True):
            text = text + self.slots[name].sample(rng, k) + literal
        return text


def load_intent_schema(path: str | Path | None = None) -> IntentSchema:
    """Read and validate an intent schema YAML file.

    Parameters
    ----------
    path:
        A schema file; ``None`` reads the customer-service schema shipped with tailorml.

    Returns
    -------
    IntentSchema
        The validated schema.

    Example
    -------
    >>> schema = load_intent_schema()
    >>> schema.labels[-1]
    'oos'
    """
    if path is None:
        source = f"tailorml/data/intents/{_SHIPPED}"
        text = resources.files("tailorml.data.intents").joinpath(_SHIPPED).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except FileNotFoundError:
            raise NotFoundError(
                f"no intent schema at {source}", hint="check the path, or pass None for the shipped one"
            ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DataError(
            f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            hint="check indentation and quoting there; quote templates that start with '{'",
        ) from None
    return _parse_schema(raw, source)


def _parse_schema(raw: Any, source: str) -> IntentSchema:
    if not isinstance(raw, dict):
        raise DataError(
            f"{source}: an intent schema must be a mapping with slots, intents and out_of_scope",
            hint="start from tailorml/data/intents/customer_service.yaml",
        )
    slots_raw = raw.get("slots") or {}
    if not isinstance(slots_raw, dict):
        raise DataError(f"{source}: slots must map slot names to values", hint="write slots: {name: [a, b]}")
    slots = MappingProxyType({str(k): _parse_slot(str(k), v, source) for k, v in slots_raw.items()})
    intents_raw = raw.get("intents")
    if not isinstance(intents_raw, list) or not intents_raw:
        raise DataError(f"{source}: intents must be a non-empty list", hint="add intents: [{name: ..., ...}]")
    intents = tuple(
        _parse_intent(item, f"intents[{i}]", slots, source, allowed=_INTENT_KEYS) for i, item in enumerate(intents_raw)
    )
    oos_raw = raw.get("out_of_scope")
    if not isinstance(oos_raw, dict):
        raise DataError(
            f"{source}: out_of_scope is missing",
            hint="add out_of_scope: {label: oos, description: ..., templates: [...]}",
        )
    oos = _parse_intent(
        {**oos_raw, "name": oos_raw.get("label", "oos")}, "out_of_scope", slots, source, allowed=_OOS_KEYS
    )
    owner: dict[str, str] = {}
    for intent in (*intents, oos):
        if intent.name in owner.values():
            raise DataError(f"{source}: label '{intent.name}' is defined twice", hint="rename or merge them")
        for template in intent.templates:
            if template in owner:
                raise DataError(
                    f"{source}: template {template!r} is under both '{owner[template]}' and '{intent.name}'",
                    hint="a template must belong to one label; reword or remove one copy",
                )
            owner[template] = intent.name
    return IntentSchema(name=str(raw.get("name", Path(source).stem)), intents=intents, slots=slots, out_of_scope=oos)


def _require(ok: bool, message: str, hint: str) -> None:
    if not ok:
        raise DataError(message, hint=hint)


def _parse_slot(name: str, spec: Any, source: str) -> SlotSpec:
    if isinstance(spec, dict) and set(spec) == {"pattern"} and isinstance(spec["pattern"], str) and spec["pattern"]:
        return SlotSpec(name, pattern=spec["pattern"])
    _require(
        isinstance(spec, list) and bool(spec) and all(isinstance(v, str) and _SLOT_VALUE.match(v) for v in spec),
        f"{source}: slot '{name}' must be a non-empty list of strings or {{pattern: '...'}}; got {spec!r}",
        'quote values YAML would read as numbers or times ("6:30"); drop empty values and braces',
    )
    return SlotSpec(name, values=tuple(spec))


_SLOT_VALUE = re.compile(r"^[^{}]+$")
_INTENT_KEYS = frozenset({"name", "description", "examples", "templates", "weight"})
_OOS_KEYS = frozenset({"name", "label", "description", "examples", "templates"})


def _parse_intent(item: Any, where: str, slots: Mapping[str, SlotSpec], source: str, allowed: frozenset[str]) -> Intent:
    ok = isinstance(item, dict) and isinstance(item.get("name"), str) and bool(item["name"])
    _require(ok, f"{source}: {where} needs a name", "give every intent a name, description and templates")
    name, description = item["name"], item.get("description")
    where = f"{source}: {where} ('{name}')"
    unknown = sorted(set(item) - allowed)
    _require(not unknown, f"{where} has unknown keys {unknown}", f"allowed keys: {sorted(allowed)}")
    ok = isinstance(description, str) and bool(description.strip())
    _require(ok, f"{where} has no description", "add one sentence a labeler could apply")
    templates = item.get("templates")
    ok = isinstance(templates, list) and bool(templates)
    _require(ok, f"{where} has no templates", "add templates: [...], or remove the intent")
    for template in templates:
        _check_template(template, slots, where, "template")
    examples = item.get("examples") or []
    ok = isinstance(examples, list) and all(isinstance(e, str) and e.strip() for e in examples)
    _require(ok, f"{where} examples must be a list of utterances", "write examples: [...]")
    weight = item.get("weight", 1.0)
    ok = isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0
    _require(ok, f"{where} weight must be a positive number; got {weight!r}", "use e.g. weight: 1.0")
    return Intent(name, description.strip(), tuple(templates), tuple(examples), float(weight))


def _check_template(template: Any, slots: Mapping[str, SlotSpec], where: str, what: str) -> None:
    if not isinstance(template, str) or not template.strip():
        raise DataError(f"{where} has an empty {what}: {template!r}", hint="remove it or write the text")
    literals, names = _split(template)
    if any("{" in part or "}" in part for part in literals) or not all(names):
        raise DataError(
            f"{where} {what} {template!r} has an empty or unbalanced brace",
            hint="write each slot as {slot_name}, with a name defined under slots:",
        )
    for name in names:
        if name not in slots:
            defined = ", ".join(sorted(slots)) or "(none defined)"
            raise DataError(
                f"{where} {what} {template!r} uses slot '{{{name}}}', which is not defined under slots:",
                hint=f"add '{name}: [value, ...]' under slots:, or use one of: {defined}",
            )


@lru_cache(maxsize=4096)
def _split(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a template into its literal parts (one more than slots) and slot names."""
    parts = _SLOT_RE.split(template)
    return tuple(parts[::2]), tuple(parts[1::2])


# --------------------------------------------------------------------------- noise

Op = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _map(fn: Callable[..., str], texts: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    """Apply ``fn`` row by row (over plain Python values) into a new object array."""
    return np.fromiter(map(fn, texts, *(c.tolist() for c in columns)), dtype=object, count=len(texts))


def _choose(rng: np.random.Generator, options: Sequence[str], k: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(len(options), size=k)]


def _prefix(*options: str) -> Op:
    return lambda texts, rng: _choose(rng, options, len(texts)) + texts


def _suffix(*options: str, terminate: bool = False) -> Op:
    def op(texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        base = _map(_terminate, texts) if terminate else texts
        out: np.ndarray = base + _choose(rng, options, len(texts))
        return out

    return op


def _substitute(table: Mapping[str, str]) -> Op:
    """Swap whole words and phrases by ``table`` (contractions, texting shorthand)."""
    alternatives = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")
    replace = lambda m: table[m.group(0)]  # noqa: E731
    return lambda texts, rng: _map(lambda s: pattern.sub(replace, s), texts)


def _filler(*words: str, anywhere: bool) -> Op:
    """Insert a filler word at a random word boundary, or only at the start."""

    def op(texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = len(texts)
        where = rng.random(k) if anywhere else np.zeros(k)
        return _map(_insert_word, texts, _choose(rng, words, k), where)

    return op


def _recase(modes: Mapping[Callable[[str], str], float]) -> Op:
    fns, weights = list(modes), np.array(list(modes.values()))

    def op(texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pick = rng.choice(len(fns), size=len(texts), p=weights / weights.sum())
        return _map(lambda s, j: fns[j](s), texts, pick)

    return op


def _per_row(fn: Callable[[str], str]) -> Op:
    return lambda texts, rng: _map(fn, texts)


def _typo(texts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = len(texts)
    return _map(_typo_one, texts, rng.random(k), rng.integers(4, size=k), rng.random(k))


# A question word opening the text or a clause ("hi, where is ...", "..., what's going on").
_QUESTION = re.compile(
    r"(?:^|[,.]\s+)(?:where|what|when|why|how|who|which|can|could|is|are|am|do|does|did|has|have|will|would)\b",
    re.IGNORECASE,
)
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBORS = {c: row[max(i - 1, 0) : i] + row[i + 1 : i + 2] for row in _KEYBOARD for i, c in enumerate(row)}
_PHONE_PUNCT = re.compile(r"[,?!;]|\.(?=\s|$)")
_SENTENCE_START = re.compile(r"(^|[.?!]\s+)([a-z])")


def _terminate(s: str) -> str:
    if s[-1:] in ".?!":
        return s
    return s + ("?" if _QUESTION.search(s) else ".")


def _chat_punct(s: str, r: float) -> str:
    """Drop final punctuation, or add some: "?" or "??" to questions, "!", "." or none to the rest."""
    stripped = s.rstrip(".?!")
    if stripped != s:
        return stripped
    if _QUESTION.search(s):
        return s + ("?" if r < 0.8 else "??")
    return s + ("!" if r < 0.3 else "." if r < 0.6 else "!!" if r < 0.7 else "")


def _insert_word(s: str, word: str, where: float) -> str:
    words = s.split(" ")
    words.insert(int(where * len(words)), word)
    return " ".join(words)


def _reorder(s: str) -> str:
    """Move a short trailing clause ("..., it's been a week", "... please") to the front."""
    head, sep, tail = s.rpartition(", ")
    if sep and head and len(tail.split()) <= 4 and (tail[:1].islower() or tail.startswith("I ")):
        return f"please {head}" if tail == "please" else f"{tail}, {head}"
    if s.endswith(" please"):
        return "please " + s[: -len(" please")]
    return s


def _typo_one(s: str, where: float, how: int, which: float) -> str:
    if len(s) < 2:
        return s
    i = int(where * (len(s) - 1))
    while i < len(s) - 2 and not s[i].isalpha():
        i += 1
    c = s[i]
    if how == 0 and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + c + s[i + 2 :]  # swap with the next letter
    if how == 1:
        return s[:i] + s[i + 1 :]  # drop
    near = _NEIGHBORS.get(c.lower())
    if how == 2 or not near:
        return s[:i] + c + s[i:]  # double
    return s[:i] + near[int(which * len(near))] + s[i + 1 :]  # hit a neighboring key


def _capitalize(s: str) -> str:
    return s[:1].upper() + s[1:]


def _sentence_case(s: str) -> str:
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), s)


_FORMAL = {
    "what's": "what is", "where's": "where is", "it's": "it is", "I'm": "I am", "I'd": "I would",
    "can't": "cannot", "don't": "do not", "doesn't": "does not", "isn't": "is not", "hasn't": "has not",
    "haven't": "have not", "wasn't": "was not", "there's": "there is", "nothing's": "nothing has",
    "want": "would like", "don't want": "do not wish", "no longer want": "no longer wish",
    "can you": "could you", "get me": "please connect me with",
}  # fmt: skip
_TEXTING = {
    "you": "u", "your": "ur", "please": "pls", "thanks": "thx", "are": "r", "because": "bc",
    "right now": "rn", "I don't know": "idk", "to be honest": "tbh", "with": "w/",
}  # fmt: skip
_SPOKEN = {"want to": "wanna", "going to": "gonna", "got to": "gotta", "because": "cause", "yes": "yeah"}

# Per channel: perturbation kind -> (weight, operation), applied in _KINDS order to a row with
# probability min(1, noise * weight); a kind a channel lacks never applies to it. The weights
# make channels differ the way real ones do: emails are formal and signed, phone transcripts
# lowercase with fillers and no punctuation, chat casual with more typos.
_STYLES: dict[str, dict[str, tuple[float, Op]]] = {
    "chat": {
        "register": (1.0, _substitute(_TEXTING)),
        "reorder": (1.0, _per_row(_reorder)),
        "filler": (0.5, _filler("so", "um", "hmm", "ok so", "well", anywhere=False)),
        "greet": (1.0, _prefix("hi ", "hey ", "hello, ", "hi there, ", "hey, ")),
        "signoff": (1.0, _suffix(" thanks", " thx", " please", " pls", " ty", " asap")),
        "case": (2.0, _recase({str.lower: 0.6, _capitalize: 0.3, str.upper: 0.1})),
        "punct": (2.0, lambda texts, rng: _map(_chat_punct, texts, rng.random(len(texts)))),
        "typo": (2.0, _typo),
    },
    "email": {
        "register": (4.0, _substitute(_FORMAL)),
        "reorder": (0.5, _per_row(_reorder)),
        "greet": (4.0, _prefix(
            "Hello, ", "Hi, ", "Dear support team, ", "Good morning, ", "To whom it may concern, ",
            "Hello, I hope you are well. ", "Hi, I have a question. ",
        )),
        "signoff": (4.0, _suffix(
            " Thank you in advance.", " Kind regards.", " Many thanks.", " Thanks for your help.",
            " I look forward to hearing from you.", " Best regards.",
            terminate=True,
        )),
        "case": (6.0, _per_row(_sentence_case)),
        "punct": (6.0, _per_row(_terminate)),
        "typo": (0.5, _typo),
    },
    "phone_transcript": {
        "register": (2.0, _substitute(_SPOKEN)),
        "reorder": (1.5, _per_row(_reorder)),
        "filler": (4.0, _filler("uh", "um", "like", "you know", "er", "uh", anywhere=True)),
        "greet": (1.5, _prefix("hi yeah ", "hello ", "yes hi ", "hi there ", "hello yeah so ", "hi um ")),
        "signoff": (1.0, _suffix(" thank you", " thanks", " please", " thanks bye")),
        "case": (6.0, _per_row(str.lower)),
        "punct": (6.0, _per_row(lambda s: _PHONE_PUNCT.sub("", s))),
        "typo": (0.5, _typo),
    },
}  # fmt: skip
_KINDS = ("register", "reorder", "filler", "greet", "signoff", "case", "punct", "typo")


def _perturb(texts: np.ndarray, channel: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Apply every perturbation kind in order, each to a random share of rows per channel."""
    if noise <= 0:
        return texts
    for kind in _KINDS:
        styles = [_STYLES[name].get(kind) for name in CHANNELS]
        weights = np.array([style[0] if style else 0.0 for style in styles])
        hit = rng.random(len(texts)) < np.minimum(1.0, noise * weights)[channel]
        for c, style in enumerate(styles):
            rows = np.flatnonzero(hit & (channel == c))
            if style and len(rows):
                texts[rows] = style[1](texts[rows], rng)
    return texts


# --------------------------------------------------------------------------- synthesis


def synthesize(
    n_rows: int = 2000,
    *,
    seed: int = 0,
    oos_fraction: float = 0.1,
    schema: IntentSchema | str | Path | None = None,
    unique: bool = True,
    noise: float = 0.15,
) -> pd.DataFrame:
    """Make a labeled, deterministic intent-classification data set.

    Parameters
    ----------
    n_rows:
        Number of rows.
    seed:
        Seed of the one random generator used; the same arguments give the same DataFrame.
    oos_fraction:
        Share of rows labeled out-of-scope (``oos``); the rest split over intents by weight.
    schema:
        An :class:`IntentSchema`, a path to a schema YAML, or ``None`` for the shipped
        customer-service schema (15 intents).
    unique:
        No two rows share a text. Raises :class:`DataError` when the schema cannot make
        ``n_rows`` distinct texts.
    noise:
        Base probability, per row, of each perturbation kind (register, word order,
        filler, greeting, sign-off, casing, punctuation, typo), scaled per channel.
        ``0`` gives clean template renderings.

    Returns
    -------
    pandas.DataFrame
        Columns ``text``, ``label`` and ``channel`` (``chat``, ``email`` or
        ``phone_transcript``), all ``str``, rows in random order.

    Example
    -------
    >>> df = synthesize(200, seed=1)
    >>> list(df.columns), len(df), df["text"].is_unique
    (['text', 'label', 'channel'], 200, True)
    """
    _check_arguments(n_rows, oos_fraction, noise)
    if not isinstance(schema, IntentSchema):
        schema = load_intent_schema(schema)
    rng = np.random.default_rng(seed)
    counts = _label_counts(schema, n_rows, oos_fraction)
    if unique:
        texts, label_idx, channel = _generate_unique(schema, counts, noise, rng)
    else:
        label_idx = np.repeat(np.arange(len(counts)), counts)
        texts, channel = _generate(schema, label_idx, noise, rng)
    order = rng.permutation(len(texts))
    return pd.DataFrame(
        {
            "text": pd.array(texts[order], dtype="str"),
            "label": pd.array(np.asarray(schema.labels, dtype=object)[label_idx[order]], dtype="str"),
            "channel": pd.array(np.asarray(CHANNELS, dtype=object)[channel[order]], dtype="str"),
        }
    )


def _check_arguments(n_rows: Any, oos_fraction: Any, noise: Any) -> None:
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 0:
        raise DataError(f"n_rows must be a whole number >= 0; got {n_rows!r}", hint="pass e.g. n_rows=2000")
    for name, value in (("oos_fraction", oos_fraction), ("noise", noise)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise DataError(f"{name} must be in [0, 1]; got {value!r}", hint=f"pass e.g. {name}=0.1")


def _label_counts(schema: IntentSchema, n_rows: int, oos_fraction: float) -> np.ndarray:
    """Rows per label: the oos share exactly, the rest by intent weight (largest remainder)."""
    n_oos = round(n_rows * oos_fraction)
    weights = np.array([intent.weight for intent in schema.intents])
    share = weights / weights.sum() * (n_rows - n_oos)
    counts = np.floor(share).astype(np.int64)
    counts[np.argsort(counts - share, kind="stable")[: n_rows - n_oos - counts.sum()]] += 1
    return np.append(counts, n_oos)


def _generate(
    schema: IntentSchema, label_idx: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render one noisy text per entry of ``label_idx``; return (texts, channel indices)."""
    k = len(label_idx)
    groups = [intent.templates for intent in (*schema.intents, schema.out_of_scope)]
    sizes = np.array([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    templates = [t for g in groups for t in g]
    channel = rng.choice(len(CHANNELS), size=k, p=_CHANNEL_SHARE)
    template_idx = offsets[label_idx] + (rng.random(k) * sizes[label_idx]).astype(np.int64)
    texts = np.empty(k, dtype=object)
    by_template = np.argsort(template_idx, kind="stable")
    bounds = np.searchsorted(template_idx[by_template], np.arange(len(templates) + 1))
    for t, template in enumerate(templates):
        rows = by_template[bounds[t] : bounds[t + 1]]
        if len(rows):
            texts[rows] = schema._fill(template, rng, len(rows))
    return _perturb(texts, channel, noise, rng), channel


def _generate_unique(
    schema: IntentSchema, counts: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw rows until every label has its count of texts never seen before, or give up.

    Each round re-draws the missing rows of each label, scaled up by how many of that label's
    draws were new last round, so labels whose small templates are used up still fill quickly.
    It gives up after a round that adds nothing, or after _MAX_ROUNDS rounds.
    """
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[int] = []
    channels: list[int] = []
    need, sizes, attempts = counts.copy(), counts.copy(), 0
    for _ in range(_MAX_ROUNDS):
        batch = np.repeat(np.arange(len(need)), sizes)
        batch_texts, batch_channels = _generate(schema, batch, noise, rng)
        attempts += len(batch)
        added = np.zeros_like(need)
        rows = zip(batch_texts.tolist(), batch.tolist(), batch_channels.tolist(), strict=True)
        for text, label, channel in rows:
            if need[label] and text not in seen:
                seen.add(text)
                texts.append(text)
                labels.append(label)
                channels.append(channel)
                need[label] -= 1
                added[label] += 1
        if not need.any() or not added.any():
            break
        new_share = np.maximum(added / np.maximum(sizes, 1), 0.01)
        sizes = np.where(need > 0, np.minimum(np.ceil(1.2 * need / new_share) + 16, 2 * len(batch)), 0)
        sizes = sizes.astype(np.int64)
    if need.any():
        n_rows, made = int(counts.sum()), len(texts)
        missing = {schema.labels[i]: int(need[i]) for i in np.flatnonzero(need)}
        raise DataError(
            f"synthesize(n_rows={n_rows}, unique=True) could make only {made} distinct texts from schema "
            f"'{schema.name}' after {attempts:,} attempts; rows still missing per label: {missing}",
            hint=f"ask for fewer rows (about {made} or less), pass unique=False, raise noise, "
            "or add templates and slot values to those labels",
            details={"n_rows": n_rows, "made": made, "missing": missing},
        )
    return np.array(texts, dtype=object), np.array(labels, dtype=np.int64), np.array(channels, dtype=np.int64)
