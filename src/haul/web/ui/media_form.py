"""The media item form of the library pages: what the person typed (kept when it comes back
with notes), read into the values :class:`~haul.service.media.MediaService` takes, with every
problem found at once and placed beside its field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haul.core import media_items as rules
from haul.errors import InvalidMediaItem, NotFound
from haul.service import Owner
from haul.service.media import ItemView, MediaService
from haul.web.ui.forms import PageForm, whole_number

ID_FIELDS = ("imdb", "tmdb", "tvdb")


@dataclass
class MediaForm(PageForm):
    kind: str = "movie"
    title: str = ""
    year: str = ""
    parent: str = ""
    season: str = ""
    episode: str = ""
    imdb: str = ""
    tmdb: str = ""
    tvdb: str = ""

    @classmethod
    def of(cls, item: ItemView) -> MediaForm:
        """The form that edits ``item``, filled with what it holds now."""

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        ids = item.external_ids
        return cls(
            kind=item.kind,
            title=item.title,
            year=text(item.year),
            parent=text(item.parent_id),
            season=text(item.season),
            episode=text(item.episode),
            imdb=text(ids.get("imdb")),
            tmdb=text(ids.get("tmdb")),
            tvdb=text(ids.get("tvdb")),
        )


async def read_form(
    form: MediaForm, media: MediaService, owner: Owner, *, parent: ItemView | None = None
) -> dict[str, Any] | None:
    """The values to create (or change) the item with, or None when something needs a fix
    (then ``form.errors`` says what, beside which field). The parent is looked up unless
    given."""
    if form.kind not in rules.KINDS:
        form.error("kind", "Choose what this is: a movie, a series, an episode or a trailer.")
        return None
    year = whole_number(form, "year", "A year", rules.MIN_YEAR, rules.MAX_YEAR)
    season = whole_number(form, "season", "A season", 0, 10_000)
    episode = whole_number(form, "episode", "An episode number", 0, 100_000)
    parent_id = whole_number(form, "parent", "A parent", 1, 2**62)
    if parent is None and parent_id is not None:
        try:
            parent = (await media.get(parent_id, owner)).item
        except NotFound:
            form.error("parent", f"There is no media item {parent_id} to belong to.")
    if len(form.title) > 500:
        form.error("title", "A title is at most 500 characters.")
    ids: dict[str, Any] = {}
    for key in ID_FIELDS:
        try:
            ids.update(rules.clean_ids({key: getattr(form, key)}))
        except InvalidMediaItem as exc:
            form.error(key, exc.message)
    # A number that could not be read is noted already: the rules see it as given.
    shape = rules.Shape(
        form.kind,
        form.title,
        year,
        parent.kind if parent is not None else None,
        0 if season is None and form.season.strip() else season,
        0 if episode is None and form.episode.strip() else episode,
    )
    for where, sentence in rules.problems(shape):
        if not form.errors.get(where):
            form.error(where, sentence)
    if form.errors:
        return None
    return {
        "kind": form.kind,
        "title": form.title.strip(),
        "year": year,
        "parent_id": parent.id if parent is not None else None,
        "season": season,
        "episode": episode,
        "external_ids": ids,
    }
