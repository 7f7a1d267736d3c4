"""A real nginx in front of haul: its own configuration in a temporary folder, listening on
loopback ports only, started and stopped by its PID.

The ``location`` block it proxies haul with is the one ``docs/reverse-proxy.md`` shows, read
from the page, so the example people copy is the one the tests run.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.daemons import require

NGINX = "/usr/sbin/nginx"  # Debian's, outside a user's PATH
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reverse-proxy.md"
#: The address nginx connects to haul from, so that haul can tell it from the tests, which
#: reach haul from 127.0.0.1 (any 127.x address is this machine's on Linux).
PROXY_ADDRESS = "127.0.0.2"


def documented_location(haul_port: int) -> str:
    """The nginx ``location /haul/`` block of the docs, proxying to haul on ``haul_port``."""
    text = DOCS.read_text()
    found = re.search(r"^    location /haul/ \{\n.*?^    \}\n", text, flags=re.M | re.S)
    assert found, f"{DOCS} shows no nginx 'location /haul/ {{ ... }}' block"
    block = found.group(0)
    assert "http://127.0.0.1:8680" in block, "the documented block proxies to haul's default"
    return block.replace("http://127.0.0.1:8680", f"http://127.0.0.1:{haul_port}").replace(
        "proxy_pass ", f"proxy_bind {PROXY_ADDRESS};\n        proxy_pass ", 1
    )


def _temp_paths(folder: Path, nginx: str) -> str:
    """Temporary folders inside ``folder`` for the modules this nginx was built with."""
    built = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=True).stderr
    lines = [f"client_body_temp_path {folder}/body;", f"proxy_temp_path {folder}/proxy;"]
    for module in ("fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            lines.append(f"{module}_temp_path {folder}/{module};")
    return "\n    ".join(lines)


@contextmanager
def running_nginx(folder: Path, servers: str, ports: list[int]) -> Iterator[None]:
    """nginx with these ``server`` blocks (listening on ``ports``) until the block ends."""
    nginx = NGINX if Path(NGINX).exists() else require("nginx", "nginx-light")
    folder.mkdir(parents=True, exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    {_temp_paths(folder, nginx)}
{servers}
}}
"""
    )
    log = folder / "error.log"
    proc = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(conf), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while not all(_answers(port) for port in ports):
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not listen in time")
            time.sleep(0.05)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)  # fast shutdown of the master and its worker
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
