"""The labeling pilot: tasks, annotators, a versioned schema, agreement, active learning and label errors.

Modules, each with one job:

- :mod:`tailorml.labeling.store` — the SQLite database of a project's labeling work
  (users, tasks, schema versions, items, annotations).
- :mod:`tailorml.labeling.agreement` — Cohen's and Fleiss' kappa, Krippendorff's alpha,
  per-label agreement and the ambiguous label pairs.
- :mod:`tailorml.labeling.active` — uncertainty scores (margin, entropy) for active sampling.
- :mod:`tailorml.labeling.label_errors` — suspected mislabeled rows by confident learning.
- :mod:`tailorml.labeling.costs` — seconds per item, cost and time projections.
- :mod:`tailorml.labeling.interchange` — Label Studio JSON and CSV in and out.
- :mod:`tailorml.labeling.app` — the annotation web app behind ``tailor label serve``.

Nothing here is imported by ``import tailorml``.
"""
