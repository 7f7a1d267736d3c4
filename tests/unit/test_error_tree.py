"""The exception tree drawn in :mod:`haul.errors` is the whole tree: every subclass of
``HaulError`` in haul is defined there and drawn under its parent, except a few private
adapter classes that are never caught by name outside their adapter."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import haul
from haul import errors
from haul.errors import HaulError

#: Private subclasses an adapter keeps for itself: ``module.Class`` -> the adapter's folder.
PRIVATE = {
    "haul.clients.aria2.wire.Aria2RpcError": "clients/aria2",
    "haul.clients.aria2.wire.Aria2Unauthorized": "clients/aria2",
    "haul.clients.aria2.wire.Aria2ItemNotFound": "clients/aria2",
    "haul.engine.segmented.RangesRefused": "engine",
    "haul.engine.segmented._Short": "engine",
}

_BRANCH = re.compile(r"^    (?P<rails>(?:│   |    )*)(?:├── |└── )(?P<name>\w+)")
_SRC = Path(haul.__file__).parent


def drawn() -> dict[str, str | None]:
    """Each class the docstring draws -> the class it is drawn under (None for the root)."""
    lines = (errors.__doc__ or "").splitlines()
    start = lines.index("    HaulError")
    parents: dict[str, str | None] = {"HaulError": None}
    path = ["HaulError"]
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        branch = _BRANCH.match(line)
        if branch is None:
            continue  # the rest of a note that did not fit on one line
        depth = len(branch["rails"]) // 4 + 1
        del path[depth:]
        parents[branch["name"]] = path[depth - 1]
        path.append(branch["name"])
    return parents


def every_subclass() -> list[type[HaulError]]:
    for module in pkgutil.walk_packages(haul.__path__, "haul."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[HaulError]] = []
    todo: list[type[HaulError]] = [HaulError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


CLASSES = every_subclass()
PUBLIC = [cls for cls in CLASSES if qualified(cls) not in PRIVATE]


def test_the_drawing_is_read() -> None:
    tree = drawn()
    assert tree["InvalidConfig"] == "InvalidFields"
    assert tree["DiskFull"] == "TransientTransferError"
    assert tree["ServerUnreachable"] == "HaulError"


@pytest.mark.parametrize("cls", PUBLIC, ids=qualified)
def test_a_public_class_lives_in_errors_and_is_drawn_under_its_parent(
    cls: type[HaulError],
) -> None:
    assert cls.__module__ == "haul.errors", f"move {cls.__name__} to haul.errors"
    tree = drawn()
    assert cls.__name__ in tree, f"draw {cls.__name__} in the docstring of haul.errors"
    parent = next(base for base in cls.__bases__ if issubclass(base, HaulError))
    assert tree[cls.__name__] == parent.__name__


def test_everything_drawn_exists() -> None:
    names = {cls.__name__ for cls in PUBLIC} | {"HaulError"}
    assert set(drawn()) - names == set()


def test_every_class_has_a_docstring_for_its_message() -> None:
    for cls in CLASSES:
        assert "__doc__" in vars(cls) and cls.__doc__, cls


@pytest.mark.parametrize("name", sorted(PRIVATE))
def test_a_private_class_subclasses_a_public_one_and_stays_in_its_adapter(name: str) -> None:
    cls = next(cls for cls in CLASSES if qualified(cls) == name)
    assert any(base in PUBLIC for base in inspect.getmro(cls)[1:])
    adapter = _SRC / PRIVATE[name]
    pattern = re.compile(rf"\b{cls.__name__}\b")
    outside = [
        path.relative_to(_SRC)
        for path in _SRC.rglob("*.py")
        if not path.is_relative_to(adapter)
        and path != _SRC / "errors.py"  # its docstring names them
        and pattern.search(path.read_text())
    ]
    assert outside == []
