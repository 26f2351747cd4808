"""Stratified train / validation / test split that keeps near-duplicate groups together."""

from __future__ import annotations

import numpy as np

__all__ = ["SPLIT_NAMES", "stratified_group_split"]

SPLIT_NAMES = ("train", "validation", "test")


def stratified_group_split(
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    validation: float,
    test: float,
    seed: int,
) -> np.ndarray:
    """Assign each row to train (0), validation (1) or test (2).

    Every group (near-duplicates of one another) lands whole on one side, so no test input
    has a near-copy in training. Within each label, groups are shuffled with ``seed`` and
    laid end to end; a group goes to test, validation or train by where its middle falls,
    so each label is split in the requested proportions as closely as its groups allow.

    Parameters
    ----------
    labels, groups:
        One value per row; groups are integer ids (see ``near_duplicate_groups``).
    validation, test:
        Fractions of rows for the validation and test sides.
    seed:
        The same seed and data give the same split.

    Returns
    -------
    numpy.ndarray
        int8 codes indexing ``SPLIT_NAMES``.

    Example
    -------
    >>> codes = stratified_group_split(np.array(["a"] * 10), np.arange(10), validation=0.1, test=0.2, seed=0)
    >>> np.bincount(codes).tolist()
    [7, 1, 2]
    """
    import pandas as pd

    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    frame = pd.DataFrame({"label": np.asarray(labels), "group": np.asarray(groups)})
    # A group's label is its most common one (groups with mixed labels are rare: conflicts).
    sizes = frame.groupby(["group", "label"], sort=True).size().reset_index(name="size")
    sizes = sizes.sort_values(["group", "size"], ascending=[True, False], kind="stable")
    group_label = sizes.drop_duplicates("group")[["group", "label"]]
    group_size = frame.groupby("group", sort=True).size()
    table = group_label.assign(size=group_size.loc[group_label["group"]].to_numpy())
    rng = np.random.default_rng(seed)
    table = table.assign(order=rng.permutation(len(table))).sort_values(["label", "order"])
    ends = table.groupby("label", sort=False)["size"].cumsum().to_numpy()
    totals = table.groupby("label", sort=False)["size"].transform("sum").to_numpy()
    middle = (ends - table["size"].to_numpy() / 2) / totals
    code = np.where(middle < test, 2, np.where(middle < test + validation, 1, 0)).astype(np.int8)
    lookup = pd.Series(code, index=table["group"].to_numpy())
    return lookup.loc[frame["group"].to_numpy()].to_numpy().astype(np.int8)
