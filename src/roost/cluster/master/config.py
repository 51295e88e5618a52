"""Master configuration (``roost master`` flags), validated with specific messages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from roost.core.resources import ResourceError, Resources


class ConfigError(ValueError):
    pass


@dataclass
class MasterConfig:
    ip: str = "127.0.0.1"
    port: int = 5050
    work_dir: Path = Path(".roost/master")
    #: ``sqlite:///path`` or ``memory://``; default ``sqlite:///<work_dir>/registry.db``
    store: str | None = None
    hostname: str | None = None
    cluster: str = "roost"
    allocation_interval: float = 1.0
    agent_ping_timeout: float = 15.0
    max_agent_ping_timeouts: int = 5
    agent_reregister_timeout: float = 600.0
    offer_timeout: float | None = None
    heartbeat_interval: float = 15.0
    min_allocatable_resources: str = "cpus:0.01|mem:32"
    max_completed_frameworks: int = 50
    max_completed_tasks_per_framework: int = 1000
    max_body_bytes: int = 16 * 1024 * 1024
    weights: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535, got {self.port}")
        for name in ("allocation_interval", "agent_ping_timeout", "heartbeat_interval"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or math.isnan(v) or v <= 0 or v > 86400:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be a positive number of seconds, got {v}")
        if self.max_agent_ping_timeouts < 1:
            raise ConfigError(
                f"--max-agent-ping-timeouts must be at least 1, got {self.max_agent_ping_timeouts}"
            )
        if self.agent_reregister_timeout <= 0:
            raise ConfigError("--agent-reregister-timeout must be positive")
        if self.offer_timeout is not None and (
            math.isnan(self.offer_timeout) or self.offer_timeout <= 0
        ):
            raise ConfigError(f"--offer-timeout must be positive, got {self.offer_timeout}")
        self.min_allocatable()
        for role, w in self.weights.items():
            if not role or w <= 0 or math.isnan(w):
                raise ConfigError(f"--weights: role '{role}' needs a positive weight, got {w}")

    def min_allocatable(self) -> list[Resources]:
        """``cpus:0.01|mem:32`` -> one Resources per alternative (Mesos' flag syntax)."""
        out = []
        for alt in self.min_allocatable_resources.split("|"):
            try:
                r = Resources.parse(alt)
            except ResourceError as e:
                raise ConfigError(f"--min-allocatable-resources: {e}") from None
            if r.is_empty():
                raise ConfigError(f"--min-allocatable-resources: empty alternative in '{alt}'")
            out.append(r)
        return out

    def store_url(self) -> str:
        return self.store or f"sqlite:///{Path(self.work_dir).resolve()}/registry.db"


def parse_weights(text: str) -> dict[str, float]:
    """``role1=2,role2=1.5`` -> ``{"role1": 2.0, "role2": 1.5}``."""
    out: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        role, sep, val = part.partition("=")
        try:
            w = float(val)
        except ValueError:
            w = math.nan
        if not sep or not role.strip() or math.isnan(w) or w <= 0:
            raise ConfigError(f"--weights: bad entry '{part}', expected role=positive_number")
        out[role.strip()] = w
    return out
