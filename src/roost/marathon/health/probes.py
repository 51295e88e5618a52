"""Marathon-level probes: one HTTP, HTTPS or TCP check against a task, bounded by a timeout.

Mirrors ``core/health/impl/HealthCheckWorker.scala``: HTTP(S) sends one ``GET`` of the
check's path and passes on a status in 200-399 ("similar to AWS R53"); the body is never
read. HTTPS trusts any certificate and ignores the host name ("this is only a health
check"). TCP passes when the connection is accepted. Every failure, including a timeout,
comes back as a short cause string, never as an exception.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from typing import TYPE_CHECKING
from urllib.parse import quote

from roost.marathon.health.checks import MARATHON_PROTOCOLS, protocol_of

if TYPE_CHECKING:
    from roost.marathon.appdef import HealthCheckDef

HEALTHY_STATUSES = range(200, 400)
_INFORMATIONAL = range(100, 200)
_MAX_HEADER_LINES = 200
_USER_AGENT = "roost-marathon-health"
# Characters a request target may carry as they are; anything else is percent-encoded.
_PATH_SAFE = "/?&=%:@!$'()*+,;~-._"


class _MalformedResponse(Exception):
    """The peer answered something that is not an HTTP/1.x response."""


async def probe(
    check: HealthCheckDef, host: str, port: int | None, *, timeout: float
) -> str | None:
    """Run one Marathon-level check; ``None`` when healthy, else a short cause.

    Causes look like ``"HTTP 500"``, ``"ConnectionRefused"``, ``"Timeout after 2s"``,
    ``"SSLError: WRONG_VERSION_NUMBER"``. ``port`` is ``None`` when the check's
    ``portIndex`` addresses no port of the task (Marathon: "unable to get the task's
    effectivePort").
    """
    protocol = protocol_of(check)
    if protocol not in MARATHON_PROTOCOLS:
        return f"{protocol} checks run on the agent, not in Marathon"
    if port is None:
        return "No port to check: portIndex addresses no port of the task"
    try:
        async with asyncio.timeout(timeout):
            if protocol == "TCP":
                _, writer = await asyncio.open_connection(host, port)
                writer.close()
                return None
            return await _http_get(check, host, port, tls=protocol == "HTTPS")
    except TimeoutError:
        return f"Timeout after {timeout:g}s"
    except ConnectionRefusedError:
        return "ConnectionRefused"
    except ssl.SSLError as exc:
        return f"SSLError: {exc.reason or exc}"
    except (ConnectionResetError, asyncio.IncompleteReadError):
        return "ConnectionClosed"
    except socket.gaierror:
        return f"UnknownHost: {host}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    except (_MalformedResponse, ValueError) as exc:
        # ValueError: StreamReader.readline's line-length limit.
        return f"MalformedResponse: {exc}"


async def _http_get(check: HealthCheckDef, host: str, port: int, *, tls: bool) -> str | None:
    reader, writer = await asyncio.open_connection(
        host, port, ssl=_trust_everything() if tls else None
    )
    try:
        writer.write(_request(check.path, host, port))
        await writer.drain()
        while True:
            status = await _read_status(reader)
            # 1xx are interim responses; with ignoreHttp1xx they are discarded and the
            # response that follows decides (health-checks.md: "the result is discarded").
            if status in _INFORMATIONAL and check.ignore_http1xx:
                continue
            return None if status in HEALTHY_STATUSES else f"HTTP {status}"
    finally:
        writer.close()


def _request(path: str | None, host: str, port: int) -> bytes:
    target = path or "/"
    if not target.startswith("/"):
        target = "/" + target
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = (
        f"GET {quote(target, safe=_PATH_SAFE)} HTTP/1.1",
        f"Host: {authority}",
        f"User-Agent: {_USER_AGENT}",
        "Accept: */*",
        "Connection: close",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "replace")


async def _read_status(reader: asyncio.StreamReader) -> int:
    """Read one response head and return its status code (headers are skipped)."""
    line = await reader.readline()
    if not line:
        raise asyncio.IncompleteReadError(b"", None)
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _MalformedResponse(line[:60].decode("latin-1").strip())
    for _ in range(_MAX_HEADER_LINES):
        header = await reader.readline()
        if header in (b"\r\n", b"\n"):
            return int(parts[1])
        if not header:
            raise asyncio.IncompleteReadError(b"", None)
    raise _MalformedResponse("too many header lines")


@functools.cache
def _trust_everything() -> ssl.SSLContext:
    """A client context that accepts any certificate for any name, like Marathon's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
