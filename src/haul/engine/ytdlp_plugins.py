"""yt-dlp plug-ins from the folders ``HAUL_YTDLP_PLUGIN_DIRS`` names (extractors,
post-processors, PO token providers...), loaded once when haul starts.

Each folder holds plug-in packages, as yt-dlp's own plug-in folders do: a package is a folder
(or a ``.zip``/``.whl``) with a ``yt_dlp_plugins`` package inside
(``<folder>/<package>/yt_dlp_plugins/extractor/*.py``, ``.../postprocessor/*.py``); yt-dlp
also keeps looking in its default places (its configuration folders, ``sys.path``). haul
hands yt-dlp the folders through yt-dlp's own plug-in API (``yt_dlp.globals.plugin_dirs``,
``yt_dlp.plugins.load_all_plugins``), the way ``yt-dlp --plugin-dirs`` does, and logs what
was found. Every later yt-dlp session of the process uses them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Plugins:
    """What yt-dlp loaded: its plug-in folders, and the names of the classes found."""

    folders: tuple[str, ...]
    extractors: tuple[str, ...]
    postprocessors: tuple[str, ...]


def load(folders: Sequence[Path]) -> Plugins:
    """Have yt-dlp load its plug-ins from ``folders`` (besides its default places) and log
    what it found."""
    import yt_dlp  # noqa: F401 (registers the kinds of plug-in yt-dlp has)
    from yt_dlp import globals as ytdlp_globals
    from yt_dlp.plugins import directories, load_all_plugins

    ytdlp_globals.plugin_dirs.value = ["default", *(str(f) for f in folders)]
    # yt-dlp's finder forgets the plug-in packages it found before (their folders changed)
    importlib.invalidate_caches()
    load_all_plugins()
    found = Plugins(
        folders=tuple(directories()),
        extractors=tuple(sorted(ytdlp_globals.plugin_ies.value)),
        postprocessors=tuple(sorted(ytdlp_globals.plugin_pps.value)),
    )
    shown = ", ".join(str(f) for f in folders)
    if found.extractors or found.postprocessors:
        log.info(
            "yt-dlp plug-ins loaded from %s: extractors: %s; post-processors: %s",
            ", ".join(found.folders) or shown,
            ", ".join(found.extractors) or "none",
            ", ".join(found.postprocessors) or "none",
        )
    else:
        log.warning(
            "no yt-dlp plug-in found in %s (yt-dlp looks for "
            "<folder>/<package>/yt_dlp_plugins/extractor/*.py and .../postprocessor/*.py)",
            shown,
        )
    return found
