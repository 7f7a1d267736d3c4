"""The CLI's help at 80 columns reads as prose: a command's description fills its lines and
breaks where the terminal ends, not where a line of haul's source ended."""

from __future__ import annotations

from itertools import pairwise

import pytest
from typer.testing import CliRunner

from haul.cli import main as cli

CELL_LINE = "│"


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli.app, [*args, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def descriptions(output: str) -> dict[str, list[str]]:
    """The Commands panel: each command's description, as the lines it is shown on."""
    panel = output.split("Commands ", 1)[1]
    rows: dict[str, list[str]] = {}
    name = ""
    for line in panel.splitlines():
        if not line.startswith(CELL_LINE):
            continue
        cells = line.strip(CELL_LINE).rstrip()
        head, text = cells[:15], cells[15:].strip()
        if head.strip():
            name = head.strip().split()[0]
            rows[name] = []
        if name:
            rows[name].append(text)
    return rows


@pytest.mark.parametrize("group", [(), ("media",), ("users",), ("subscriptions",)])
def test_descriptions_fill_their_lines(group: tuple[str, ...]) -> None:
    rows = descriptions(help_text(*group))
    assert rows
    for name, lines in rows.items():
        for line in lines[:-1]:
            # a line broken by the terminal is nearly full: the next word did not fit
            assert len(line) > 40, (name, lines)


def test_a_commands_own_help_wraps_at_the_terminal() -> None:
    output = help_text("login")
    assert "(or under $XDG_CONFIG_HOME), readable by you only" in " ".join(
        line.strip() for line in output.splitlines()
    )
    prose = output.split("Options", 1)[0].splitlines()
    broken = [
        (line, after)
        for line, after in pairwise(prose)
        if line.strip() and after.strip() and len(line.rstrip()) < 50
    ]
    assert not broken, broken
