"""A provider's credentials never reach a message, a log line or a repr; settings are checked."""

from __future__ import annotations

import logging

import httpx
import pytest

from haul.errors import (
    HaulError,
    InputError,
    IptvNotFound,
    PermanentTransferError,
    ProviderAuthFailed,
    ProviderBadAnswer,
    ProviderDisabled,
    ProviderError,
    ProviderUnavailable,
    TransientTransferError,
)
from haul.iptv.providers import Provider, ProviderSpec, check_spec, credentials_in
from haul.iptv.redact import RedactCredentials, redact, redact_url
from haul.iptv.streams import ResolvedStream, as_transfer_error
from haul.iptv.xtream import XtreamClient, base_url

USER = "alice-acct"
SECRET = "hunter2 &=/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET http://p.example:8080/player_api.php?username=alice&password=s3cr3t&action=x",
            "GET http://p.example:8080/player_api.php?username=***&password=***&action=x",
        ),
        (
            'HTTP Request: GET http://p/movie/alice/s3%20cr/101.mkv "HTTP/1.1 200 OK"',
            'HTTP Request: GET http://p/movie/***/***/101.mkv "HTTP/1.1 200 OK"',
        ),
        ("http://p/series/a/b/7.mp4", "http://p/series/***/***/7.mp4"),
        ("http://p/get.php?password=x&username=y", "http://p/get.php?password=***&username=***"),
        ("http://user:pw@p.example/x", "http://***@p.example/x"),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_redact_url_masks_credentials_by_the_shape_of_the_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_redact_masks_the_secrets_in_any_encoding() -> None:
    text = f"oops {SECRET} / hunter2%20%26%3D%2Fx / hunter2+%26%3D%2Fx / {USER}"
    cleaned = redact(text, [USER, SECRET, None, "ab"])
    assert SECRET not in cleaned and USER not in cleaned and "hunter2" not in cleaned


def test_the_log_filter_rewrites_httpx_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.iptv.redact")
    logger.addFilter(RedactCredentials())
    url = httpx.URL(
        "http://p/player_api.php", params={"username": USER, "password": SECRET, "action": "a"}
    )
    with caplog.at_level(logging.INFO, logger="test.iptv.redact"):
        logger.info('HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK")
    assert "hunter2" not in caplog.text and USER not in caplog.text
    assert "password=***" in caplog.text and "action=a" in caplog.text


def test_importing_the_client_protects_httpx_logs() -> None:
    assert any(isinstance(f, RedactCredentials) for f in logging.getLogger("httpx").filters)


async def test_reprs_leave_credentials_out() -> None:
    spec = ProviderSpec("p", "http://p.example", USER, SECRET)
    provider = Provider(1, spec)
    async with httpx.AsyncClient() as http:
        client = XtreamClient(http, "http://p.example", USER, SECRET)
    url = client.stream_url("movie", 101, "mkv")
    stream = ResolvedStream(url, "movie", "101", "X (1999)", "mkv", 1, "p", "X", 1999)
    for value in (spec, provider, client, stream):
        assert "hunter2" not in repr(value) and USER not in repr(value), value
    assert "hunter2" not in stream.safe_url and stream.safe_url.endswith("/movie/***/***/101.mkv")
    assert stream.filename == "X (1999).mkv"


async def test_stream_urls_encode_the_credentials() -> None:
    async with httpx.AsyncClient() as http:
        client = XtreamClient(http, "http://p.example:8080/", USER, SECRET)
    assert client.stream_url("series", "7", "MKV") == (
        f"http://p.example:8080/series/{USER}/hunter2%20%26%3D%2Fx/7.mkv"
    )
    assert client.stream_url("movie", 1, "../x").endswith("/1.mp4")
    with pytest.raises(ValueError, match="movie"):
        client.stream_url("live", 1, "ts")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pasted", "base"),
    [
        ("http://p.example:8080", "http://p.example:8080"),
        ("http://p.example:8080/", "http://p.example:8080"),
        ("HTTP://p.example:8080/player_api.php?username=a&password=b", "http://p.example:8080"),
        ("http://p.example/get.php?username=a&password=b&type=m3u_plus", "http://p.example"),
        ("http://a:b@p.example/panel/", "http://p.example/panel"),
    ],
)
def test_base_url_is_the_panels_address(pasted: str, base: str) -> None:
    assert base_url(pasted) == base


def test_an_m3u_link_brings_its_credentials() -> None:
    link = "http://p.example:8080/get.php?username=alice&password=s%26cret&type=m3u_plus"
    assert credentials_in(link) == ("alice", "s&cret")
    spec = check_spec(ProviderSpec("p", link, "", ""))
    assert (spec.url, spec.username, spec.password) == ("http://p.example:8080", "alice", "s&cret")
    given = check_spec(ProviderSpec("p", link, "bob", "other"))
    assert (given.username, given.password) == ("bob", "other")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ProviderSpec("", "http://p", "u", "p"), "name is 1 to 64"),
        (ProviderSpec("a b", "http://p", "u", "p"), "name is 1 to 64"),
        (ProviderSpec("42", "http://p", "u", "p"), "only digits"),
        (ProviderSpec("p", "ftp://p", "u", "p"), "panel's address"),
        (ProviderSpec("p", "magnet:?xt=urn:btih:" + "a" * 40, "u", "p"), "http or https"),
        (ProviderSpec("p", "http://169.254.169.254", "u", "p"), "link-local"),
        (ProviderSpec("p", "http://p", "", "p"), "username is missing"),
        (ProviderSpec("p", "http://p", "u", ""), "password is missing"),
        (ProviderSpec("p", "http://p", "u", "p", timeout=0), "timeout"),
        (ProviderSpec("p", "http://p", "u\n", "p\x00"), "control characters"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(spec: ProviderSpec, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_spec(spec)


def test_private_addresses_are_refused_when_the_instance_says_so() -> None:
    with pytest.raises(InputError, match="private or loopback"):
        check_spec(ProviderSpec("p", "http://192.168.1.10:8080", "u", "p"), allow_private=False)


def _client(handler: httpx.MockTransport) -> XtreamClient:
    http = httpx.AsyncClient(transport=handler)
    return XtreamClient(http, "http://p.example:8080", USER, SECRET, label="The IPTV provider 'p'")


def _raising(exc_type: type[httpx.TransportError]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failed to talk to {request.url}", request=request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("transport", "error", "message"),
    [
        (_raising(httpx.ConnectError), ProviderUnavailable, "cannot be reached at http://p.ex"),
        (_raising(httpx.ReadTimeout), ProviderUnavailable, "did not answer within 10 s"),
        (
            httpx.MockTransport(lambda r: httpx.Response(503)),
            ProviderUnavailable,
            "overloaded or failing \\(HTTP 503\\)",
        ),
        (
            httpx.MockTransport(lambda r: httpx.Response(403)),
            ProviderAuthFailed,
            "refused the username or password \\(HTTP 403\\)",
        ),
        (
            httpx.MockTransport(lambda r: httpx.Response(404)),
            ProviderBadAnswer,
            "no Xtream Codes API at http://p.example:8080",
        ),
        (
            httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")),
            ProviderBadAnswer,
            "not JSON",
        ),
        (
            httpx.MockTransport(lambda r: httpx.Response(200, json={"user_info": {"auth": 0}})),
            ProviderAuthFailed,
            "'p' refused the username or password",
        ),
        (
            httpx.MockTransport(lambda r: httpx.Response(200, json={"info": [], "movie_data": []})),
            IptvNotFound,
            "The IPTV provider 'p' has no film with the id 5",
        ),
    ],
)
async def test_failures_become_haul_errors_without_credentials(
    transport: httpx.MockTransport, error: type[HaulError], message: str
) -> None:
    client = _client(transport)
    with pytest.raises(error, match=message) as caught:
        await client.vod_info(5)
    assert "hunter2" not in str(caught.value) and USER not in str(caught.value)
    assert caught.value.__cause__ is None  # httpx errors carry the URL: never chained
    await client.http.aclose()


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (ProviderUnavailable(), TransientTransferError, "provider_unavailable"),
        (ProviderBadAnswer(), TransientTransferError, "provider_bad_answer"),
        (ProviderAuthFailed(), PermanentTransferError, "provider_auth_failed"),
        (IptvNotFound(), PermanentTransferError, "iptv_not_found"),
        (ProviderDisabled(), PermanentTransferError, "provider_disabled"),
    ],
)
def test_resolve_failures_as_transfer_errors(
    exc: HaulError, kind: type[HaulError], code: str
) -> None:
    translated = as_transfer_error(exc)
    assert type(translated) is kind and translated.code == code
    assert translated.message == exc.message
    assert isinstance(exc, ProviderError) is (code not in ("iptv_not_found", "provider_disabled"))
