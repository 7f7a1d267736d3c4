"""A picture of a library file, made in a child process (:mod:`haul.media.frame_child`).

FFmpeg decodes a frame of a file that came from anywhere: as with probing
(:mod:`haul.media.prober`) it does so away from the server, in a child that is killed when it
takes longer than ``timeout`` seconds, and whose answer is believed only if its bytes are an
image (:func:`haul.core.images.sniff`). Blocking; callers run it in a thread.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from haul.core.images import sniff

log = logging.getLogger(__name__)

WIDTH = 320
TIMEOUT_SECONDS = 30.0
MAX_BYTES = 4 * 1024 * 1024


def picture_of(path: Path, *, width: int = WIDTH, timeout: float = TIMEOUT_SECONDS) -> bytes | None:
    """A JPEG (or the file's own cover picture) of the media file at ``path``; None when the
    file has no picture to give, or the child failed or took too long."""
    # -P: nothing from the working directory (it may be where downloads land) is imported
    command = [sys.executable, "-P", "-m", "haul.media.frame_child", str(path), str(width)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.info("picture of %s: FFmpeg took more than %g s", path, timeout)
        return None
    if done.returncode != 0 or not done.stdout:
        log.info("picture of %s: none (%s)", path, done.stderr.decode(errors="replace")[-300:])
        return None
    if len(done.stdout) > MAX_BYTES or sniff(done.stdout[:16]) is None:
        log.info("picture of %s: the child's answer is not an image", path)
        return None
    return done.stdout
