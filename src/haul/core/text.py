"""Text from outside (a page's title, yt-dlp's log lines) made safe to show or to log (pure).

Control characters (C0 but for tab, DEL, C1, the escape character) in a log line or on a
terminal move the cursor, clear the screen or recolour what follows, and a line feed starts a
line that looks like one haul wrote. :func:`escaped` writes each of them visibly
(``\\x1b``); :func:`printable` drops them from a text shown as a name (a title).
"""

from __future__ import annotations

import re

#: C0 controls but tab, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
#: The same with tab (a line feed or a tab in a title is a space).
_CONTROL_OR_TAB = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A terminal's escape sequence (CSI: ``ESC [ ... letter``; a two-character ``ESC x``).
_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_SPACES = re.compile(r"\s{2,}")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escaped(text: str) -> str:
    """``text`` with every control character but tab written as ``\\xNN`` (an escape
    character as ``\\x1b``, a line feed as ``\\x0a``): one line, as written."""
    return _CONTROL.sub(_visible, text)


def has_controls(text: str) -> bool:
    """Whether :func:`escaped` changes ``text``."""
    return _CONTROL.search(text) is not None


def printable(text: str) -> str:
    """``text`` as a name is shown: terminal escape sequences removed, other control
    characters (line feeds and tabs included) made spaces, runs of spaces made one."""
    text = _CONTROL_OR_TAB.sub(" ", _SEQUENCE.sub("", text))
    return _SPACES.sub(" ", text).strip()
