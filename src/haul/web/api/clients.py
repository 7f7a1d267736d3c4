"""REST routes for download clients: configure, test, list untracked items, adopt them."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, status

from haul.clients.base import ClientHealth
from haul.core.client_items import ClientItem
from haul.core.client_specs import ClientSpec
from haul.errors import InvalidFields
from haul.service import to_json
from haul.web.deps import ClientsDep, DownloadsDep, OwnerDep
from haul.web.schemas.clients import (
    Adopt,
    ClientCreate,
    ClientItemList,
    ClientList,
    ClientOut,
    ClientSettings,
    ClientTest,
    ClientTestOut,
)
from haul.web.schemas.downloads import DownloadOut
from haul.web.schemas.errors import error_responses

router = APIRouter(prefix="/clients", tags=["clients"])


def _spec(body: ClientCreate) -> ClientSpec:
    given = body.given()
    return ClientSpec(**{k: v for k, v in given.items() if v is not None or k == "secret"})


#: A setting's value when a client is added without it (None: the setting may be empty).
DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(ClientSpec)
    if field.default is not dataclasses.MISSING
}


def _changes(body: ClientSettings) -> dict[str, Any]:
    """The changes a PATCH asks for, null meaning "back to the default" as when adding."""
    changes = body.given()
    empty = [k for k, v in changes.items() if v is None and k != "secret" and k not in DEFAULTS]
    if empty:
        raise InvalidFields({k: f"{k} cannot be empty; leave it out to keep it." for k in empty})
    return {k: DEFAULTS[k] if v is None and k != "secret" else v for k, v in changes.items()}


def _health(health: ClientHealth) -> dict[str, Any]:
    return dataclasses.asdict(health)


def _item(item: ClientItem) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "status": item.status.value,
        "name": item.name,
        "progress": item.progress,
        "downloaded_bytes": item.downloaded_bytes,
        "total_bytes": item.total_bytes,
        "save_path": item.save_path,
        "message": item.message,
    }


@router.get("", response_model=ClientList)
async def list_clients(clients: ClientsDep) -> Any:
    """The configured clients (secrets never shown), with whether each is failing lately."""
    return {"items": [view.to_json() for view in await clients.configured()]}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientOut,
    responses=error_responses(409, 422),
)
async def create_client(body: ClientCreate, clients: ClientsDep) -> Any:
    """Add a client. It is not contacted here: use ``/clients/test`` or ``/{name}/test``."""
    return (await clients.create(_spec(body))).to_json()


@router.post("/test", response_model=ClientTestOut, responses=error_responses(422))
async def test_settings(body: ClientCreate, clients: ClientsDep) -> Any:
    """Try settings before saving them: says exactly what is wrong, if anything."""
    return _health(await clients.test(_spec(body)))


@router.get("/{name}", response_model=ClientOut, responses=error_responses(404))
async def get_client(name: str, clients: ClientsDep) -> Any:
    return (await clients.get(name)).to_json()


@router.patch("/{name}", response_model=ClientOut, responses=error_responses(404, 422))
async def change_client(name: str, body: ClientSettings, clients: ClientsDep) -> Any:
    """Change some settings. A setting left out keeps its value; null puts it back to its
    default (or empties it, where it may be empty); a secret left out (or null) keeps the
    stored one."""
    return (await clients.update(name, _changes(body))).to_json()


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409)
)
async def delete_client(name: str, clients: ClientsDep) -> None:
    """Remove a client that holds no unfinished download (disable it otherwise)."""
    await clients.delete(name)


@router.post("/{name}/test", response_model=ClientTestOut, responses=error_responses(404))
async def test_client(name: str, clients: ClientsDep, body: ClientTest | None = None) -> Any:
    """Connect to a configured client now (optionally with a new secret, not saved)."""
    return _health(await clients.test_named(name, body.secret if body else None))


@router.get("/{name}/untracked", response_model=ClientItemList, responses=error_responses(404, 502))
async def untracked(name: str, clients: ClientsDep) -> Any:
    """Items the client holds under haul's category that haul did not add."""
    return {"items": [_item(item) for item in await clients.untracked(name)]}


@router.post(
    "/{name}/adopt",
    status_code=status.HTTP_201_CREATED,
    response_model=DownloadOut,
    responses=error_responses(404, 502),
)
async def adopt(
    name: str, body: Adopt, clients: ClientsDep, service: DownloadsDep, owner: OwnerDep
) -> Any:
    """Make an untracked item one of your downloads."""
    download_id = await clients.adopt(name, body.ref, owner)
    tracked = await service.get(download_id, owner)
    return to_json(tracked)
