"""Commands run beside a server (in its container, under its service's environment) reach it
without ``--server``: the default follows the server's own port and base path."""

from __future__ import annotations

from haul.cli.common import local_server


def test_the_default_server_is_this_machines_on_the_default_port() -> None:
    assert local_server({}) == "http://127.0.0.1:8680"


def test_the_default_server_follows_the_port_and_base_path_of_the_environment() -> None:
    environ = {"HAUL_PORT": "9000", "HAUL_BASE_PATH": "/haul/"}
    assert local_server(environ) == "http://127.0.0.1:9000/haul"


def test_a_port_that_is_not_a_number_leaves_the_default() -> None:
    assert local_server({"HAUL_PORT": "eighty"}) == "http://127.0.0.1:8680"
