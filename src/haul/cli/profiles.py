"""``haul profiles``: named yt-dlp presets (format, container, subtitles, names, folder)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console

profiles_app = typer.Typer(
    help="Download profiles: yt-dlp presets (ls, add, edit, rm).", no_args_is_help=True
)

FormatOpt = Annotated[
    str | None, typer.Option("--format", help="yt-dlp format selector, e.g. 'bv*+ba/b'.")
]
ContainerOpt = Annotated[
    str | None, typer.Option("--container", help="Merge/remux into: mp4, mkv, webm, ...")
]
SubtitlesOpt = Annotated[
    str | None, typer.Option("--subtitles", help="Comma-separated languages, e.g. en,pt-BR.")
]
TemplateOpt = Annotated[
    str | None,
    typer.Option("--template", help="yt-dlp output template, e.g. '%(title)s.%(ext)s'."),
]
TargetOpt = Annotated[
    str | None, typer.Option("--target-dir", help="A folder under the download root.")
]


def _body(**given: Any) -> dict[str, Any]:
    """The options given (an empty text clears a field when editing)."""
    body = {key: value for key, value in given.items() if value is not None}
    if "subtitles" in body:
        body["subtitles"] = [c.strip() for c in body["subtitles"].split(",") if c.strip()]
    return body


@profiles_app.command("ls")
def list_profiles(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Every profile; the default one is marked *."""
    with api_for(server, token) as api:
        profiles = api.request("GET", "/profiles")
    table = Table("name", "default")
    for column in ("format", "container", "subtitles", "template", "folder"):
        table.add_column(column, overflow="fold")
    for p in profiles:
        table.add_row(
            p["name"],
            "*" if p["is_default"] else "",
            p["format"] or "",
            p["container"] or "",
            ", ".join(p["subtitles"]),
            p["output_template"] or "",
            p["target_dir"] or "",
        )
    console.print(table)


@profiles_app.command("add")
def add_profile(
    name: Annotated[str, typer.Argument(help="e.g. 720p (letters, digits, . - _).")],
    format: FormatOpt = None,
    container: ContainerOpt = None,
    subtitles: SubtitlesOpt = None,
    template: TemplateOpt = None,
    target_dir: TargetOpt = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a profile."""
    body = _body(
        name=name,
        format=format,
        container=container,
        subtitles=subtitles,
        output_template=template,
        target_dir=target_dir,
        is_default=default or None,
    )
    with api_for(server, token) as api:
        added = api.request("POST", "/profiles", json=body)
    console.print(f"added {added['name']}{' (the default)' if added['is_default'] else ''}")


@profiles_app.command("edit")
def edit_profile(
    name: Annotated[str, typer.Argument(help="The profile to change.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename it.")] = None,
    format: FormatOpt = None,
    container: ContainerOpt = None,
    subtitles: SubtitlesOpt = None,
    template: TemplateOpt = None,
    target_dir: TargetOpt = None,
    default: Annotated[
        bool | None, typer.Option("--default/--no-default", help="Make it the default or not.")
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Change some fields of a profile (an empty value, e.g. --format '', clears one)."""
    body = _body(
        name=new_name,
        format=format,
        container=container,
        subtitles=subtitles,
        output_template=template,
        target_dir=target_dir,
        is_default=default,
    )
    with api_for(server, token) as api:
        changed = api.request("PATCH", f"/profiles/{name}", json=body)
    console.print(f"changed {changed['name']}")


@profiles_app.command("rm")
def remove_profiles(
    names: Annotated[list[str], typer.Argument(help="Profiles to remove.")],
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Remove profiles no unfinished download uses."""
    with api_for(server, token) as api:
        for name in names:
            api.request("DELETE", f"/profiles/{name}")
            console.print(f"removed {name}")
