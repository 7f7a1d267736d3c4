"""The yt-dlp params a profile gives: nothing asked, nothing added; each option to yt-dlp's
own post-processor, in the order yt-dlp's command line puts them, and yt-dlp takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from haul.core.profiles import SPONSORBLOCK_API
from haul.engine.base import Profile
from haul.engine.ytdlp_profile import file_kinds, profile_params, side_files
from haul.engine.ytdlp_session import open_session


def keys(params: dict[str, Any]) -> list[str]:
    return [pp["key"] for pp in params.get("postprocessors", [])]


def test_a_profile_asking_for_nothing_adds_nothing() -> None:
    assert profile_params(Profile()) == {}
    assert file_kinds({}) == ["", "temp"]


def test_format_container_and_subtitles_are_as_before() -> None:
    params = profile_params(Profile(format="bv*+ba/b", container="mkv", subtitles=("en", "de")))
    assert params == {
        "format": "bv*+ba/b",
        "merge_output_format": "mkv",
        "postprocessors": [{"key": "FFmpegVideoRemuxer", "preferedformat": "mkv"}],
        "writesubtitles": True,
        "subtitleslangs": ["en", "de"],
    }


def test_audio_only_converts_and_fetches_no_video() -> None:
    params = profile_params(Profile(audio_format="mp3", audio_quality="192K"))
    assert params == {
        "format": "bestaudio/best",
        "final_ext": "mp3",
        "postprocessors": [
            {
                "key": "FFmpegExtractAudio",
                "preferredcodec": "mp3",
                "preferredquality": "192",  # yt-dlp reads a number above 10 as kbit/s
                "nopostoverwrites": False,
            }
        ],
    }
    best = profile_params(Profile(format="ba[abr>100]", audio_format="best"))
    assert best["format"] == "ba[abr>100]"
    assert best["postprocessors"][0]["preferredcodec"] is None
    assert "final_ext" not in best


def test_embedding_and_side_files() -> None:
    params = profile_params(
        Profile(
            container="mp4",
            embed_metadata=True,
            embed_thumbnail=True,
            embed_chapters=True,
            embed_subtitles=True,
            write_info_json=True,
        )
    )
    assert keys(params) == [
        "FFmpegVideoRemuxer",
        "FFmpegEmbedSubtitle",
        "FFmpegMetadata",
        "EmbedThumbnail",
    ]
    pps = {pp["key"]: pp for pp in params["postprocessors"]}
    assert pps["FFmpegMetadata"] == {
        "key": "FFmpegMetadata",
        "add_metadata": True,
        "add_chapters": True,
        "add_infojson": False,
    }
    # no thumbnail file asked for: the one fetched to embed goes once embedded
    assert pps["EmbedThumbnail"]["already_have_thumbnail"] is False
    # no languages named: yt-dlp chooses, and the files go once embedded
    assert pps["FFmpegEmbedSubtitle"]["already_have_subtitle"] is False
    assert params["writesubtitles"] is True and "subtitleslangs" not in params
    assert params["writethumbnail"] is True and params["writeinfojson"] is True
    assert params["allow_playlist_files"] is False
    assert file_kinds(params) == ["", "temp", "subtitle", "thumbnail", "infojson"]

    kept = profile_params(Profile(write_thumbnail=True, embed_thumbnail=True, subtitles=("en",)))
    assert kept["postprocessors"][-1]["already_have_thumbnail"] is True
    named = profile_params(Profile(embed_subtitles=True, subtitles=("en",)))
    assert named["postprocessors"][0]["already_have_subtitle"] is True


def test_sponsorblock_fetches_cuts_and_marks() -> None:
    params = profile_params(
        Profile(sponsorblock_remove=("sponsor", "intro"), sponsorblock_mark=("intro", "chapter")),
        sponsorblock_api="http://127.0.0.1:9/sb",
    )
    assert keys(params) == ["SponsorBlock", "ModifyChapters", "FFmpegMetadata"]
    fetch, cut, tags = params["postprocessors"]
    assert fetch == {
        "key": "SponsorBlock",
        "categories": ["sponsor", "intro", "chapter"],
        "api": "http://127.0.0.1:9/sb",
        "when": "after_filter",
    }
    assert cut["remove_sponsor_segments"] == ["sponsor", "intro"]
    assert tags["add_chapters"] is True and tags["add_metadata"] is False  # marks are chapters
    only_cut = profile_params(Profile(sponsorblock_remove=("sponsor",)))
    assert keys(only_cut) == ["SponsorBlock", "ModifyChapters"]
    assert only_cut["postprocessors"][0]["api"] == SPONSORBLOCK_API


def test_yt_dlp_takes_every_option_at_once() -> None:
    profile = Profile(
        audio_format="m4a",
        audio_quality="5",
        embed_metadata=True,
        embed_thumbnail=True,
        embed_chapters=True,
        write_thumbnail=True,
        write_info_json=True,
        sponsorblock_remove=("sponsor",),
        sponsorblock_mark=("poi_highlight",),
    )
    with open_session("[test]", socket_timeout=1, **profile_params(profile)) as ydl:
        made = {when: [type(pp).__name__ for pp in pps] for when, pps in ydl._pps.items() if pps}
    assert made == {
        "after_filter": ["SponsorBlockPP"],
        "post_process": [
            "FFmpegExtractAudioPP",
            "ModifyChaptersPP",
            "FFmpegMetadataPP",
            "EmbedThumbnailPP",
        ],
    }


def test_side_files_named_by_yt_dlp_and_the_nfo() -> None:
    item = {
        "filepath": "/d/a.mp4",
        "infojson_filename": "/d/a.info.json",
        "thumbnails": [{"url": "x"}, {"url": "y", "filepath": "/d/a.jpg"}],
        "requested_downloads": [{"filepath": "/d/a.mp4"}],
    }
    assert side_files(item, nfo=False) == [Path("/d/a.info.json"), Path("/d/a.jpg")]
    assert Path("/d/a.nfo") in side_files(item, nfo=True)


def test_proxy_extractor_args_and_a_sites_pause_reach_yt_dlp() -> None:
    from haul.core.extractor_args import check_extractor_args
    from haul.engine.ytdlp_network import network_params

    args = check_extractor_args("youtube:player_client=web,default;po_token=web+T")
    profile = Profile(
        proxy="http://u:p@proxy.lan:3128",
        extractor_args={k: {a: tuple(v) for a, v in d.items()} for k, d in args.items()},
    )
    wanted = {
        "proxy": "http://u:p@proxy.lan:3128",
        "extractor_args": {"youtube": {"player_client": ["web", "default"], "po_token": ["web+T"]}},
    }
    assert profile_params(profile) == wanted
    paced = network_params(profile, sleep_seconds=2.5)
    assert paced == {**wanted, "sleep_interval_requests": 2.5, "sleep_interval": 2.5}
    # an extraction downloads nothing: no pause before a download that does not come
    extracting = network_params(profile, sleep_seconds=2.5, download=False)
    assert extracting == {**wanted, "sleep_interval_requests": 2.5}
    assert "u:p" not in repr(profile)  # the proxy's credentials stay out of logs
    with open_session("[test]", socket_timeout=5, **paced) as ydl:  # yt-dlp takes them
        youtube = ydl.get_info_extractor("Youtube")
        assert youtube._configuration_arg("player_client") == ["web", "default"]
        assert youtube._configuration_arg("po_token", casesense=True) == ["web+T"]


def test_fragments_fetched_at_once_reach_ytdlp(tmp_path: Path) -> None:
    from haul.engine.base import EngineJob, StopSignal
    from haul.engine.ytdlp import _Hooks, _job_params

    for wanted in (1, 4, 16):
        job = EngineJob(1, "https://example.org/v", tmp_path, Profile(concurrent_fragments=wanted))
        params = _job_params(job, _Hooks(job, lambda _p: None, StopSignal()))
        assert params["concurrent_fragment_downloads"] == wanted
        with open_session("[test]", socket_timeout=1, **params) as ydl:
            assert ydl.params["concurrent_fragment_downloads"] == wanted
