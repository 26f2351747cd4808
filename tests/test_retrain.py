"""Retraining: fresh labels make a challenger; it is promoted only if it does not regress the champion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize
from tailorml.retrain import retrain
from tailorml.run import run_project
from tailorml.spec import Spec
from tailorml.tracking import Tracker
from tests.test_serving import write_project


@pytest.fixture()
def project(tmp_path: Path) -> Spec:
    spec = write_project(tmp_path)
    run_project(spec, n_resamples=20)
    return spec


def labeled_file(folder: Path, *, seed: int, scramble: bool) -> Path:
    frame = synthesize(600, seed=seed)[["text", "label"]]
    if scramble:  # wrong labels on new wordings: a model trained on them gets worse, without exact conflicts
        rng = np.random.default_rng(seed)
        frame["label"] = rng.permutation(frame["label"].to_numpy())
        frame["text"] = "so basically " + frame["text"] + f" ({seed})"
        frame = frame[~frame["text"].str.contains(r"@|\d{3}", regex=True)]  # no PII: redaction merges texts
        normalized = frame["text"].str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
        frame = frame[~normalized.duplicated()]
    return write_frame(frame, folder / f"fresh-{seed}.csv")


def test_good_fresh_labels_are_promoted(project: Spec, tmp_path: Path) -> None:
    outcome = retrain(project, new_files=[labeled_file(tmp_path, seed=21, scramble=False)], n_resamples=200)
    assert outcome.skipped is None and outcome.promoted, outcome.reason
    assert outcome.added == {str(tmp_path / "fresh-21.csv"): 600}
    assert {c.rows for c in outcome.comparisons} == {"frozen test", "fresh labels"}
    tracker = Tracker.for_project(project)
    assert tracker.by_alias("champion").version == outcome.challenger_version == 2
    assert tracker.history() == [1]
    # The new version's parent is the champion's data version, and its test rows are the old ones.
    assert outcome.parent is not None and outcome.data_version != outcome.parent


def test_a_regressing_challenger_is_refused_and_recorded(project: Spec, tmp_path: Path) -> None:
    before = Tracker.for_project(project).by_alias("champion").version
    scrambled = [labeled_file(tmp_path, seed=s, scramble=True) for s in (31, 32, 33, 34)]
    outcome = retrain(project, new_files=scrambled, n_resamples=200)
    assert not outcome.promoted
    tracker = Tracker.for_project(project)
    assert tracker.by_alias("champion").version == before
    if outcome.challenger_version is not None:  # a challenger was chosen but regressed
        assert "not promoted" in outcome.reason and any(c.regressed for c in outcome.comparisons)
        challenger = tracker.by_alias("challenger")
        assert challenger.version == outcome.challenger_version
        assert "not promoted" in challenger.tags["tailorml.not_promoted"]
    else:  # no retrained candidate even passed the objectives
        assert "no retrained candidate passed" in outcome.reason


def test_nothing_new_means_nothing_trained(project: Spec) -> None:
    outcome = retrain(project)
    assert outcome.skipped and "no fresh labeled data" in outcome.skipped


def test_cadence_and_drift_conditions(project: Spec, tmp_path: Path) -> None:
    skipped = retrain(project, if_drift=True)
    assert skipped.skipped and "no monitoring result" in skipped.skipped
    done = retrain(project, new_files=[labeled_file(tmp_path, seed=41, scramble=False)], n_resamples=100)
    assert done.skipped is None
    not_due = retrain(project, new_files=[labeled_file(tmp_path, seed=42, scramble=False)], every=dt.timedelta(days=7))
    assert not_due.skipped and "not due" in not_due.skipped


def test_missing_columns_in_a_new_file(project: Spec, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"message": ["x"], "label": ["oos"]}).to_csv(bad, index=False)
    with pytest.raises(Exception, match="no column 'text'"):
        retrain(project, new_files=[bad])
