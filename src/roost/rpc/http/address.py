"""Endpoint addresses: ``"host:port"``, ``"[v6]:port"`` or a ``(host, port)`` tuple."""

from __future__ import annotations

Address = str | tuple[str, int]


def parse_address(address: Address) -> tuple[str, int]:
    """``(host, port)``; raises ``ValueError`` with the offending text."""
    if isinstance(address, tuple):
        host, port = address
        return host, int(port)
    text = address.strip()
    if text.startswith("http://"):
        text = text[len("http://") :].rstrip("/")
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"address {address!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
