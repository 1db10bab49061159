# gba-monitor as a container: `docker build -t gba-monitor .`, then see README (Deployment).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY examples ./examples
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin gba-monitor \
    && mkdir -p /data \
    && chown gba-monitor:gba-monitor /data

# The config and the store (its path is relative to the config) live in /data; mount a volume there.
USER gba-monitor
WORKDIR /data
VOLUME ["/data"]
ENV GBA_MONITOR_CONFIG=/data/feeds.yaml

# Reads only the heartbeat file beside the store: fails when the scheduler is dead, hung or falling behind.
HEALTHCHECK --interval=60s --timeout=10s --start-period=2m --retries=3 CMD ["gba-monitor", "health"]

CMD ["gba-monitor", "run"]
