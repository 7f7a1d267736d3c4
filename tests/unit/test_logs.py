import asyncio
import io
import json
import logging

from haul.logsetup import DownloadContext, JsonLines, current_download


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(DownloadContext())
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("haul.test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


async def test_lines_name_the_download_they_are_about_even_from_threads() -> None:
    logger, stream = capture()

    async def job(download_id: int) -> None:
        current_download.set(download_id)
        logger.info("in the loop")
        await asyncio.to_thread(logger.info, "in a thread")

    await asyncio.gather(asyncio.create_task(job(7)), asyncio.create_task(job(8)))
    logger.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_id = sorted((line["download_id"], line["message"]) for line in lines[:-1])
    assert by_id == [
        (7, "in a thread"),
        (7, "in the loop"),
        (8, "in a thread"),
        (8, "in the loop"),
    ]
    assert lines[-1] == {**lines[-1], "message": "outside", "level": "info"}
    assert "download_id" not in lines[-1]
