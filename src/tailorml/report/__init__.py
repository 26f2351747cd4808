"""Reports of an evaluation: one self-contained HTML page, and a Markdown model card.

Both render from a :class:`~tailorml.results.Evaluation` alone (plus optional data lineage),
so a saved evaluation can be re-rendered at any time. Jinja2 and matplotlib load only when a
report is rendered.
"""

from __future__ import annotations

from tailorml.report.html import render_html, write_report
from tailorml.report.model_card import render_model_card, write_model_card

__all__ = ["render_html", "render_model_card", "write_model_card", "write_report"]
