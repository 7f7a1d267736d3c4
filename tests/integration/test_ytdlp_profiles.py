"""What a profile asks of yt-dlp, against real yt-dlp and ffmpeg on media made at test time:
audio only, tags and a cover picture, side files beside the media, SponsorBlock cuts."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET  # the file is haul's own output, parsed to check it
from pathlib import Path

import av
import pytest

from haul.engine import ytdlp
from haul.engine.base import EngineJob, Profile, Progress, StopSignal
from haul.engine.ytdlp_profile import profile_params
from haul.engine.ytdlp_session import open_session
from haul.media.probe import probe_file
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin

PAGE_TITLE = 'Tagged <clip> & "friends"'
DESCRIPTION = "A clip about <b>tags</b> & covers."


def ignore(_: Progress) -> None:
    pass


@pytest.fixture
def site(origin: Origin, media_files: MediaFiles, tmp_path: Path) -> Origin:
    """A page with one video and the usual <video> tag, and one described in JSON-LD with a
    title, an uploader, a description and a thumbnail."""
    origin.add_file("/media/a.mp4", media_files.mp4, "video/mp4")
    thumbnail = media.make_jpeg(tmp_path / "src" / "thumb.jpg")
    origin.add_file("/media/thumb.jpg", thumbnail, "image/jpeg")
    origin.add_page("/watch/one", media.page_with_video(origin.url("/media/a.mp4")))
    described = media.page_with_metadata(
        origin.url("/media/a.mp4"),
        title=PAGE_TITLE,
        uploader="Haul Studio",
        thumbnail_url=origin.url("/media/thumb.jpg"),
        description=DESCRIPTION,
    )
    origin.add_page("/watch/described", described)
    return origin


def run(url: str, dest: Path, profile: Profile) -> list[Path]:
    job = EngineJob(download_id=3, url=url, dest_dir=dest, profile=profile)
    return list(ytdlp.run_download(job, ignore, StopSignal()).files)


def test_an_audio_only_profile_gives_an_mp3_the_probe_calls_audio(
    site: Origin, tmp_path: Path
) -> None:
    dest = tmp_path / "job"
    [song] = run(site.url("/watch/one"), dest, Profile(audio_format="mp3", audio_quality="128K"))
    assert song.suffix == ".mp3" and song.parent == dest
    probed = probe_file(song)
    assert probed.is_media
    assert probed.container == "mp3"
    assert probed.audio_codec == "mp3"
    assert probed.video_codec is None and probed.width is None
    assert 9.5 < (probed.duration or 0) < 10.5
    assert [p.name for p in dest.iterdir()] == [song.name]  # the video did not stay behind


@pytest.mark.parametrize("kbits", [96, 192])
def test_a_bitrate_quality_sets_the_mp3s_bit_rate(site: Origin, tmp_path: Path, kbits: int) -> None:
    dest = tmp_path / "job"
    profile = Profile(audio_format="mp3", audio_quality=f"{kbits}K")
    [song] = run(site.url("/watch/one"), dest, profile)
    with av.open(str(song)) as container:
        [stream] = container.streams.audio
        rate = stream.bit_rate or container.bit_rate
    assert abs(rate / 1000 - kbits) <= kbits * 0.05


def test_embedded_metadata_and_thumbnail_tag_the_mp4_with_its_page(
    site: Origin, tmp_path: Path
) -> None:
    dest = tmp_path / "job"
    profile = Profile(embed_metadata=True, embed_thumbnail=True)
    [video] = run(site.url("/watch/described"), dest, profile)
    assert video.suffix == ".mp4"
    with av.open(str(video)) as container:
        assert container.metadata.get("title") == PAGE_TITLE
        assert container.metadata.get("artist") == "Haul Studio"
        covers = [
            s for s in container.streams if s.disposition & av.stream.Disposition.attached_pic
        ]
    assert len(covers) == 1
    assert covers[0].codec_context.codec.name == "mjpeg"
    assert [p.name for p in dest.iterdir()] == [video.name]  # the thumbnail went into the file
    assert site.requests_for("/media/thumb.jpg")


def test_side_files_lie_beside_the_media_and_the_nfo_carries_the_page(
    site: Origin, tmp_path: Path
) -> None:
    dest = tmp_path / "job"
    profile = Profile(write_nfo=True, write_thumbnail=True, write_info_json=True)
    files = run(site.url("/watch/described"), dest, profile)
    by_suffix = {p.name.removeprefix(p.stem.split(".")[0]): p for p in files}
    assert set(by_suffix) == {".mp4", ".nfo", ".jpg", ".info.json"}
    stem = by_suffix[".mp4"].stem
    assert all(p.parent == dest and p.name.startswith(stem) for p in files)
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in files)

    nfo = ET.parse(by_suffix[".nfo"]).getroot()  # noqa: S314
    assert nfo.tag == "movie"
    assert nfo.findtext("title") == PAGE_TITLE
    assert nfo.findtext("plot") == DESCRIPTION
    assert nfo.findtext("studio") == "Haul Studio"
    assert nfo.findtext("premiered") == "2024-01-01"
    assert nfo.find("runtime") is None  # the page says nothing of its length
    [unique] = nfo.findall("uniqueid")
    assert unique.attrib == {"type": "generic", "default": "true"}
    assert unique.text == "described"  # the page's id: the last part of its address
    info = json.loads(by_suffix[".info.json"].read_text(encoding="utf-8"))
    assert info["title"] == PAGE_TITLE
    assert by_suffix[".jpg"].read_bytes()[:2] == b"\xff\xd8"  # a JPEG


def test_sponsorblock_segments_are_cut_out_of_a_real_file(
    origin: Origin, media_files: MediaFiles, tmp_path: Path
) -> None:
    """yt-dlp's own SponsorBlock and ModifyChapters post-processors, run as a profile sets
    them up, against a SponsorBlock server on loopback that knows the video id."""
    video_id = media.YOUTUBE_ID
    prefix = hashlib.sha256(video_id.encode()).hexdigest()[:4]
    answer = [
        {
            "videoID": video_id,
            "segments": [
                {
                    "segment": [2.0, 5.0],
                    "category": "sponsor",
                    "actionType": "skip",
                    "videoDuration": 10.0,
                    "UUID": "a1",
                },
                {
                    "segment": [6.0, 7.0],
                    "category": "intro",
                    "actionType": "skip",
                    "videoDuration": 10.0,
                    "UUID": "a2",
                },
            ],
        },
        {"videoID": "someoneElse", "segments": []},
    ]
    origin.add_file(f"/api/skipSegments/{prefix}", json.dumps(answer).encode(), "application/json")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(media_files.mp4.read_bytes())
    before = probe_file(clip).duration
    assert before is not None and 9.5 < before < 10.5

    profile = Profile(sponsorblock_remove=("sponsor",), sponsorblock_mark=("intro",))
    params = profile_params(profile, sponsorblock_api=origin.url(""))
    info = {
        "id": video_id,
        "extractor_key": "Youtube",
        "extractor": "youtube",
        "title": "A sponsored clip",
        "duration": before,
        "ext": "mp4",
        "filepath": str(clip),
        "__real_download": True,
    }
    with open_session("[test]", socket_timeout=10, **params) as ydl:
        info = ydl.run_all_pps("after_filter", info)
        info = ydl.post_process(str(clip), info)

    assert origin.requests_for(f"/api/skipSegments/{prefix}")
    after = probe_file(clip).duration
    assert after is not None and 6.5 < after < 7.5  # 3 s of sponsor gone, the intro kept
    with av.open(str(clip)) as container:
        chapters = [(c["start"], c["metadata"].get("title")) for c in container.chapters()]
    # the marked intro is a chapter of its own; the sponsor is gone, so no chapter names it
    assert [title for _, title in chapters] == [
        "A sponsored clip",
        "[SponsorBlock]: Intermission/Intro Animation",
        "A sponsored clip",
    ]
    assert not list(tmp_path.glob("*.uncut.*"))


@pytest.mark.parametrize("audio_format", ["opus", "flac", "m4a"])
def test_an_audio_file_gets_the_pages_cover_picture(
    site: Origin, tmp_path: Path, audio_format: str
) -> None:
    """yt-dlp embeds a cover into these formats with mutagen (a runtime dependency): without
    it the picture is dropped with a warning."""
    import mutagen

    dest = tmp_path / "job"
    profile = Profile(audio_format=audio_format, embed_metadata=True, embed_thumbnail=True)
    [song] = run(site.url("/watch/described"), dest, profile)
    assert song.suffix == f".{audio_format}"
    tags = mutagen.File(song)
    assert tags is not None
    if audio_format == "flac":
        pictures = [p.mime for p in tags.pictures]
    elif audio_format == "opus":
        pictures = ["image/jpeg"] if tags.get("metadata_block_picture") else []
    else:
        pictures = ["image/jpeg"] if tags.get("covr") else []
    assert pictures == ["image/jpeg"]
    assert [p.name for p in dest.iterdir()] == [song.name]  # the thumbnail went into the file


@pytest.mark.parametrize("fragments", [1, 4])
def test_hls_fragments_are_fetched_as_many_at_once_as_the_profile_says(
    origin: Origin, media_files: MediaFiles, tmp_path: Path, fragments: int
) -> None:
    folder = media_files.hls.parent
    origin.add_dir("/hls", folder)
    segments = sorted(p.name for p in folder.glob("seg*.ts"))
    for name in segments:  # slow enough for fragments fetched at once to overlap
        origin.throttle(f"/hls/{name}", max(1, (folder / name).stat().st_size * 4))
    files = run(
        origin.url("/hls/index.m3u8"), tmp_path / "out", Profile(concurrent_fragments=fragments)
    )
    assert len(files) == 1 and files[0].stat().st_size > 0
    asked = [r for r in origin.requests if r.path.endswith(".ts")]
    assert sorted({r.path for r in asked}) == [f"/hls/{n}" for n in segments]
    # How many were being sent at once (a request that began as another was ending, within
    # 50 ms, is the next one, not a second at once).
    most = 1 + max(
        sum(1 for o in asked if o is not r and o.started <= r.started < (o.finished or 0) - 0.05)
        for r in asked
    )
    assert most == 1 if fragments == 1 else most >= 2
