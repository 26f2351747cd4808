"""``python -m tailorml`` runs the ``tailor`` command."""

from tailorml.cli import main

main()
