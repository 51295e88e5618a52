"""``roost marathon`` settings, validated before anything starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


class ConfigError(ValueError):
    """A bad setting; the message names it."""


@dataclass
class MarathonConfig:
    master: str = "127.0.0.1:5050"
    store: str = "sqlite:///.roost/marathon/marathon.db"
    ip: str = "127.0.0.1"
    port: int = 8080
    hostname: str | None = None
    framework_name: str = "marathon"
    failover_timeout: float = 7 * 24 * 3600.0
    """Seconds the master keeps Marathon's tasks while it is away (Marathon: one week)."""
    decline_offer_duration: float = 120.0
    local_port_min: int = 10000
    local_port_max: int = 20000
    role: str = "*"

    def validate(self) -> None:
        if self.master.startswith("zk://"):
            raise ConfigError("--master zk://... is not supported yet: give HOST:PORT")
        _check_master(self.master)
        try:
            ipaddress.ip_address(self.ip)
        except ValueError:
            raise ConfigError(f"--ip must be an IP address to listen on, got {self.ip!r}") from None
        scheme = self.store.partition("://")[0].lower() if "://" in self.store else ""
        if scheme not in ("sqlite", "memory"):
            raise ConfigError(
                f"--store must be sqlite:///relative.db, sqlite:////absolute.db or memory://, "
                f"got {self.store!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be within 0..65535, got {self.port}")
        if not 1 <= self.local_port_min <= self.local_port_max <= 65535:
            raise ConfigError(
                "--local-port-min/--local-port-max must satisfy 1 <= min <= max <= 65535, got "
                f"{self.local_port_min}..{self.local_port_max}"
            )
        if self.failover_timeout < 0:
            raise ConfigError(f"--failover-timeout must be >= 0, got {self.failover_timeout}")
        if self.decline_offer_duration <= 0:
            raise ConfigError(
                f"--decline-offer-duration must be > 0, got {self.decline_offer_duration}"
            )
        if not self.framework_name.strip():
            raise ConfigError("--framework-name must not be empty")


def _check_master(master: str) -> None:
    """``HOST:PORT`` with a port in 1..65535 (``[v6]:PORT`` for IPv6)."""
    host, sep, port = master.rpartition(":")
    bad = f"--master must look like HOST:PORT (e.g. 10.0.0.1:5050), got {master!r}"
    if not sep or not host or not port.isdigit() or any(c.isspace() for c in master):
        raise ConfigError(bad)
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"--master port must be between 1 and 65535, got {port}")
