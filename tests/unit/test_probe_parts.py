"""The probe's pure parts: container names, YouTube ids in tags, main streams, reasons."""

from __future__ import annotations

import pytest

from haul.media.probe import (
    Reading,
    StreamInfo,
    failure_reason,
    main_stream,
    not_media_reason,
    short_container,
    subtitle_languages,
    youtube_id,
)

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    ("format_name", "suffix", "brand", "short"),
    [
        ("matroska,webm", ".mkv", "", "mkv"),
        ("matroska,webm", ".webm", "", "webm"),
        ("matroska,webm", ".MKA", "", "mka"),
        ("matroska,webm", ".bin", "", "mkv"),
        ("matroska,webm", "", "", "mkv"),
        (MP4, ".mp4", "isom", "mp4"),
        (MP4, ".m4a", "M4A ", "m4a"),
        (MP4, ".mov", "qt  ", "mov"),
        (MP4, ".part", "qt  ", "mov"),
        (MP4, ".part", "M4A ", "m4a"),
        (MP4, ".part", "isom", "mp4"),
        (MP4, "", "", "mp4"),
        ("mpegts", ".ts", "", "ts"),
        ("mp3", ".mp3", "", "mp3"),
        ("ogg", ".opus", "", "ogg"),
        ("flac", ".flac", "", "flac"),
        ("avi", ".mkv", "", "avi"),  # the content decides, not a misleading suffix
    ],
)
def test_short_container(format_name: str, suffix: str, brand: str, short: str) -> None:
    assert short_container(format_name, suffix=suffix, brand=brand) == short


@pytest.mark.parametrize(
    ("tags", "found"),
    [
        ({"comment": f"https://www.youtube.com/watch?v={ID}"}, ID),
        ({"COMMENT": f"https://www.youtube.com/watch?v={ID}&t=42s"}, ID),
        ({"purl": f"https://www.youtube.com/watch?feature=share&v={ID}"}, ID),
        ({"PURL": f"https://youtu.be/{ID}?si=abc"}, ID),
        ({"comment": f"https://m.youtube.com/shorts/{ID}"}, ID),
        ({"description": f"Watch: https://www.youtube-nocookie.com/embed/{ID} now"}, ID),
        ({"synopsis": f"youtube.com/watch?v={ID}"}, ID),
        ({"youtube_id": ID}, ID),
        ({"YOUTUBE_ID": f" {ID}\n"}, ID),
        ({"youtube_id": f"https://youtu.be/{ID}"}, ID),
        ({"comment": "https://youtu.be/aaaaaaaaaaa", "purl": f"https://youtu.be/{ID}"}, ID),
        ({"description": "https://youtu.be/aaaaaaaaaaa", "comment": f"https://youtu.be/{ID}"}, ID),
        ({}, None),
        ({"comment": "no link here"}, None),
        ({"comment": f"https://vimeo.com/{ID}"}, None),  # not YouTube
        ({"comment": f"https://example.com/watch?v={ID}"}, None),
        ({"comment": f"https://youtu.be/{ID}x"}, None),  # 12 characters is not an id
        ({"comment": "https://youtu.be/short"}, None),
        ({"title": f"https://youtu.be/{ID}"}, None),  # only tags meant for links are read
        ({"youtube_id": "not an id"}, None),
    ],
)
def test_youtube_id(tags: dict[str, str], found: str | None) -> None:
    assert youtube_id(tags) == found


def video(
    index: int, size: tuple[int, int], *, default: bool = False, cover: bool = False
) -> StreamInfo:
    return StreamInfo(index, "video", "h264", *size, default=default, attached_pic=cover)


def audio(
    index: int, channels: int, *, default: bool = False, language: str | None = None
) -> StreamInfo:
    return StreamInfo(index, "audio", "aac", channels=channels, default=default, language=language)


def subtitle(index: int, language: str | None) -> StreamInfo:
    return StreamInfo(index, "subtitle", "subrip", language=language)


def test_main_stream_prefers_the_default_flag() -> None:
    streams = [video(0, (1920, 1080)), video(1, (640, 360), default=True)]
    assert main_stream(streams, "video") == streams[1]


def test_main_stream_then_prefers_the_largest() -> None:
    small, big = video(0, (640, 360)), video(1, (1280, 720))
    assert main_stream([small, big], "video") == big
    stereo, surround = audio(2, 2), audio(3, 6)
    assert main_stream([stereo, surround], "audio") == surround


def test_main_stream_then_prefers_the_first() -> None:
    first, second = audio(1, 2), audio(2, 2)
    assert main_stream([second, first], "audio") == first


def test_main_stream_never_picks_cover_art() -> None:
    cover = video(1, (3000, 3000), default=True, cover=True)
    assert main_stream([audio(0, 2), cover], "video") is None
    assert main_stream([cover, video(2, (320, 240))], "video") == video(2, (320, 240))


def test_main_stream_of_a_missing_kind() -> None:
    assert main_stream([audio(0, 2)], "video") is None
    assert main_stream([], "audio") is None


def test_subtitle_languages_in_stream_order() -> None:
    streams = [video(0, (320, 240)), subtitle(1, "fre"), audio(2, 2, language="eng")]
    streams += [subtitle(3, None), subtitle(4, " "), subtitle(5, "eng")]
    assert subtitle_languages(streams) == ("fre", "und", "und", "eng")


def reading(format_name: str, *streams: StreamInfo) -> Reading:
    return Reading(format_name, 1.0, {}, streams)


def test_not_media_reason() -> None:
    assert not_media_reason(reading("mp3", audio(0, 2))) is None
    assert not_media_reason(reading(MP4, video(0, (320, 240)))) is None
    assert not_media_reason(reading("srt", subtitle(0, "eng"))) == (
        "not a media file: it has no audio or video stream (srt)"
    )
    assert not_media_reason(reading("png_pipe", video(0, (64, 48)))) == (
        "not a media file: it is a still image (h264)"
    )
    # an NFO beside a film: FFmpeg's tty demuxer shows any text as a picture of ANSI art
    assert not_media_reason(reading("tty", video(0, (640, 400)))) == (
        "not a media file: it is text"
    )
    cover_only = reading(MP4, video(0, (64, 48), cover=True))
    assert not_media_reason(cover_only) == (
        f"not a media file: it has no audio or video stream ({MP4})"
    )


class FakeFFmpegError(Exception):
    strerror = "Invalid data found when processing input"


@pytest.mark.parametrize(
    ("exc", "suffix", "reason"),
    [
        (
            FakeFFmpegError(),
            ".txt",
            "not a media file: invalid data found when processing input",
        ),
        (
            FakeFFmpegError(),
            ".MP4",
            "damaged or incomplete .mp4 file: invalid data found when processing input",
        ),
        (
            PermissionError(13, "Permission denied"),
            ".mkv",
            "cannot read the file: permission denied",
        ),
        (EOFError("End of file."), "", "not a media file: end of file"),
        (ValueError(), ".dat", "not a media file: FFmpeg gave no reason"),
    ],
)
def test_failure_reason(exc: BaseException, suffix: str, reason: str) -> None:
    assert failure_reason(exc, suffix) == reason
