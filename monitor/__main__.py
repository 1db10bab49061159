"""``python -m monitor`` is the ``gba-monitor`` command."""

from .cli import main

main()
