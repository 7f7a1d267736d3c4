"""Command help as readable prose: a docstring's paragraphs are wrapped at the terminal's
width, not where the source's lines happened to end.

Typer keeps a docstring's single line breaks, so a paragraph written over two source lines
showed as a line of 60 characters, a line of 20 and so on. Each paragraph (text between blank
lines) becomes one line before Typer sees it; the blank lines stay.
"""

from __future__ import annotations

import inspect

import typer


def reflowed(text: str) -> str:
    """``text`` with every paragraph on one line."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def reflow_help(app: typer.Typer) -> None:
    """Give every command of ``app`` and of its sub-apps its help with paragraphs on one line
    (the command's ``help=`` when given, its docstring otherwise)."""
    for command in app.registered_commands:
        text = command.help or (inspect.getdoc(command.callback) if command.callback else None)
        if text:
            command.help = reflowed(text)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)
