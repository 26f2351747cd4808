"""Reports: an evaluation's self-contained HTML page and Markdown model card, and the monitoring page.

Both render from a :class:`~tailorml.results.Evaluation` alone (plus optional data lineage),
so a saved evaluation can be re-rendered at any time. Jinja2 and matplotlib load only when a
report is rendered.
"""

from __future__ import annotations

from tailorml.report.html import render_html, write_report
from tailorml.report.model_card import render_model_card, write_model_card
from tailorml.report.monitor import render_monitor_html, write_monitor_report

__all__ = [
    "render_html",
    "render_model_card",
    "render_monitor_html",
    "write_model_card",
    "write_monitor_report",
    "write_report",
]
