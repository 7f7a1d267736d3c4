"""REST route listing the formats a page offers, so a person can choose one for a download."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query

from haul.web.deps import FormatsDep, OwnerDep
from haul.web.schemas.errors import error_responses
from haul.web.schemas.formats import PageFormatsOut

router = APIRouter(prefix="/formats", tags=["downloads"])


@router.get("", response_model=PageFormatsOut, responses=error_responses(422, 429))
async def list_formats(
    service: FormatsDep,
    owner: OwnerDep,
    url: Annotated[str, Query(max_length=8192, description="The page or stream")],
) -> Any:
    """The formats of the video at ``url`` as yt-dlp lists them (nothing is downloaded): give
    one's ``id`` as ``format`` when adding the download. A few listings at once and a number
    per minute per person (429 over them); an answer is kept a few minutes."""
    return dataclasses.asdict(await service.formats(url, owner))
