"""Who a page is drawn for: what every page's menu needs to know about the caller, and the
terms an anonymous visitor of a public haul downloads under.

The caller is the owner :class:`~haul.web.auth.Gate` found for this request (it keeps it in
the request's scope once a route asked for it); a page drawn before anyone asked (the login
page, a page that does not exist) has none, and its menu shows less.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from haul.web.basepath import base_of
from haul.web.deps import get_config, get_settings

if TYPE_CHECKING:
    from haul.service import Owner
    from haul.web.auth import Gate


@dataclass(frozen=True, slots=True)
class VisitorTerms:
    """What an anonymous visitor may do here, as the downloads and add pages say it."""

    limit: int
    kept_days: float
    sites: tuple[str, ...]

    @property
    def sentence(self) -> str:
        at_once = "1 download" if self.limit == 1 else f"{self.limit} downloads"
        text = f"You can have {at_once} at a time here; files are kept for {kept(self.kept_days)}."
        if self.sites:
            text += f" Downloads from {', '.join(self.sites)} only."
        return text


def kept(days: float) -> str:
    """'1 day', '3 days', '1.5 days', '12 hours'."""
    if days < 1:
        hours = max(1, round(days * 24))
        return "1 hour" if hours == 1 else f"{hours} hours"
    shown = f"{days:g}"
    return "1 day" if shown == "1" else f"{shown} days"


def who(request: Request) -> dict[str, Any]:
    """The template context about the caller: ``me`` (the owner, or None when no route asked),
    ``visitor_terms`` (for an anonymous visitor of a public haul; else None), ``base`` (the
    path haul is served under, before every link of the page) and ``by_proxy`` (signed in by
    a trusted proxy's header)."""
    me: Owner | None = request.scope.get("haul.owner")
    terms = None
    if me is not None and me.anonymous:
        settings = get_settings(request)
        terms = VisitorTerms(
            limit=me.limit or settings.public_limit_per_session,
            kept_days=get_config(request).current.anonymous_retention_days,
            sites=settings.public_site_list,
        )
    gate: Gate = request.app.state.gate
    return {
        "me": me,
        "visitor_terms": terms,
        "base": base_of(request.scope),
        # Signed in by the proxy: logging out of haul would not end that.
        "by_proxy": me is not None and gate.proxy_user(request) is not None,
    }
