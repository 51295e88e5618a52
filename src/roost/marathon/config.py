"""``roost marathon`` settings, validated before anything starts."""

from __future__ import annotations

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
        if not self.master or self.master.startswith("zk://"):
            if self.master.startswith("zk://"):
                raise ConfigError("--master zk://... is not supported yet: give HOST:PORT")
            raise ConfigError("--master must be HOST:PORT of the master")
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
