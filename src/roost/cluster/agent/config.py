"""Agent configuration (``roost agent`` flags), validated with specific messages.

Defaults follow Mesos' agent (``src/slave/constants.hpp``, ``docs/configuration/agent.md``):
status updates are retried every 10 s backing off to 10 min, executors get 1 min to
register and 5 s to shut down. Reconnection to the master backs off 0.5 s doubling to 10 s
(``docs/agent-protocol.md``).
"""

from __future__ import annotations

import ipaddress
import math
import socket
from dataclasses import dataclass
from pathlib import Path

from roost.cluster.agent.probe import parse_attributes
from roost.core.resources import ResourceError, Resources

DEFAULT_MASTER_PORT = 5050
MAX_DURATION = 365 * 86400.0


class ConfigError(ValueError):
    """A flag value the agent cannot run with; the message names the flag."""


@dataclass
class AgentConfig:
    #: ``host:port`` of the master (a bare ``host`` means port 5050, as pymesos assumes).
    master: str
    work_dir: Path
    ip: str = "0.0.0.0"
    port: int = 5051
    #: address advertised to the master; default: the local IP that routes to the master.
    hostname: str | None = None
    resources: str | None = None
    attributes: str | None = None
    status_update_retry_min: float = 10.0
    status_update_retry_max: float = 600.0
    reconnect_backoff_min: float = 0.5
    reconnect_backoff_max: float = 10.0
    executor_registration_timeout: float = 60.0
    executor_shutdown_grace_period: float = 5.0
    cgroups: str = "auto"
    max_completed_tasks: int = 200

    def __post_init__(self) -> None:
        self.work_dir = Path(self.work_dir).resolve()  # sandboxes are reported as absolute paths
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first bad value."""
        self.master_address()
        _check_ip(self.ip)
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"--port must be an integer, got {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535, got {self.port}")
        if self.hostname is not None and not _is_hostname(self.hostname):
            raise ConfigError(
                f"--hostname must be a host name or IP address, got {self.hostname!r}"
            )
        if str(self.work_dir).strip() == "":
            raise ConfigError("--work-dir must not be empty")
        for name in (
            "status_update_retry_min",
            "status_update_retry_max",
            "reconnect_backoff_min",
            "reconnect_backoff_max",
            "executor_registration_timeout",
        ):
            _check_duration(name, getattr(self, name), allow_zero=False)
        _check_duration(
            "executor_shutdown_grace_period", self.executor_shutdown_grace_period, allow_zero=True
        )
        for low, high in (
            ("status_update_retry_min", "status_update_retry_max"),
            ("reconnect_backoff_min", "reconnect_backoff_max"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ConfigError(
                    f"{_flag(low)} ({getattr(self, low)}) must not exceed "
                    f"{_flag(high)} ({getattr(self, high)})"
                )
        if self.cgroups not in ("auto", "off"):
            raise ConfigError(f"--cgroups must be 'auto' or 'off', got {self.cgroups!r}")
        if isinstance(self.max_completed_tasks, bool) or not isinstance(
            self.max_completed_tasks, int
        ):
            raise ConfigError(
                f"--max-completed-tasks must be an integer, got {self.max_completed_tasks!r}"
            )
        if self.max_completed_tasks < 0:
            raise ConfigError(
                f"--max-completed-tasks must be zero or more, got {self.max_completed_tasks}"
            )
        if self.resources is not None:
            try:
                Resources.parse(self.resources)
            except ResourceError as e:
                raise ConfigError(f"--resources: {e}") from None
        if self.attributes is not None:
            try:
                parse_attributes(self.attributes)
            except ValueError as e:
                raise ConfigError(f"--attributes: {e}") from None

    def master_address(self) -> tuple[str, int]:
        """``(host, port)`` of ``--master``; ``[v6]:port`` is accepted for IPv6."""
        return parse_master(self.master)

    def advertised_hostname(self) -> str:
        """``--hostname``, else the local IP the master is reached from (UDP connect, no
        packet sent), else ``127.0.0.1``, like Mesos' ``LIBPROCESS_IP`` discovery."""
        if self.hostname:
            return self.hostname
        if self.ip not in ("0.0.0.0", "::"):
            return self.ip
        host, port = self.master_address()
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((host, port))
                local: str = s.getsockname()[0]
                return local
        except OSError:
            return "127.0.0.1"


def parse_master(text: object) -> tuple[str, int]:
    """``host:port`` (or ``host``, meaning port 5050) to ``(host, port)``."""
    bad = f"--master must look like host:port (e.g. 10.0.0.1:5050), got {text!r}"
    value = text.strip() if isinstance(text, str) else ""
    port_text: str | None = None
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(bad)
        port_text = rest[1:] if rest else None
    elif value.count(":") > 1:
        raise ConfigError(f"{bad}; write IPv6 addresses as [addr]:port")
    else:
        host, sep, rest = value.partition(":")
        port_text = rest if sep else None
    if not host or "/" in value or not _is_hostname(host):
        raise ConfigError(bad)
    if port_text is None:
        return host, DEFAULT_MASTER_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"--master port must be between 1 and 65535, got {port_text!r}")
    return host, int(port_text)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_duration(name: str, value: object, *, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{_flag(name)} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        kind = "zero or more" if allow_zero else "positive"
        raise ConfigError(f"{_flag(name)} must be {kind} seconds, got {value}")
    if value > MAX_DURATION:
        raise ConfigError(
            f"{_flag(name)} must be at most one year ({MAX_DURATION:.0f} s), got {value}"
        )


def _check_ip(ip: str) -> None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ConfigError(f"--ip must be an IP address to listen on, got {ip!r}") from None


def _is_hostname(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    if len(text) > 253 or not text:
        return False
    labels = text.rstrip(".").split(".")
    return all(
        0 < len(lab) <= 63
        and lab[0] != "-"
        and lab[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in lab)
        for lab in labels
    )
