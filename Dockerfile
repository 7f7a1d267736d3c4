# haul in a container: docs/deploy.md says how to build, run and update it.
#
#   docker build -t haul .        (podman: podman build --format docker -t haul .)
#   docker run -d -p 8680:8680 -v ./data:/data -v ./downloads:/downloads \
#       --user "$(id -u):$(id -g)" -e HAUL_ALLOWED_HOSTS=nas.lan haul
#
# It runs as an unprivileged user, never as root: uid and gid 1000 unless the image is built
# with --build-arg HAUL_UID=... --build-arg HAUL_GID=..., or run with --user UID:GID (compose:
# `user:`), which needs no rebuild. Files haul writes belong to that user.

ARG BASE_IMAGE=debian:bookworm-slim

# -- haul's Python packages in a virtualenv ------------------------------------------------
FROM ${BASE_IMAGE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# In steps of their own, rebuilt only when pyproject.toml changes (a newer yt-dlp: build with
# --no-cache). A certificate bundle for pip, when the network needs one, comes as a build
# secret (--secret id=pip_ca,src=FILE): nothing of it stays in the image.
COPY pyproject.toml /src/pyproject.toml
RUN --mount=type=secret,id=pip_ca,required=false \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1; \
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt; \
    python3 -m venv /opt/haul; \
    /opt/haul/bin/pip install -r /tmp/requirements.txt; \
    python3 -m venv /opt/build; \
    /opt/build/bin/pip install "hatchling>=1.25"

# -- haul's wheel (a change to haul's code rebuilds from here on) ---------------------------
FROM packages AS wheel
COPY README.md /src/README.md
COPY src /src/src
RUN PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/build/bin/pip wheel --no-deps --no-build-isolation -w /wheels /src

# -- the image: Python, FFmpeg, haul's virtualenv -------------------------------------------
FROM ${BASE_IMAGE}
# FFmpeg's OpenGL output (which a server never opens) brings Mesa's GL drivers and, with
# them, LLVM: about 160 MB that go again (`apt-get -f install` would bring them back).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 ffmpeg ca-certificates tini \
 && dpkg --purge --force-depends libgl1-mesa-dri libllvm15 libz3-4 \
 && ffmpeg -nostdin -y -hide_banner -loglevel error -f lavfi -i testsrc=duration=1:size=64x48 \
        -f lavfi -i sine=duration=1 -c:v libx264 -c:a aac -f mp4 /dev/null \
 && rm -rf /var/lib/apt/lists/*
ARG HAUL_UID=1000
ARG HAUL_GID=1000
RUN groupadd --gid "${HAUL_GID}" haul \
 && useradd --uid "${HAUL_UID}" --gid "${HAUL_GID}" --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin haul \
 && mkdir -p /data /downloads \
 && chown "${HAUL_UID}:${HAUL_GID}" /data /downloads
COPY --from=packages /opt/haul /opt/haul
COPY --from=wheel /wheels /tmp/wheels
RUN PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/haul/bin/pip install --no-deps /tmp/wheels/haul-*.whl \
 && rm -rf /tmp/wheels \
 && /opt/haul/bin/haul --help > /dev/null

# Outside the container haul would refuse a network address without an account; here it
# starts in accounts mode, makes the first administrator from HAUL_ADMIN_PASSWORD_FILE when
# given, and otherwise prints the setup code for /setup in its log.
ENV PATH=/opt/haul/bin:${PATH} \
    HOME=/data \
    XDG_CACHE_HOME=/data/cache \
    PYTHONUNBUFFERED=1 \
    HAUL_DATA_DIR=/data \
    HAUL_DOWNLOAD_DIR=/downloads \
    HAUL_HOST=0.0.0.0 \
    HAUL_PORT=8680 \
    HAUL_MODE=accounts
VOLUME ["/data", "/downloads"]
EXPOSE 8680
USER ${HAUL_UID}:${HAUL_GID}
WORKDIR /data

# /healthz where haul listens (HAUL_HOST is one of the names haul always answers to; for the
# address of every interface, loopback), past any proxy set for downloads.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; h = os.environ.get('HAUL_HOST') or '127.0.0.1'; h = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(h, h); h = '[' + h + ']' if ':' in h else h; u.build_opener(u.ProxyHandler({})).open('http://%s:%s/healthz' % (h, os.environ.get('HAUL_PORT', '8680')), timeout=4)"]

# tini passes signals on and reaps what haul's downloads leave behind: `docker stop` ends haul
# cleanly (running downloads stop where they are and go on at the next start).
ENTRYPOINT ["tini", "--", "haul"]
CMD ["serve"]
