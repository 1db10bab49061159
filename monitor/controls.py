"""Characters that act instead of showing, taken out of text from feeds and pages.

The one definition, used for the terminal (``output``: tables, CSV) and for Slack (``slack._text``).

Terminal escape sequences (ESC [ … , ESC ] … BEL: they can retitle a window or clear the screen) go whole;
then the remaining C0 and C1 controls except tab and newline; then the bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069: "gpj.exe" shown as "exe.jpg") and zero-width characters, which hide words.
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clear screen
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks
    r"|\x1b[ -/]*[0-~]"  # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one C1 character
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, control characters (tab and newline stay), bidirectional overrides
    and zero-width characters."""
    return _INVISIBLE.sub("", _CONTROL.sub("", _SEQUENCE.sub("", text)))
