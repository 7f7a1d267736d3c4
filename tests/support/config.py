"""Runtime settings changed the way an administrator changes them: through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import App


async def configure(app: App, **values: Any) -> dict[str, Any]:
    """Change runtime settings (``retry_base_delay=0.2``, ...); returns the listing after."""
    response = await app.http.patch("/api/v1/config", json=values)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
