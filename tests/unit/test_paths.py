import os
from pathlib import Path

from haul.core.paths import free_name, inside


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
