"""Site cookies: reading a cookies.txt, which cookies a URL gets, sealing them at rest."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from yt_dlp.cookies import YoutubeDLCookieJar

from haul.core.cookies import (
    MAX_TEXT_BYTES,
    WHY_LEFT_OUT,
    DotlessHostPolicy,
    SiteCookies,
    cookie_host,
    domains_of,
    earliest_expiry,
    from_records,
    merged,
    parse,
    parse_counted,
    to_records,
)
from haul.errors import InputError, PayloadTooLarge, SealedUnreadable
from haul.store.sealed import KeyFile

LATER = 4102444800  # 2100-01-01
SOON = 4070908800  # 2099-01-01

EXPORT = (
    "# Netscape HTTP Cookie File\n"
    "# This is a generated file! Do not edit.\n"
    "\n"
    f".example.com\tTRUE\t/\tFALSE\t{LATER}\tsid\tvalue-one\n"
    f"#HttpOnly_.example.com\tTRUE\t/account\tTRUE\t{SOON}\tauth\tvalue-two\n"
    "host.example.org\tFALSE\t/\tFALSE\t0\tsession\tvalue-three\n"
)


def sites(text: str = EXPORT) -> SiteCookies:
    return SiteCookies(tuple(parse(text)))


def test_a_browser_export_is_read_with_its_flags() -> None:
    cookies = {c.name: c for c in parse(EXPORT)}
    assert set(cookies) == {"sid", "auth", "session"}
    assert cookies["auth"].secure and cookies["auth"].has_nonstandard_attr("HTTPOnly")
    assert cookies["auth"].path == "/account"
    # An expiry of 0 is how exporters write a session cookie, not a cookie dead since 1970.
    assert cookies["session"].expires is None
    assert domains_of(cookies.values()) == [".example.com", "host.example.org"]
    assert earliest_expiry(cookies.values()) == datetime.fromtimestamp(SOON, UTC)


def test_windows_line_ends_a_missing_header_and_a_bom_are_read() -> None:
    text = f"\ufeff.example.com\tTRUE\t/\tFALSE\t{LATER}\tsid\tabc\r\n"
    (cookie,) = parse(text)
    assert (cookie.name, cookie.value) == ("sid", "abc")


def test_a_file_that_starts_with_a_comment_or_an_http_only_cookie_is_read() -> None:
    comment = f"# exported by an extension\n.a.org\tTRUE\t/\tFALSE\t{LATER}\tx\ty\n"
    assert [c.name for c in parse(comment)] == ["x"]
    http_only = f"#HttpOnly_.a.org\tTRUE\t/\tFALSE\t{LATER}\th\tv\n"
    assert [c.name for c in parse(http_only)] == ["h"]


def test_session_cookies_only_have_no_expiry() -> None:
    assert earliest_expiry(parse("a.org\tFALSE\t/\tFALSE\t0\tx\ty\n")) is None


def test_expired_cookies_are_dropped() -> None:
    text = f".a.org\tTRUE\t/\tFALSE\t100\told\tx\n.a.org\tTRUE\t/\tFALSE\t{LATER}\tnew\ty\n"
    assert [c.name for c in parse(text)] == ["new"]
    with pytest.raises(InputError, match="expired"):
        parse(".a.org\tTRUE\t/\tFALSE\t100\told\tx\n")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        ("# Netscape HTTP Cookie File\n# only comments\n", "no cookie"),
        ("hello there", "not a cookies.txt in the Netscape format"),
        ('{"sid": "abc"}', "not a cookies.txt in the Netscape format"),
        (".a.org\tTRUE\t/\tFALSE\tsoon\tsid\tsecret-in-line\n", "Netscape format"),
        (".a.org\tTRUE\t/\tFALSE\n", "Netscape format"),
        ("a.org\tFALSE\t/\tFALSE\t0\tx\ty\x00\n", "NUL"),
    ],
)
def test_bad_files_are_refused_with_a_sentence_that_quotes_no_line(text: str, said: str) -> None:
    with pytest.raises(InputError, match=said) as caught:
        parse(text)
    assert "secret-in-line" not in caught.value.message
    assert caught.value.message.endswith(".")


def test_a_file_over_the_limit_is_refused() -> None:
    line = f".a.org\tTRUE\t/\tFALSE\t{LATER}\tn\t{'v' * 1000}\n"
    with pytest.raises(PayloadTooLarge, match="1 MB"):
        parse(line * (MAX_TEXT_BYTES // len(line) + 1))


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("http://example.com/", "sid=value-one"),
        ("http://www.example.com/x", "sid=value-one"),
        ("http://deep.www.example.com/", "sid=value-one"),
        # Secure and path: over HTTPS, under /account, both go (the longer path first).
        ("https://www.example.com/account/settings", "auth=value-two; sid=value-one"),
        ("http://www.example.com/account/settings", "sid=value-one"),  # Secure: HTTPS only
        ("http://host.example.org/", "session=value-three"),
        # A host-only cookie stays on its host.
        ("http://www.host.example.org/", None),
        ("http://example.org/", None),
        ("http://notexample.com/", None),
        ("http://example.com.evil.test/", None),
        ("ftp://example.com/", None),
        ("not a url", None),
    ],
)
def test_a_url_gets_the_cookies_of_its_site_only(url: str, header: str | None) -> None:
    assert sites().header(url) == header


def test_cookies_for_yt_dlp_are_chosen_by_site_not_path_or_scheme() -> None:
    names = {c.name for c in sites().for_site("http://www.example.com/")}
    assert names == {"sid", "auth"}  # yt-dlp checks path and Secure on each request itself
    assert sites().for_site("http://other.test/") == []
    assert sites().site_of("https://www.example.com/v") == "www.example.com"
    assert sites().site_of("https://other.test/v") is None


def test_loopback_addresses_match_their_own_cookies() -> None:
    jar = sites("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n")
    assert jar.header("http://127.0.0.1:8080/file") == "sid=abc"
    assert jar.header("http://127.0.0.2:8080/file") is None


DOTLESS = (
    f"localhost\tFALSE\t/\tFALSE\t{LATER}\ttok\tlocal-one\n"
    f".nas\tTRUE\t/\tFALSE\t{LATER}\tsid\tnas-one\n"
    f"nas\tFALSE\t/media\tTRUE\t{LATER}\tauth\tnas-two\n"
)


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("http://localhost:8080/x.bin", "tok=local-one"),
        ("http://LOCALHOST/x.bin", "tok=local-one"),
        ("http://nas/", "sid=nas-one"),
        # Path and Secure still count on a host without a dot.
        ("https://nas:8443/media/film.mkv", "auth=nas-two; sid=nas-one"),
        ("http://nas/media/film.mkv", "sid=nas-one"),
        # A leading dot takes in the host's subdomains; a host-only cookie stays on its host.
        ("http://box.nas/", "sid=nas-one"),
        ("http://app.localhost/", None),
        # Another name, or the name the standard library would look under, gets nothing.
        ("http://other/", None),
        ("http://nas.local/", None),
        ("http://localhost.local/", None),
        ("http://127.0.0.1/", None),
    ],
)
def test_a_host_name_without_a_dot_gets_its_own_cookies_only(url: str, header: str | None) -> None:
    assert sites(DOTLESS).header(url) == header


def test_a_leading_dot_on_a_host_name_without_a_dot_takes_in_its_subdomains() -> None:
    jar = sites(f".localhost\tTRUE\t/\tFALSE\t{LATER}\ttok\tabc\n")
    assert jar.header("http://localhost:8080/x.bin") == "tok=abc"
    assert jar.header("http://app.localhost/") == "tok=abc"
    assert jar.header("http://nas/") is None


def test_cookies_for_yt_dlp_of_a_host_name_without_a_dot() -> None:
    assert {c.name for c in sites(DOTLESS).for_site("http://nas/")} == {"sid", "auth"}
    assert sites(DOTLESS).site_of("http://localhost:8080/v") == "localhost"
    assert sites(DOTLESS).for_site("http://other/") == []
    assert sites("nas\tFALSE\t/\tFALSE\t0\tsid\tabc\n").site_of("http://other/") is None


def test_yt_dlp_s_jar_sends_a_dotless_host_its_cookies_under_the_policy() -> None:
    jar = YoutubeDLCookieJar()
    for cookie in sites(DOTLESS).for_site("http://localhost/"):
        jar.set_cookie(cookie)
    assert jar.get_cookie_header("http://localhost:8080/x.bin") is None  # yt-dlp's own rule
    jar.set_policy(DotlessHostPolicy())
    assert jar.get_cookie_header("http://localhost:8080/x.bin") == "tok=local-one"
    assert jar.get_cookie_header("http://other:8080/x.bin") is None


def test_values_stay_out_of_the_repr() -> None:
    shown = repr(sites())
    assert "value-" not in shown and "3 cookies" in shown and ".example.com" in shown


def test_records_round_trip() -> None:
    again = SiteCookies(tuple(from_records(to_records(parse(EXPORT)))))
    for url in ("https://www.example.com/account/", "http://host.example.org/"):
        assert again.header(url) == sites().header(url)
    assert {c.name for c in again.for_site("http://www.host.example.org/")} == set()


def test_a_later_set_replaces_a_cookie_of_the_same_site_path_and_name() -> None:
    old = parse(f".a.org\tTRUE\t/\tFALSE\t{LATER}\tsid\told\n")
    new = parse(f".a.org\tTRUE\t/\tFALSE\t{LATER}\tsid\tnew\n.a.org\tTRUE\t/\tFALSE\t0\tb\tc\n")
    assert merged([old, new]).header("http://a.org/") == "sid=new; b=c"


def test_sealed_data_opens_with_its_key_only(tmp_path: Path) -> None:
    key = KeyFile(tmp_path / "data" / "cookies.key")
    token = key.seal(b"sid=value-one")
    assert b"value-one" not in token
    assert key.open(token) == b"sid=value-one"
    assert KeyFile(key.path).open(token) == b"sid=value-one"  # another process, same file
    mode = stat.S_IMODE(os.stat(key.path).st_mode)
    assert mode == 0o600
    other = KeyFile(tmp_path / "other.key")
    other.seal(b"x")
    with pytest.raises(SealedUnreadable, match="replaced"):
        other.open(token)


def test_opening_never_makes_a_key(tmp_path: Path) -> None:
    sealed = KeyFile(tmp_path / "server.key").seal(b"secret")
    worker = KeyFile(tmp_path / "worker" / "cookies.key")
    with pytest.raises(SealedUnreadable, match="no key file"):
        worker.open(sealed)
    assert not worker.path.exists()


def test_processes_making_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    path = tmp_path / "cookies.key"
    keys = [KeyFile(path) for _ in range(8)]
    tokens: list[bytes] = []
    threads = [threading.Thread(target=lambda k=k: tokens.append(k.seal(b"v"))) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(KeyFile(path).open(t) == b"v" for t in tokens)
    assert [p.name for p in tmp_path.iterdir()] == ["cookies.key"]


def test_a_key_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cookies.key"
    path.write_text("not a key\n")
    with pytest.raises(SealedUnreadable, match="does not hold a key"):
        KeyFile(path).seal(b"x")


def _yt_dlp_error(message: str) -> Exception:
    from yt_dlp.utils import DownloadError, ExtractorError

    cause = ExtractorError(message, expected=True)
    return DownloadError(f"ERROR: [youtube] abc: {message}", (type(cause), cause, None))


@pytest.mark.parametrize(
    "message",
    [
        "Sign in to confirm you're not a bot. Use --cookies-from-browser or --cookies for the "
        "authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ  for how to pass cookies",
        "This video is only available for registered users. Use --cookies, --username and "
        "--password to provide account credentials",
        "Sign in to confirm your age. This video may be inappropriate for some users.",
    ],
)
def test_a_site_that_wants_a_sign_in_asks_for_cookies(message: str) -> None:
    from haul.engine.ytdlp_errors import translate

    url = "https://www.youtube.com/watch?v=abc"
    fresh = translate(_yt_dlp_error(message), url)
    assert fresh.code == "sign_in_required" and not fresh.transient
    assert fresh.message.startswith("www.youtube.com asks for a sign-in: ")
    assert "Upload your cookies for www.youtube.com" in fresh.message
    assert "--cookies" not in fresh.message and "github.com" not in fresh.message
    stale = translate(_yt_dlp_error(message), url, cookies_of="www.youtube.com")
    assert stale.code == "sign_in_required"
    assert "The cookies for www.youtube.com may have expired: upload fresh ones" in stale.message


def test_an_error_that_is_not_about_signing_in_stays_what_it_was() -> None:
    from haul.engine.ytdlp_errors import translate

    error = translate(_yt_dlp_error("Unable to extract video data"), "https://a.test/v")
    assert error.code == "extractor_error"
    assert "cookies" not in error.message


HOSTILE = (
    "# Netscape HTTP Cookie File\n"
    f"<img src=x onerror=alert(1)>\tFALSE\t/\tFALSE\t{LATER}\tsid\tone\n"
    f"ev\x1b[31mil.com\tFALSE\t/\tFALSE\t{LATER}\tsid\ttwo\n"
    f".good.example\tTRUE\t/\tFALSE\t{LATER}\tsid\tthree\n"
)


def test_lines_whose_domain_is_not_a_host_name_are_left_out_and_counted() -> None:
    parsed = parse_counted(HOSTILE)
    assert [c.value for c in parsed.cookies] == ["three"]
    assert parsed.left_out == 2
    assert parsed.note == f"2 lines were left out: {WHY_LEFT_OUT}."
    assert domains_of(parsed.cookies) == [".good.example"]


def test_a_file_with_no_host_name_left_is_refused_with_a_sentence() -> None:
    only_bad = "\n".join(HOSTILE.splitlines()[:3]) + "\n"
    with pytest.raises(InputError, match="no cookie haul can send") as caught:
        parse(only_bad)
    assert "\x1b" not in caught.value.message and "<img" not in caught.value.message


@pytest.mark.parametrize(
    ("domain", "kept"),
    [
        ("example.com", "example.com"),
        (".Example.COM", ".example.com"),
        ("localhost", "localhost"),
        ("nas", "nas"),
        (".nas", ".nas"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("bücher.de", "xn--bcher-kva.de"),
        (".bücher.de", ".xn--bcher-kva.de"),
        ("my-site.example", "my-site.example"),
        ("ev\x1b[31mil.com", None),
        ("<img src=x onerror=alert(1)>", None),
        ("a b.com", None),
        ("-bad.com", None),
        ("bad-.com", None),
        ("a..b", None),
        (".", None),
        ("", None),
        ("example.com.", None),
        ("ex_ample.com", None),
        ("evil\u202ecom", None),
        ("x" * 64 + ".com", None),
    ],
)
def test_a_cookie_domain_must_be_a_host_name(domain: str, kept: str | None) -> None:
    assert cookie_host(domain) == kept


def test_a_profile_whose_sealed_proxy_cannot_be_opened_here_is_unusable(tmp_path: Path) -> None:
    from haul.service.profiles import engine_profile, seal_proxy
    from haul.store.models import Profile

    server = KeyFile(tmp_path / "server" / "cookies.key")
    row = Profile(name="far", subtitles=[], extractor_args={})
    seal_proxy(row, "http://alice:pw-123@proxy.lan:3128", server)
    assert row.proxy == "http://***@proxy.lan:3128"
    assert engine_profile(row, server).proxy == "http://alice:pw-123@proxy.lan:3128"
    assert engine_profile(row, server).unusable is None
    elsewhere = engine_profile(row, KeyFile(tmp_path / "worker" / "cookies.key"))
    assert elsewhere.proxy is None
    assert elsewhere.unusable is not None
    assert elsewhere.unusable.startswith("The proxy of the profile 'far' cannot be used here:")
    assert "pw-123" not in elsewhere.unusable


def test_cookies_no_request_can_carry_are_left_out_and_counted() -> None:
    """A control character in a name or value would make every request to the site fail
    (HTTP libraries refuse such a header); such lines are left out like a bad domain."""
    text = (
        "# Netscape HTTP Cookie File\n"
        f".good.example\tTRUE\t/\tFALSE\t{LATER}\tsid\tbad\x1b[31mvalue\n"
        f".good.example\tTRUE\t/\tFALSE\t{LATER}\tsp ace\tvalue\n"
        f".good.example\tTRUE\t/\tFALSE\t{LATER}\tok\tfine\n"
    )
    parsed = parse_counted(text)
    assert [(c.name, c.value) for c in parsed.cookies] == [("ok", "fine")]
    assert parsed.left_out == 2 and parsed.note == f"2 lines were left out: {WHY_LEFT_OUT}."
    assert SiteCookies(tuple(parsed.cookies)).header("https://good.example/") == "ok=fine"
