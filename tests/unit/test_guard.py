"""The address guard: the rule, the audit hook on ``socket.connect`` and the scope around work.

Connections are real sockets on loopback: a listener tells whether a connection arrived. A
refused connection never leaves the machine, so refusing 169.254.169.254 is instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.errors import AddressRefused, TransferStopped
from haul.net import guard
from haul.net.guard import AddressPolicy, Refusal, RefusedConnection

OPEN = AddressPolicy(allow_private=True)
CLOSED = AddressPolicy(allow_private=False)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that accepts nothing by itself."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    with server:
        yield server


def port_of(server: socket.socket) -> int:
    port: int = server.getsockname()[1]
    return port


def arrived(server: socket.socket) -> bool:
    """Whether a connection reached the listener (the handshake completes in the kernel)."""
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def connect(host: str, port: int, family: int = socket.AF_INET) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((host, port))


# -- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("100.100.100.200", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
    ],
)
def test_link_local_metadata_unspecified_and_multicast_are_always_refused(
    address: str, kind: str
) -> None:
    for policy in (OPEN, CLOSED):
        refusal = policy.check(address)
        assert refusal is not None and refusal.kind == kind


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "192.168.1.20", "172.16.0.9",
                "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"]
)  # fmt: skip
def test_private_and_loopback_are_refused_only_where_not_allowed(address: str) -> None:
    assert OPEN.check(address) is None
    refusal = CLOSED.check(address)
    assert refusal is not None and refusal.kind == "private"


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert OPEN.check(address) is None and CLOSED.check(address) is None


def test_a_host_name_is_not_judged_by_the_rule() -> None:
    assert CLOSED.check("localhost") is None  # the guard resolves names first


# -- the hook --------------------------------------------------------------------------------


def test_without_a_scope_nothing_is_checked(listener: socket.socket) -> None:
    assert guard.active() is None
    connect("127.0.0.1", port_of(listener))
    assert arrived(listener)


def test_a_forbidden_address_is_refused_before_the_connection(listener: socket.socket) -> None:
    with guard.watch(CLOSED) as scope, pytest.raises(RefusedConnection) as caught:
        connect("127.0.0.1", port_of(listener))
    assert caught.value.errno == errno.EACCES
    assert "127.0.0.1, a private or loopback address" in str(caught.value)
    assert scope is not None and scope.refusals == [Refusal("127.0.0.1", "private")]
    assert not arrived(listener)


def test_an_allowed_address_connects_under_a_scope(listener: socket.socket) -> None:
    with guard.watch(OPEN) as scope:
        connect("127.0.0.1", port_of(listener))
    assert arrived(listener)
    assert scope is not None and scope.refusals == []


def test_link_local_is_refused_even_where_private_is_allowed() -> None:
    with guard.watch(OPEN), pytest.raises(RefusedConnection, match=r"169\.254\.169\.254"):
        connect("169.254.169.254", 80)  # nothing listens there: only a refusal is this fast


def test_ipv4_mapped_ipv6_is_judged_as_ipv4(listener: socket.socket) -> None:
    with guard.watch(CLOSED), pytest.raises(RefusedConnection):
        connect("::ffff:127.0.0.1", port_of(listener), socket.AF_INET6)
    assert not arrived(listener)
    with guard.watch(OPEN), pytest.raises(RefusedConnection):
        connect("::ffff:169.254.169.254", 80, socket.AF_INET6)
    with guard.watch(OPEN):
        connect("::ffff:127.0.0.1", port_of(listener), socket.AF_INET6)
    assert arrived(listener)


def test_a_name_given_to_connect_is_resolved_and_judged(listener: socket.socket) -> None:
    with guard.watch(CLOSED) as scope, pytest.raises(RefusedConnection):
        connect("localhost", port_of(listener))
    assert scope is not None and scope.refusals[0].host == "localhost"
    assert not arrived(listener)


def test_unix_sockets_are_not_network_addresses(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with guard.watch(CLOSED), socket.socket(socket.AF_UNIX) as client:
            client.connect(path)


def test_the_hook_is_installed_once(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard.install()
    guard.install()
    calls: list[object] = []
    original = guard.Scope.connecting

    def counting(self: guard.Scope, sock: object, address: object) -> None:
        calls.append(address)
        original(self, sock, address)

    monkeypatch.setattr(guard.Scope, "connecting", counting)
    with guard.watch(OPEN):
        connect("127.0.0.1", port_of(listener))
    assert calls == [("127.0.0.1", port_of(listener))]


def test_the_scope_ends_with_the_block(listener: socket.socket) -> None:
    with guard.watch(CLOSED):
        assert guard.active() is CLOSED
        with guard.watch(OPEN):
            assert guard.active() is OPEN
        assert guard.active() is CLOSED
    assert guard.active() is None
    connect("127.0.0.1", port_of(listener))
    assert arrived(listener)


# -- threads and tasks -------------------------------------------------------------------------


async def test_the_scope_follows_work_into_to_thread(listener: socket.socket) -> None:
    port = port_of(listener)
    with pytest.raises(AddressRefused) as caught, guard.watch(CLOSED, "http://localhost/"):
        await asyncio.to_thread(connect, "127.0.0.1", port)
    assert isinstance(caught.value.__cause__, RefusedConnection)
    assert caught.value.code == "forbidden_address" and not caught.value.transient
    assert not arrived(listener)
    await asyncio.to_thread(connect, "127.0.0.1", port)  # after the scope: unchecked
    assert arrived(listener)


async def test_the_scope_follows_work_into_tasks_it_starts(listener: socket.socket) -> None:
    async def dial() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", port_of(listener)))

    with guard.watch(CLOSED):
        task = asyncio.create_task(dial())
    with pytest.raises(RefusedConnection):
        await task
    assert not arrived(listener)


def test_a_thread_pool_that_drops_the_context_needs_guard_call(listener: socket.socket) -> None:
    port = port_of(listener)
    with guard.watch(CLOSED):
        plain = threading.Thread(target=connect, args=("127.0.0.1", port))
        plain.start()
        plain.join()
    assert arrived(listener)  # a bare thread does not carry the scope...
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            guard.call(CLOSED, lambda: connect("127.0.0.1", port))
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=guarded)
    worker.start()
    worker.join()
    assert [type(e) for e in failures] == [AddressRefused]  # ...guard.call does
    assert not arrived(listener)


# -- what a scope turns a failure into ---------------------------------------------------------


def test_a_failure_after_a_refusal_becomes_address_refused() -> None:
    with pytest.raises(AddressRefused) as caught, guard.watch(OPEN, "http://127.0.0.1:8/a"):
        try:
            connect("169.254.169.254", 80)
        except OSError as exc:
            raise RuntimeError("the library's own words") from exc
    assert caught.value.address == "169.254.169.254"
    assert str(caught.value) == (
        "The server at 127.0.0.1 redirected to 169.254.169.254, "
        "a link-local or cloud metadata address, which haul never fetches."
    )
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_other_failures_and_stops_pass_through() -> None:
    with pytest.raises(ValueError), guard.watch(CLOSED):
        raise ValueError("not about addresses")
    with pytest.raises(TransferStopped), guard.watch(OPEN):
        with contextlib.suppress(OSError):
            connect("169.254.169.254", 80)
        raise TransferStopped()


def test_work_that_recovers_from_a_refusal_ends_as_it_is(listener: socket.socket) -> None:
    with guard.watch(OPEN) as scope:
        with contextlib.suppress(OSError):
            connect("169.254.169.254", 80)  # the first address of a name, say
        connect("127.0.0.1", port_of(listener))  # the next one works
    assert scope is not None and len(scope.refusals) == 1
    assert arrived(listener)


def test_no_policy_means_no_scope(listener: socket.socket) -> None:
    with guard.watch(None) as scope:
        connect("127.0.0.1", port_of(listener))
    assert scope is None and arrived(listener)


# -- the sentences -------------------------------------------------------------------------------

LINK = "a link-local or cloud metadata address, which haul never fetches"
PRIVATE = "a private or loopback address, which this instance does not allow"


@pytest.mark.parametrize(
    ("refusal", "url", "links", "sentence"),
    [
        (Refusal("169.254.169.254", "link-local"), "http://127.0.0.1:8000/f", False,
         f"The server at 127.0.0.1 redirected to 169.254.169.254, {LINK}."),
        (Refusal("169.254.169.254", "link-local"), "http://127.0.0.1:8000/p", True,
         f"The page at 127.0.0.1 led, by a redirect or a link, to 169.254.169.254, {LINK}."),
        (Refusal("127.0.0.1", "private"), "http://localhost:8000/f", False,
         f"localhost resolves or redirects to 127.0.0.1, {PRIVATE}."),
        (Refusal("127.0.0.1", "private"), "http://localhost:8000/p", True,
         f"localhost resolves, redirects or links to 127.0.0.1, {PRIVATE}."),
        (Refusal("127.0.0.1", "private", "localhost"), "http://localhost/", False,
         f"localhost resolves to 127.0.0.1, {PRIVATE}."),
        (Refusal("10.0.0.7", "private", "nas.lan"), "https://example.org/x", False,
         f"The server at example.org redirected to nas.lan (10.0.0.7), {PRIVATE}."),
        (Refusal("10.0.0.7", "private"), "http://10.0.0.7/x", False, f"10.0.0.7 is {PRIVATE}."),
        (Refusal("10.0.0.7", "private", "nas.lan"), None, False,
         f"nas.lan resolves to 10.0.0.7, {PRIVATE}."),
        (Refusal("224.0.0.1", "multicast"), None, False,
         "haul does not connect to 224.0.0.1, a multicast address, which haul never fetches."),
    ],
)  # fmt: skip
def test_refusals_say_where_the_url_led(
    refusal: Refusal, url: str | None, links: bool, sentence: str
) -> None:
    assert guard.describe(refusal, url, links=links) == sentence


def test_a_refusal_said_without_its_url_can_be_said_again_with_it() -> None:
    bare = guard.refused(Refusal("169.254.169.254", "link-local"))
    assert bare.message == f"haul does not connect to 169.254.169.254, {LINK}."
    again = guard.reworded(bare, "http://127.0.0.1:9/start")
    assert again.message == f"The server at 127.0.0.1 redirected to 169.254.169.254, {LINK}."
    assert again.code == "forbidden_address"
