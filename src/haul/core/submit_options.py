"""What a submit asks for besides its source (pure).

One value, made where a request comes in (the API's request bodies, the add page, ``haul add``,
the IPTV catalogue) once its input has been checked there, with that interface's own messages;
the service reads it and hands it unchanged to the store, which writes it to the download's
columns in one place (:func:`haul.store.submits.option_columns`). What the service decides
on its own (the profile's id, the client a torrent is routed to, the .torrent's bytes) travels
beside it, never inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The priorities a submit may ask for; above 0 puts the download at the front of the queue.
PRIORITY_LOWEST = -100
PRIORITY_HIGHEST = 100

IptvKind = Literal["movie", "episode"]


@dataclass(frozen=True, slots=True)
class IptvEntry:
    """The catalogue entry an IPTV download is of: a film's stream, or a series' episode."""

    provider_id: int
    kind: IptvKind
    #: The provider's id of the film's stream or of the episode.
    ref: str
    season: int | None = None
    episode: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("movie", "episode"):
            raise ValueError(f"an IPTV entry is a movie or an episode, not {self.kind!r}")
        if self.kind == "movie" and (self.season is not None or self.episode is not None):
            raise ValueError("a film has no season or episode number")


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOptions:
    """How a download is to be made, as its submitter asked."""

    #: The profile's name (None: the default profile, if there is one).
    profile: str | None = None
    #: The download client asked for (None: haul routes it).
    client: str | None = None
    #: The library's media item it is for.
    media_id: int | None = None
    #: Even if that media item has its file or is being downloaded.
    force: bool = False
    #: Added without starting.
    paused: bool = False
    #: From :data:`PRIORITY_LOWEST` to :data:`PRIORITY_HIGHEST`; above 0: the queue's front.
    priority: int = 0
    #: What to call it (None: the source's own name, once known).
    title: str | None = None
    #: The IPTV catalogue entry it is of (a film or an episode haul found in a catalogue).
    iptv: IptvEntry | None = None
    #: A yt-dlp format selector for this download only, instead of its profile's (None: the
    #: profile's); checked by :func:`haul.core.profiles.check_choice`.
    format: str | None = None
    #: Audio only, for this download only: the format to convert to and its quality.
    audio_format: str | None = None
    audio_quality: str | None = None
    #: A live stream's recording ends after this many seconds of media (None: the server's
    #: limit, if any). Nothing else has a use for it.
    max_duration: float | None = None
    #: Its own download speed limit in bytes per second (None: none but the others).
    speed_limit: int | None = None

    def __post_init__(self) -> None:
        if not PRIORITY_LOWEST <= self.priority <= PRIORITY_HIGHEST:
            raise ValueError(
                f"a priority is from {PRIORITY_LOWEST} to {PRIORITY_HIGHEST}, not {self.priority}"
            )
        if self.max_duration is not None and not self.max_duration > 0:
            raise ValueError("a recording's maximum duration is a number of seconds above 0")
        if self.iptv is not None and self.media_id is None:
            raise ValueError("an IPTV download is for a media item")
        if self.audio_quality is not None and self.audio_format is None:
            raise ValueError("an audio quality goes with an audio format")

    @property
    def chooses_format(self) -> bool:
        """Whether it asks yt-dlp for a format or audio of its own (not the profile's)."""
        return self.format is not None or self.audio_format is not None

    @property
    def to_front(self) -> bool:
        """Whether it goes to the front of the queue rather than after the owner's others."""
        return self.priority > 0


#: A submit that asks for nothing in particular.
DEFAULT_OPTIONS = SubmitOptions()
