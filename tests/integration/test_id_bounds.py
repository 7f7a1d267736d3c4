"""Ids no database can hold (past 2^63, past 2^31, not a number) never end in a server error.

Every route the app serves is walked: each path parameter and each query parameter is given
such a value in turn. A page answers 404 (there is no such thing), the API 422 for a path it
cannot read (see :mod:`haul.web.ids`) or 404; a signed file link that names such an id is a
link that does not exist. A new route is walked the day it is added.

Runs on SQLite and on PostgreSQL (the two fail differently: SQLite cannot bind past 2^63,
PostgreSQL's ids are 32-bit).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts

from haul.settings import Settings
from tests.support.people import crowd

HUGE = ["18446744073709551616", "9223372036854775808", "2147483648", "0", "²"]
#: A value for each path parameter that is not an id haul keeps (an IPTV provider's stream
#: and series ids are the provider's, sent to it, never used in a query).
OTHER = {
    "name": "builtin",
    "provider": "1",
    "token": "x",
    "action": "pause",
    "stream_id": "1",
    "series_id": "1",
}
#: Streams that would stay open: walked in their own tests.
SKIPPED = {"/api/v1/events", "/ws", "/api/v1/docs", "/api/v1/openapi.json"}
CSRF = "c" * 43


def walked_routes(app: Any) -> list[tuple[str, str, list[str]]]:
    """(method, path, query parameter names) of every route, pages and API alike."""
    found = []
    for route in iter_route_contexts(app.routes):
        path, methods = route.path, route.methods
        if not path or not methods or path in SKIPPED or path.startswith("/static"):
            continue
        dependant = getattr(route, "dependant", None)
        queries = [p.alias for p in dependant.query_params] if dependant else []
        for method in sorted(methods - {"HEAD"}):
            found.append((method, path, queries))
    return found


def allowed(path: str, parameter: str) -> set[int]:
    if path.startswith("/api/") and parameter.endswith("_id"):
        return {422}
    return {404}


async def test_no_id_gives_a_server_error_on_any_route(settings: Settings) -> None:
    async with crowd(settings) as people:
        admin = people.admin.http
        admin.cookies.set("haul_csrf", CSRF)
        headers = {"X-CSRF-Token": CSRF, "Accept": "text/html"}
        routes = walked_routes(people.app)
        assert ("GET", "/library/{media_id}", []) in [(m, p, []) for m, p, _ in routes]
        assert len(routes) > 100
        for method, template, queries in routes:
            params = re.findall(r"{(\w+)}", template)
            for name in params:
                for value in HUGE:
                    filled = {p: OTHER.get(p, "1") for p in params} | {name: value}
                    path = template.format(**filled)
                    answer = await admin.request(method, path, headers=headers, data={})
                    if name in OTHER:
                        assert answer.status_code < 500, (method, path, answer.text[:300])
                    else:
                        expected = allowed(template, name)
                        assert answer.status_code in expected, (method, path, answer.text[:300])
            for query in queries:
                filled = {p: OTHER.get(p, "1") for p in params}
                path = template.format(**filled)
                for value in HUGE:
                    answer = await admin.request(
                        method, path, params={query: value}, headers=headers, data={}
                    )
                    assert answer.status_code < 500, (method, path, query, answer.text[:300])
