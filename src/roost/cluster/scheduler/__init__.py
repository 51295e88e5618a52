"""An asyncio scheduler driver for the Mesos v1 scheduler HTTP API (``POST /api/v1/scheduler``).

Used by roost's Marathon and Chronos frameworks and offered to users::

    class Hello(Scheduler):
        async def offers(self, driver, offers): ...
        async def update(self, driver, status): ...

    driver = SchedulerDriver("127.0.0.1:5050", {"name": "hello"}, Hello())
    await driver.start()
    await driver.join()

``OneShotTask`` is a ready-made framework that runs one command (``roost run-task``);
``command_task`` and ``offer_fits`` help write your own.
"""

from roost.cluster.scheduler.backoff import Backoff
from roost.cluster.scheduler.driver import SchedulerDriver
from roost.cluster.scheduler.errors import (
    CallRejected,
    MasterUnreachable,
    NotSubscribed,
    SchedulerError,
)
from roost.cluster.scheduler.oneshot import OneShotTask
from roost.cluster.scheduler.reconciler import Reconciler
from roost.cluster.scheduler.scheduler import Scheduler
from roost.cluster.scheduler.tasks import TERMINAL_STATES, command_task, offer_fits
from roost.cluster.scheduler.watchdog import HeartbeatWatchdog

__all__ = [
    "TERMINAL_STATES",
    "Backoff",
    "CallRejected",
    "HeartbeatWatchdog",
    "MasterUnreachable",
    "NotSubscribed",
    "OneShotTask",
    "Reconciler",
    "Scheduler",
    "SchedulerDriver",
    "SchedulerError",
    "command_task",
    "offer_fits",
]
