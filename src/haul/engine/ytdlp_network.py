"""How yt-dlp reaches a site: a profile's proxy and extractor arguments, a site rule's pause.

Kept apart from :mod:`haul.engine.ytdlp_profile` so that the job runner can build them for a
page's extraction without loading yt-dlp at start.
"""

from __future__ import annotations

from typing import Any

from haul.engine.base import Profile


def network_params(
    profile: Profile, *, sleep_seconds: float = 0.0, download: bool = True
) -> dict[str, Any]:
    """How yt-dlp reaches the site: the profile's proxy and extractor arguments, and the pause
    a site rule asks between requests (``sleep_interval_requests``: before each request of
    an extractor but its first) and, for the ``download`` pass only, before the media's
    download (``sleep_interval``): an extraction downloads nothing."""
    params: dict[str, Any] = {}
    if profile.proxy:
        params["proxy"] = profile.proxy
    if profile.extractor_args:
        params["extractor_args"] = {
            name: {arg: list(values) for arg, values in args.items()}
            for name, args in profile.extractor_args.items()
        }
    if sleep_seconds > 0:
        params["sleep_interval_requests"] = sleep_seconds
        if download:
            params["sleep_interval"] = sleep_seconds
    return params
