import os
from pathlib import Path

from haul.core.paths import free_name, inside, owner_folder


def test_inside_resolves_dots_and_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    assert inside(root / "a" / "f", root)
    assert not inside(root / ".." / "elsewhere", root)
    assert not inside(root, root)
    os.symlink(tmp_path, root / "escape")
    assert not inside(root / "escape" / "x", root)


def test_free_name_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "film.mkv").write_text("x")
    (tmp_path / "film (1).mkv").write_text("x")
    assert free_name(tmp_path, "film.mkv").name == "film (2).mkv"
    assert free_name(tmp_path, "new.mkv").name == "new.mkv"
    (tmp_path / "README").write_text("x")
    assert free_name(tmp_path, "README").name == "README (1)"


def test_each_owner_has_a_folder_that_stays_inside() -> None:
    session = "session:1a2b3c4d-0000-4000-8000-000000000000"
    assert owner_folder("local", None) == ""
    assert owner_folder("user:2", "alice") == "alice-2"
    assert owner_folder("user:9", "alice") == "alice-9"  # a later alice has her own
    assert owner_folder("user:3", "visitors") == "visitors-3"  # never the visitors' folder
    assert owner_folder("user:4", ".haul-work") == "user-4"
    assert owner_folder("user:7", None) == "user-7"
    assert owner_folder(session, None) == "visitors/1a2b3c4d"
    for hostile in ("..", "../x", "/etc", "a/b", "a\\b", "~root"):
        assert owner_folder("user:3", hostile) == "user-3"
