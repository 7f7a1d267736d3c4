"""IPTV providers speaking the Xtream Codes API: their catalogues and stream URLs.

catalog     the values (films, series, seasons, episodes, categories, the account)
parsing     Xtream JSON -> those values, robust to what real panels send (pure)
search      accent-folded, case-insensitive search over a catalogue list (pure)
redact      keeping credentials out of messages and logs
xtream      the wire client (player_api.php over an httpx.AsyncClient)
cache       catalogue lists per provider with a time to live
providers   a configured provider and the checks of its settings
streams     fresh_stream_url: the URL of a film or an episode, asked for at each attempt
"""

from haul.iptv.catalog import (
    Account,
    Category,
    Episode,
    Season,
    Series,
    SeriesInfo,
    StreamKind,
    VodInfo,
    VodStream,
)
from haul.iptv.streams import ResolvedStream, as_transfer_error, fresh_stream_url
from haul.iptv.xtream import XtreamClient

__all__ = [
    "Account",
    "Category",
    "Episode",
    "ResolvedStream",
    "Season",
    "Series",
    "SeriesInfo",
    "StreamKind",
    "VodInfo",
    "VodStream",
    "XtreamClient",
    "as_transfer_error",
    "fresh_stream_url",
]
