"""REST routes for download profiles (named yt-dlp presets): list, add, change, remove.

Reading them needs someone who may download (an account in accounts mode, a visitor in public
mode, who chooses among them on the add page); changing them needs an administrator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from haul.web.deps import AdminDep, OwnerDep, ProfilesDep
from haul.web.schemas.errors import error_responses
from haul.web.schemas.profiles import ProfileChange, ProfileCreate, ProfileOut

router = APIRouter(prefix="/profiles", tags=["profiles"])

ADMIN = "The caller is not an administrator"
BAD = error_responses(422, described={422: "A bad field; `errors` maps each to a sentence"})


def _as_seen_by(profile: dict[str, Any], admin: bool) -> dict[str, Any]:
    """A profile as its reader sees it: how it reaches sites (its proxy, its extractor
    arguments, which may hold a token) is the administrators' business."""
    if admin:
        return profile
    return {**profile, "proxy": None, "extractor_args": {}}


@router.get("", response_model=list[ProfileOut], responses=error_responses(401))
async def list_profiles(profiles: ProfilesDep, who: OwnerDep) -> Any:
    """Every profile, by name. ``proxy`` (its credentials masked) and ``extractor_args`` are
    shown to administrators only."""
    return [_as_seen_by(p, who.is_admin) for p in await profiles.list()]


@router.get("/{name}", response_model=ProfileOut, responses=error_responses(401, 404))
async def get_profile(name: str, profiles: ProfilesDep, who: OwnerDep) -> Any:
    return _as_seen_by(await profiles.get(name), who.is_admin)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfileOut,
    responses={
        **error_responses(403, 409, described={403: ADMIN, 409: "The name is taken"}),
        **BAD,
    },
)
async def create_profile(body: ProfileCreate, profiles: ProfilesDep, _admin: AdminDep) -> Any:
    """Add a profile; with ``is_default`` it becomes the one default."""
    return await profiles.create(body.given())


@router.patch(
    "/{name}",
    response_model=ProfileOut,
    responses={
        **error_responses(403, 404, 409, described={403: ADMIN, 409: "The new name is taken"}),
        **BAD,
    },
)
async def change_profile(
    name: str, body: ProfileChange, profiles: ProfilesDep, _admin: AdminDep
) -> Any:
    """Change some fields (a new ``name`` renames it; downloads keep using it)."""
    return await profiles.update(name, body.given())


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        403, 404, 409, described={403: ADMIN, 409: "Unfinished downloads use it"}
    ),
)
async def delete_profile(name: str, profiles: ProfilesDep, _admin: AdminDep) -> None:
    """Remove a profile no unfinished download uses; finished ones keep their history."""
    await profiles.delete(name)
