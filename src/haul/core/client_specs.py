"""A configured download client as plain data, detached from the database row it was read from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A configured client: which kind it is, where it answers, and how haul uses it."""

    name: str
    kind: str
    url: str
    username: str | None = None
    secret: str | None = field(default=None, repr=False)  # never in a log line
    category: str = "haul"
    priority: int = 1
    enabled: bool = True
    slot_limit: int | None = None
    prefer_for_files: bool = False
    timeout: float = 5.0
    remove_completed: bool = False
    seed_ratio: float | None = None
    seed_minutes: int | None = None

    @property
    def connection(self) -> tuple[str, str, str | None, str | None, str, float]:
        """What building the client depends on: a change here means a new connection."""
        return (self.kind, self.url, self.username, self.secret, self.category, self.timeout)
