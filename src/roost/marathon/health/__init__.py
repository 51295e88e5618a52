"""Marathon health checks (``docs/docs/health-checks.md``).

* :class:`HealthResult` — one task against one check: counters, timestamps, kill rule.
* :func:`probe` — one HTTP, HTTPS or TCP check run from the Marathon process.
* :class:`HealthMonitor` — probe loops, Mesos ``TaskStatus.healthy`` updates,
  ``healthCheckResults`` and the on_change / on_kill callbacks.
* :func:`mesos_health_check` — ``TaskInfo.health_check`` for COMMAND and MESOS_* checks.
"""

from roost.marathon.health.checks import (
    MARATHON_PROTOCOLS,
    MESOS_PROTOCOLS,
    effective_port,
    is_marathon_level,
    is_mesos_level,
)
from roost.marathon.health.mesos import mesos_health_check
from roost.marathon.health.monitor import HealthMonitor
from roost.marathon.health.probes import HEALTHY_STATUSES, probe
from roost.marathon.health.result import HealthResult

__all__ = [
    "HEALTHY_STATUSES",
    "MARATHON_PROTOCOLS",
    "MESOS_PROTOCOLS",
    "HealthMonitor",
    "HealthResult",
    "effective_port",
    "is_marathon_level",
    "is_mesos_level",
    "mesos_health_check",
    "probe",
]
