"""``haul profiles``: named yt-dlp presets (format, container or audio only, subtitles, names,
folder, what to embed and write beside the file, SponsorBlock)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from haul.cli.common import DEFAULT_SERVER, ServerOpt, TokenOpt, api_for, console
from haul.cli.render import print_fitted, stacked, text
from haul.core.profiles import FRAGMENTS_DEFAULT

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
AudioFormatOpt = Annotated[
    str | None,
    typer.Option("--audio-format", help="Audio only: mp3, m4a, opus, flac, wav or best."),
]
AudioQualityOpt = Annotated[
    str | None,
    typer.Option("--audio-quality", help="0 (best) to 10, or a bitrate such as 192K."),
]
FragmentsOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrent-fragments",
        min=1,
        max=16,
        help="HLS and DASH fragments fetched at once, 1 to 16 (default 4).",
    ),
]
SponsorRemoveOpt = Annotated[
    str | None,
    typer.Option(
        "--sponsorblock-remove", help="SponsorBlock categories to cut, e.g. sponsor,selfpromo."
    ),
]
SponsorMarkOpt = Annotated[
    str | None,
    typer.Option(
        "--sponsorblock-mark", help="SponsorBlock categories to mark as chapters, e.g. intro."
    ),
]

ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        help="http:// or https:// proxy with its port, e.g. http://user:pass@proxy.lan:3128 "
        "(no SOCKS; '' removes it).",
    ),
]
ExtractorArgsOpt = Annotated[
    str | None,
    typer.Option(
        "--extractor-args",
        help="yt-dlp extractor arguments, e.g. 'youtube:player_client=web,default' "
        "(yt-dlp's text form, or JSON; '' removes them).",
    ),
]


def _flag(name: str, what: str) -> Any:
    return typer.Option(f"--{name}/--no-{name}", help=what)


EmbedMetadataOpt = Annotated[bool | None, _flag("embed-metadata", "Tag the file with its page.")]
EmbedThumbnailOpt = Annotated[bool | None, _flag("embed-thumbnail", "Embed a cover picture.")]
EmbedChaptersOpt = Annotated[bool | None, _flag("embed-chapters", "Embed chapters.")]
EmbedSubtitlesOpt = Annotated[bool | None, _flag("embed-subtitles", "Embed the subtitles.")]
WriteThumbnailOpt = Annotated[bool | None, _flag("write-thumbnail", "Keep the thumbnail.")]
WriteInfoJsonOpt = Annotated[bool | None, _flag("write-info-json", "Keep the .info.json.")]
WriteNfoOpt = Annotated[bool | None, _flag("write-nfo", "Write a Kodi/Jellyfin .nfo.")]


def _body(**given: Any) -> dict[str, Any]:
    """The options given (an empty text clears a field when editing)."""
    body = {key: value for key, value in given.items() if value is not None}
    for field in ("subtitles", "sponsorblock_remove", "sponsorblock_mark"):
        if field in body:
            body[field] = [c.strip() for c in body[field].split(",") if c.strip()]
    return body


@profiles_app.command("ls")
def list_profiles(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """Every profile; the default one is marked *, its options summed up in one column."""
    with api_for(server, token) as api:
        profiles = api.request("GET", "/profiles")
    table = Table("name", "default")
    table.columns[0].no_wrap = True  # a name is what a person types next: never cut
    for column in ("format", "container", "subtitles", "template", "folder", "proxy", "options"):
        table.add_column(column)
    for p in profiles:
        table.add_row(
            text(p["name"]),
            "*" if p["is_default"] else "",
            *(text(value) for _, value in _fields(p)),
            text(options_text(p)),
        )
    print_fitted(table, lambda: _narrow(profiles))


def _fields(p: dict[str, Any]) -> list[tuple[str, str]]:
    """A profile's own fields as the table shows them, by column ("" for none)."""
    return [
        ("format", p["format"] or ""),
        ("container", p["container"] or ""),
        ("subtitles", ", ".join(p["subtitles"])),
        ("template", p["output_template"] or ""),
        ("folder", p["target_dir"] or ""),
        ("proxy", p.get("proxy") or ""),  # its credentials masked by the server
    ]


def options_text(p: dict[str, Any]) -> str:
    """What a profile does besides its format, in a few words: ``audio mp3 192K, embeds
    metadata+thumbnail, writes nfo, cuts sponsor``."""
    parts = []
    if p.get("audio_format"):
        parts.append(" ".join(["audio", p["audio_format"], p.get("audio_quality") or ""]).strip())
    embeds = [k for k in ("metadata", "thumbnail", "chapters", "subtitles") if p.get(f"embed_{k}")]
    if embeds:
        parts.append("embeds " + "+".join(embeds))
    writes = [
        shown
        for key, shown in (("nfo", "nfo"), ("thumbnail", "thumbnail"), ("info_json", "info.json"))
        if p.get(f"write_{key}")
    ]
    if writes:
        parts.append("writes " + "+".join(writes))
    if p.get("sponsorblock_remove"):
        parts.append("cuts " + "+".join(p["sponsorblock_remove"]))
    if p.get("sponsorblock_mark"):
        parts.append("marks " + "+".join(p["sponsorblock_mark"]))
    if p.get("extractor_args"):
        parts.append("extractor arguments")
    fragments = p.get("concurrent_fragments")
    if fragments is not None and fragments != FRAGMENTS_DEFAULT:
        parts.append(f"{fragments} fragments at once")
    return ", ".join(parts)


def _narrow(profiles: list[dict[str, Any]]) -> Table:
    """The profiles for a narrow terminal: each name (the default marked *), and beside it
    what it sets, wrapped between words."""
    rows = []
    for p in profiles:
        lines = [f"{label} {value}" for label, value in _fields(p) if value]
        if options_text(p):
            lines.append(options_text(p))
        name = p["name"] + (" *" if p["is_default"] else "")
        rows.append((name, lines or ["yt-dlp's defaults"]))
    return stacked(rows)


@profiles_app.command("add")
def add_profile(
    name: Annotated[str, typer.Argument(help="e.g. 720p (letters, digits, . - _).")],
    format: FormatOpt = None,
    container: ContainerOpt = None,
    subtitles: SubtitlesOpt = None,
    template: TemplateOpt = None,
    target_dir: TargetOpt = None,
    audio_format: AudioFormatOpt = None,
    audio_quality: AudioQualityOpt = None,
    embed_metadata: EmbedMetadataOpt = None,
    embed_thumbnail: EmbedThumbnailOpt = None,
    embed_chapters: EmbedChaptersOpt = None,
    embed_subtitles: EmbedSubtitlesOpt = None,
    write_thumbnail: WriteThumbnailOpt = None,
    write_info_json: WriteInfoJsonOpt = None,
    write_nfo: WriteNfoOpt = None,
    sponsorblock_remove: SponsorRemoveOpt = None,
    sponsorblock_mark: SponsorMarkOpt = None,
    proxy: ProxyOpt = None,
    extractor_args: ExtractorArgsOpt = None,
    concurrent_fragments: FragmentsOpt = None,
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
        audio_format=audio_format,
        audio_quality=audio_quality,
        embed_metadata=embed_metadata,
        embed_thumbnail=embed_thumbnail,
        embed_chapters=embed_chapters,
        embed_subtitles=embed_subtitles,
        write_thumbnail=write_thumbnail,
        write_info_json=write_info_json,
        write_nfo=write_nfo,
        sponsorblock_remove=sponsorblock_remove,
        sponsorblock_mark=sponsorblock_mark,
        proxy=proxy,
        extractor_args=extractor_args,
        concurrent_fragments=concurrent_fragments,
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
    audio_format: AudioFormatOpt = None,
    audio_quality: AudioQualityOpt = None,
    embed_metadata: EmbedMetadataOpt = None,
    embed_thumbnail: EmbedThumbnailOpt = None,
    embed_chapters: EmbedChaptersOpt = None,
    embed_subtitles: EmbedSubtitlesOpt = None,
    write_thumbnail: WriteThumbnailOpt = None,
    write_info_json: WriteInfoJsonOpt = None,
    write_nfo: WriteNfoOpt = None,
    sponsorblock_remove: SponsorRemoveOpt = None,
    sponsorblock_mark: SponsorMarkOpt = None,
    proxy: ProxyOpt = None,
    extractor_args: ExtractorArgsOpt = None,
    concurrent_fragments: FragmentsOpt = None,
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
        audio_format=audio_format,
        audio_quality=audio_quality,
        embed_metadata=embed_metadata,
        embed_thumbnail=embed_thumbnail,
        embed_chapters=embed_chapters,
        embed_subtitles=embed_subtitles,
        write_thumbnail=write_thumbnail,
        write_info_json=write_info_json,
        write_nfo=write_nfo,
        sponsorblock_remove=sponsorblock_remove,
        sponsorblock_mark=sponsorblock_mark,
        proxy=proxy,
        extractor_args=extractor_args,
        concurrent_fragments=concurrent_fragments,
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
