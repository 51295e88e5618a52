"""probe(): HTTP, HTTPS and TCP checks against real servers on loopback."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from roost.marathon.health import probe
from tests.marathon.health import make_check

HOST = "127.0.0.1"

# path -> raw response head(s); "/slow" never answers.
RESPONSES = {
    "/ok": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "/redirect": b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n",
    "/teapot": b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n",
    "/fail": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    "/interim": b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "/interim-then-fail": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\n\r\n",
    "/garbage": b"SSH-2.0-OpenSSH_9.6\r\n",
}


@dataclass
class Server:
    port: int
    requests: list[list[str]] = field(default_factory=list)


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server
) -> None:
    try:
        head = []
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            head.append(line.decode().rstrip("\r\n"))
        server.requests.append(head)
        path = head[0].split()[1] if head else ""
        if path == "/slow":
            await asyncio.Event().wait()
        writer.write(RESPONSES.get(path, b"HTTP/1.1 404 Not Found\r\n\r\n"))
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(tls: ssl.SSLContext | None = None) -> Server:
        state = Server(port=0)
        srv = await asyncio.start_server(lambda r, w: _serve(r, w, state), HOST, 0, ssl=tls)
        state.port = srv.sockets[0].getsockname()[1]
        servers.append(srv)
        return state

    yield start
    for srv in servers:
        srv.close()
        await srv.wait_closed()


@pytest.fixture
async def http_server(start_server: Callable[..., Awaitable[Server]]) -> Server:
    return await start_server()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; the handshake-failure test covers HTTPS")
    directory: Path = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=not-the-probed-host", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [*command, *subject],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ok", None),
        ("/redirect", None),  # 200-399 pass, redirects are not followed
        ("/fail", "HTTP 500"),
        ("/teapot", "HTTP 418"),
        ("/missing", "HTTP 404"),
    ],
)
async def test_http_passes_on_200_to_399_only(
    http_server: Server, path: str, expected: str | None
) -> None:
    check = make_check(protocol="HTTP", path=path)
    assert await probe(check, HOST, http_server.port, timeout=5) == expected


async def test_http_sends_one_get_of_the_path_with_the_host_header(http_server: Server) -> None:
    await probe(make_check(protocol="HTTP", path="health"), HOST, http_server.port, timeout=5)
    [head] = http_server.requests
    assert head[0] == "GET /health HTTP/1.1"
    assert f"Host: {HOST}:{http_server.port}" in head


async def test_http_path_defaults_to_root(http_server: Server) -> None:
    await probe(make_check(protocol="HTTP", path=None), HOST, http_server.port, timeout=5)
    assert http_server.requests[0][0] == "GET / HTTP/1.1"


async def test_http_that_does_not_answer_in_time_times_out(http_server: Server) -> None:
    check = make_check(protocol="HTTP", path="/slow")
    assert await probe(check, HOST, http_server.port, timeout=0.2) == "Timeout after 0.2s"


@pytest.mark.parametrize(
    ("path", "ignore", "expected"),
    [
        ("/interim", True, None),
        ("/interim", False, "HTTP 102"),
        ("/interim-then-fail", True, "HTTP 503"),
        ("/interim-then-fail", False, "HTTP 100"),
    ],
)
async def test_informational_responses_are_skipped_only_with_ignore_http1xx(
    http_server: Server, path: str, ignore: bool, expected: str | None
) -> None:
    check = make_check(protocol="HTTP", path=path, ignore_http1xx=ignore)
    assert await probe(check, HOST, http_server.port, timeout=5) == expected


async def test_http_to_something_that_is_not_http_fails(http_server: Server) -> None:
    cause = await probe(
        make_check(protocol="HTTP", path="/garbage"), HOST, http_server.port, timeout=5
    )
    assert cause is not None and cause.startswith("MalformedResponse")


@pytest.mark.parametrize("protocol", ["HTTP", "HTTPS", "TCP"])
async def test_closed_port_is_connection_refused(protocol: str) -> None:
    check = make_check(protocol=protocol, path="/")
    assert await probe(check, HOST, closed_port(), timeout=5) == "ConnectionRefused"


async def test_tcp_passes_when_the_port_accepts(http_server: Server) -> None:
    assert await probe(make_check(protocol="TCP"), HOST, http_server.port, timeout=5) is None


async def test_https_accepts_a_self_signed_certificate_for_another_name(
    start_server: Callable[..., Awaitable[Server]], self_signed: ssl.SSLContext
) -> None:
    server = await start_server(self_signed)
    ok = make_check(protocol="HTTPS", path="/ok")
    failing = make_check(protocol="HTTPS", path="/fail")
    assert await probe(ok, HOST, server.port, timeout=5) is None
    assert await probe(failing, HOST, server.port, timeout=5) == "HTTP 500"


async def test_https_against_a_plain_listener_fails_the_handshake(http_server: Server) -> None:
    cause = await probe(make_check(protocol="HTTPS", path="/ok"), HOST, http_server.port, timeout=5)
    assert cause is not None
    assert cause.startswith(("SSLError", "ConnectionClosed")), cause


async def test_plain_http_against_a_tls_listener_fails(
    start_server: Callable[..., Awaitable[Server]], self_signed: ssl.SSLContext
) -> None:
    server = await start_server(self_signed)
    assert await probe(make_check(protocol="HTTP", path="/ok"), HOST, server.port, timeout=5)


async def test_missing_port_fails_without_connecting() -> None:
    cause = await probe(make_check(protocol="TCP"), HOST, None, timeout=5)
    assert cause is not None and "portIndex" in cause


@pytest.mark.parametrize("protocol", ["COMMAND", "MESOS_HTTP", "MESOS_TCP"])
async def test_mesos_level_checks_are_not_probed_from_marathon(
    http_server: Server, protocol: str
) -> None:
    cause = await probe(make_check(protocol=protocol), HOST, http_server.port, timeout=5)
    assert cause is not None and "agent" in cause
    assert http_server.requests == []


async def test_unknown_host_is_reported_not_raised() -> None:
    cause = await probe(make_check(protocol="TCP"), "no-such-host.invalid", 80, timeout=5)
    assert cause is not None
