"""The API's download model is made from the tracked value: every field, once."""

from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime

import pytest

from haul.core.status import Status
from haul.core.tracking import Tracked
from haul.service.values import to_json
from haul.web.schemas.derived import model_of
from haul.web.schemas.downloads import DownloadOut

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def tracked(**changes: object) -> Tracked:
    values: dict[str, object] = {
        "id": 7,
        "url": "http://example.com/a.mkv",
        "title": "A",
        "status": Status.COMPLETED,
        "progress": 1.0,
        "downloaded_bytes": 10,
        "total_bytes": 10,
        "speed": None,
        "eta": None,
        "client": "builtin",
        "client_ref": "7",
        "error": None,
        "error_code": None,
        "message": None,
        "media_id": None,
        "parent_id": None,
        "owner": "local",
        "created_at": NOW,
        "completed_at": NOW,
        "retry_at": None,
        "files": [{"path": "a.mkv", "name": "a.mkv", "size": 10, "root": "downloads"}],
    }
    values.update(changes)
    return Tracked(**values)  # type: ignore[arg-type]


def test_the_model_has_every_field_of_tracked_in_its_order() -> None:
    assert list(DownloadOut.model_fields) == [f.name for f in fields(Tracked)]


def test_required_fields_are_those_tracked_gives_no_default() -> None:
    required = [name for name, info in DownloadOut.model_fields.items() if info.is_required()]
    assert required == [f.name for f in fields(Tracked) if f.default is MISSING]


def test_a_tracked_download_reads_back_as_sent() -> None:
    shown = DownloadOut.model_validate(to_json(tracked(children=None, owner_name="local")))
    dumped = shown.model_dump(mode="json")
    assert dumped["status"] == "completed"
    assert dumped["created_at"] == "2026-01-01T00:00:00Z"
    assert dumped["files"] == [{"path": "a.mkv", "name": "a.mkv", "size": 10, "root": "downloads"}]
    assert dumped["owner_name"] == "local"


def test_the_schema_describes_what_the_value_does_not_say() -> None:
    schema = DownloadOut.model_json_schema()
    assert schema["title"] == "DownloadOut"
    assert schema["properties"]["status"] == {"title": "Status", "type": "string"}
    assert schema["properties"]["children"]["description"] == "A playlist's number of entries"


@dataclass(frozen=True)
class Value:
    name: str
    size: int | None = None


def test_a_field_added_to_the_value_reaches_the_model() -> None:
    model = model_of(Value, "ValueOut")
    assert list(model.model_fields) == ["name", "size"]
    assert model.model_validate({"name": "a"}).model_dump() == {"name": "a", "size": None}


def test_overrides_must_name_fields_the_value_has() -> None:
    with pytest.raises(TypeError, match="no fields \\['nme'\\]"):
        model_of(Value, "ValueOut", described={"nme": "typo"})


@dataclass(frozen=True)
class WithFactory:
    names: list[str] = field(default_factory=list)


def test_a_default_made_by_a_factory_is_refused() -> None:
    with pytest.raises(TypeError, match="default factory"):
        model_of(WithFactory, "WithFactoryOut")
