"""One haul process: :func:`build` makes its parts from the settings, :class:`Runtime` holds
them and starts and stops them.

``haul serve`` runs a runtime with the API in front of it; ``haul worker`` runs one without.
This package and the CLI are the only places that read :class:`~haul.settings.Settings`.
"""

from haul.runtime.build import build
from haul.runtime.process import Runtime

__all__ = ["Runtime", "build"]
