"""Passwords in the CLI: asked at the terminal without echo, or read from standard input.

There is deliberately no ``--password VALUE`` option: a password given on the command line
stays in the shell's history and is visible to every user in the process list.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from haul.cli.render import say_error

NOT_ON_COMMAND_LINE = (
    "There is no --password VALUE option on purpose: a password on the command line stays "
    "in the shell's history and shows in the process list."
)

PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of asking "
        "(for scripts: printf '%s\\n' \"$PW\" | haul ...).",
    ),
]


def read_password(from_stdin: bool, *, confirm: bool, prompt: str = "Password") -> str:
    """The password from stdin's first line (its line ending removed), else asked at the
    terminal without echo, twice when ``confirm``; exits 2 when neither is possible."""
    stdin = sys.stdin
    if from_stdin:
        password = stdin.readline().rstrip("\r\n")
        if not password:
            say_error("--password-stdin: standard input had no password on its first line.")
            raise typer.Exit(2)
        return password
    if not stdin.isatty():
        say_error(
            "No terminal to ask for the password: pass it on standard input with --password-stdin."
        )
        raise typer.Exit(2)
    answer: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return answer
