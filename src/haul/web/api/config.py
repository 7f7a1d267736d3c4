"""REST routes for the runtime settings an administrator changes while haul runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from haul.web.deps import AdminDep, ConfigDep
from haul.web.schemas.config import (
    PATCH_DESCRIPTION,
    PATCH_EXAMPLE,
    ConfigOut,
)
from haul.web.schemas.errors import error_responses

router = APIRouter(prefix="/config", tags=["config"])

ADMIN_ONLY = error_responses(403, described={403: "The caller is not an administrator"})


@router.get("", response_model=ConfigOut, responses=ADMIN_ONLY)
async def read_config(config: ConfigDep, _admin: AdminDep) -> Any:
    """Every runtime setting: the value in effect, the environment's default, and whether an
    administrator set it (``source``). Secrets kept in the same table are never listed."""
    return {"settings": await config.settings()}


@router.patch(
    "",
    response_model=ConfigOut,
    responses={
        **ADMIN_ONLY,
        **error_responses(
            422,
            described={422: "An unknown key or a bad value; `errors` maps each to a sentence"},
        ),
    },
)
async def change_config(
    config: ConfigDep,
    _admin: AdminDep,
    changes: Annotated[
        dict[str, Any], Body(description=PATCH_DESCRIPTION, examples=[PATCH_EXAMPLE])
    ],
) -> Any:
    """Change runtime settings; every process of the instance follows within moments (the
    next submit, admission and retry use the new values)."""
    return {"settings": await config.update(changes)}
