"""The download service: what the API, the CLI (through the API) and the worker share."""

from haul.service.downloads import DownloadService
from haul.service.values import ClientState, Owner, Page, to_json

__all__ = [
    "ClientState",
    "DownloadService",
    "Owner",
    "Page",
    "to_json",
]
