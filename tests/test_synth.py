"""Tests for the synthetic customer-service intent data set (tailorml.data.synth)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tailorml.data.synth import CHANNELS, IntentSchema, load_intent_schema, synthesize
from tailorml.errors import DataError, NotFoundError

_PATTERN_CLASSES = {"#": "[0-9]", "%": "[1-9]", "@": "[A-Z]"}


@pytest.fixture(scope="module")
def schema() -> IntentSchema:
    return load_intent_schema()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthesize(2000, seed=7)


def template_regex(schema: IntentSchema, template: str) -> re.Pattern[str]:
    """A regex matching exactly the clean renderings of one template."""
    out = []
    for i, part in enumerate(re.split(r"\{([^{}]*)\}", template)):
        if i % 2 == 0:
            out.append(re.escape(part))
            continue
        slot = schema.slots[part]
        if slot.pattern is None:
            out.append("(?:" + "|".join(re.escape(v) for v in sorted(slot.values, key=len, reverse=True)) + ")")
        else:
            out.append("".join(_PATTERN_CLASSES.get(c, re.escape(c)) for c in slot.pattern))
    return re.compile("".join(out))


def label_matchers(schema: IntentSchema) -> dict[str, list[re.Pattern[str]]]:
    return {i.name: [template_regex(schema, t) for t in i.templates] for i in (*schema.intents, schema.out_of_scope)}


def digest(df: pd.DataFrame) -> str:
    return hashlib.sha256("\n".join(df["text"] + "|" + df["label"] + "|" + df["channel"]).encode()).hexdigest()


# ----------------------------------------------------------------------------- the shipped schema


def test_shipped_schema_has_about_15_intents_and_a_rich_oos_section(schema: IntentSchema) -> None:
    assert 14 <= len(schema.intents) <= 18
    assert schema.labels == (*(i.name for i in schema.intents), "oos")
    assert len(set(schema.labels)) == len(schema.labels)
    assert schema.describe().keys() == set(schema.labels)
    assert all(d.endswith(".") and len(d.split()) >= 6 for d in schema.describe().values())
    for intent in schema.intents:
        assert 8 <= len(intent.templates) <= 20, intent.name
        assert 2 <= len(intent.examples) <= 3, intent.name
        assert 0.7 <= intent.weight <= 1.3, intent.name
    assert len(schema.out_of_scope.templates) >= 40


def test_every_template_renders_and_matches_itself(schema: IntentSchema) -> None:
    rng = np.random.default_rng(0)
    for label, matchers in label_matchers(schema).items():
        intent = next(i for i in (*schema.intents, schema.out_of_scope) if i.name == label)
        for template, matcher in zip(intent.templates, matchers, strict=True):
            text = schema.render(template, rng)
            assert "{" not in text and "}" not in text, template
            assert matcher.fullmatch(text), (template, text)


def test_templates_belong_to_one_label(schema: IntentSchema) -> None:
    templates = [t for i in (*schema.intents, schema.out_of_scope) for t in i.templates]
    assert len(templates) == len(set(templates))


# ----------------------------------------------------------------------------- the data set


def test_shape_columns_and_labels(frame: pd.DataFrame, schema: IntentSchema) -> None:
    assert list(frame.columns) == ["text", "label", "channel"]
    assert len(frame) == 2000
    assert all(str(dtype) == "str" for dtype in frame.dtypes)
    assert set(frame["label"]) == set(schema.labels)
    assert set(frame["channel"]) == set(CHANNELS)


def test_oos_fraction_and_mild_class_imbalance(frame: pd.DataFrame) -> None:
    assert (frame["label"] == "oos").mean() == pytest.approx(0.1, abs=0.01)
    intents = frame.loc[frame["label"] != "oos", "label"].value_counts()
    assert intents.max() / intents.min() < 2.0
    assert synthesize(500, oos_fraction=0.0)["label"].ne("oos").all()
    assert (synthesize(500, oos_fraction=0.3)["label"] == "oos").mean() == pytest.approx(0.3, abs=0.01)


def test_same_arguments_same_frame_and_other_seeds_differ() -> None:
    first = synthesize(400, seed=3)
    pd.testing.assert_frame_equal(first, synthesize(400, seed=3))
    pd.testing.assert_frame_equal(synthesize(300, seed=3, unique=False), synthesize(300, seed=3, unique=False))
    other = synthesize(400, seed=4)
    assert len(set(first["text"]) & set(other["text"])) < 40


def test_determinism_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import hashlib; from tailorml.data.synth import synthesize; df = synthesize(300, seed=11); "
        "print(hashlib.sha256('\\n'.join(df.text + '|' + df.label + '|' + df.channel).encode()).hexdigest())"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": src}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == digest(synthesize(300, seed=11))


def test_unique_texts_and_no_unfilled_slots(frame: pd.DataFrame) -> None:
    assert frame["text"].is_unique
    noisy = synthesize(1000, seed=1, noise=1.0)
    assert noisy["text"].is_unique
    for df in (frame, noisy):
        assert not df["text"].str.contains(r"[{}]", regex=True).any()
        assert (df["text"].str.strip().str.len() > 0).all()


def test_unique_false_allows_repeats_and_keeps_counts() -> None:
    df = synthesize(3000, seed=2, unique=False, noise=0.0)
    assert len(df) == 3000
    assert not df["text"].is_unique  # templates without slots repeat


def test_noise_zero_gives_clean_template_renderings(schema: IntentSchema) -> None:
    matchers = label_matchers(schema)
    df = synthesize(800, seed=5, noise=0.0)
    for text, label in zip(df["text"], df["label"], strict=True):
        assert any(m.fullmatch(text) for m in matchers[label]), (label, text)


def test_noise_changes_a_good_share_of_rows(schema: IntentSchema, frame: pd.DataFrame) -> None:
    matchers = label_matchers(schema)
    clean = [any(m.fullmatch(t) for m in matchers[lab]) for t, lab in zip(frame["text"], frame["label"], strict=True)]
    assert 0.2 < 1 - np.mean(clean) < 0.95


def test_channels_differ_in_style(frame: pd.DataFrame) -> None:
    by = frame.groupby("channel")["text"]
    lowercase = by.apply(lambda s: (s == s.str.lower()).mean())
    length = by.apply(lambda s: s.str.len().mean())
    assert lowercase["phone_transcript"] > 0.8 > lowercase["email"]
    assert length["email"] > 1.2 * length["chat"]
    fillers = frame.loc[frame["channel"] == "phone_transcript", "text"].str.contains(r"\b(?:uh|um)\b")
    assert fillers.mean() > 0.2


# ----------------------------------------------------------------------------- errors


def tiny_schema() -> dict:
    return {
        "name": "tiny",
        "slots": {"thing": ["a", "b"]},
        "intents": [
            {"name": "greet", "description": "Says hello.", "templates": ["hello {thing}", "hi"]},
            {"name": "bye", "description": "Says goodbye.", "templates": ["bye {thing}"]},
        ],
        "out_of_scope": {"label": "other", "description": "Anything else.", "templates": ["weather"]},
    }


def test_impossible_unique_count_raises_with_the_fix() -> None:
    schema = IntentSchema.from_dict(tiny_schema())
    assert schema.labels == ("greet", "bye", "other")
    with pytest.raises(DataError) as info:
        synthesize(50, schema=schema, noise=0.0)
    assert "n_rows=50" in info.value.message
    assert "could make only" in info.value.message
    assert "unique=False" in (info.value.hint or "")
    assert info.value.details["made"] < 50
    assert len(synthesize(50, schema=schema, noise=0.0, unique=False)) == 50
    assert len(synthesize(5, schema=schema, noise=0.0)) == 5


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s["intents"][0]["templates"].append("hello {thingy}"), r"greet.*\{thingy\}"),
        (lambda s: s["intents"][1]["templates"].append("bye {thing"), r"bye.*unbalanced brace"),
        (lambda s: s["intents"][1]["templates"].append("bye {}"), r"bye.*empty or unbalanced"),
        (lambda s: s["intents"][1].update(templates=[]), r"bye.*no templates"),
        (lambda s: s["intents"][0].pop("description"), r"greet.*no description"),
        (lambda s: s["intents"][1]["templates"].append("hi"), r"'hi'.*under both 'greet' and 'bye'"),
        (lambda s: s["intents"][0].update(template=["x"]), r"greet.*unknown keys \['template'\]"),
        (lambda s: s["slots"].update(hour=[6, "7"]), r"slot 'hour'"),
        (lambda s: s.pop("out_of_scope"), r"out_of_scope is missing"),
    ],
)
def test_malformed_schema_file_names_the_problem(tmp_path: Path, edit: Callable[[dict], object], expected: str) -> None:
    raw = tiny_schema()
    edit(raw)
    path = tmp_path / "intents.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DataError, match=expected) as info:
        load_intent_schema(path)
    assert str(path) in info.value.message
    assert info.value.hint


def test_unreadable_schema_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_intent_schema(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("intents: [\n")
    with pytest.raises(DataError, match="not valid YAML"):
        synthesize(10, schema=bad)


@pytest.mark.parametrize(
    "kwargs", [{"n_rows": -1}, {"n_rows": 2.5}, {"oos_fraction": 1.5}, {"noise": -0.1}, {"noise": True}]
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(DataError, match=next(iter(kwargs))):
        synthesize(**{"n_rows": 10, **kwargs})


def test_zero_rows_gives_an_empty_typed_frame() -> None:
    df = synthesize(0)
    assert list(df.columns) == ["text", "label", "channel"] and len(df) == 0
    assert all(str(dtype) == "str" for dtype in df.dtypes)
