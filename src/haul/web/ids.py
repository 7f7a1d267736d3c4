"""Ids as the API takes them (path, query and body alike): whole numbers from 1 to 2^31 - 1.

Ids are 32-bit on PostgreSQL, and SQLite cannot even bind a number past 2^63: an id outside
the range would fail deep in a query (HTTP 500) or be written where it does not fit. Refused
at the edge instead, as a 422 naming the parameter, and the OpenAPI schema says the range.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from haul.service.listing import MAX_ID

#: The id of a row haul keeps (a download, a media item, a notification target, ...).
Id = Annotated[int, Ge(1), Le(MAX_ID)]
