"""One invariant over every client kind in the registry: what a kind declares is true of it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import typing

import pytest

from haul.clients import registry
from haul.clients.base import Closable, DownloadClient
from haul.clients.kinds import PROTOCOLS, ClientKind
from haul.core.client_specs import ClientSpec
from haul.web.schemas.clients import ClientCreate

KINDS = registry.kinds()


def test_every_allowed_module_declares_one_kind_with_a_unique_name() -> None:
    assert len(KINDS) == len(registry.ALLOWED)
    assert all(isinstance(kind, ClientKind) for kind in KINDS)
    assert len(set(registry.names())) == len(KINDS)
    assert len(set(registry.labels().values())) == len(KINDS)
    for module, kind in zip(registry.ALLOWED, KINDS, strict=True):
        assert module == f"haul.clients.{kind.name}.kind"


def test_the_api_enum_is_the_registry() -> None:
    assert typing.get_args(ClientCreate.model_fields["kind"].annotation) == registry.names()


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_kind_is_what_it_declares(kind: ClientKind) -> None:
    assert kind.label.strip() and kind.label == kind.label.strip()
    assert kind.takes and kind.takes <= {"torrent", "file", "media"}
    assert not kind.preferable_for_files or "file" in kind.takes
    assert set(kind.capabilities) <= set(PROTOCOLS)
    spec = ClientSpec("example", kind.name, kind.example_url)
    assert registry.spec_problems(spec) == []  # its example passes its own checks
    client = registry.build_client(spec)
    try:
        assert isinstance(client, DownloadClient)
        assert client.kind == kind.name
        for capability, protocol in PROTOCOLS.items():
            assert isinstance(client, protocol) == (capability in kind.capabilities), capability
    finally:
        if isinstance(client, Closable):
            asyncio.run(client.aclose())


def test_listing_the_kinds_loads_no_adapter() -> None:
    code = (
        "import sys; from haul.clients import registry; registry.kinds(); "
        "print(sorted(m for m in sys.modules if m.endswith(('.client', '.wire', '.mapping'))"
        " and m.startswith('haul.clients.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
