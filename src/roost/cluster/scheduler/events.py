"""Turning v1 scheduler events into :class:`Scheduler` callbacks.

Payloads are nested (``{"type": "OFFERS", "offers": {"offers": [...]}}``), as the real master
sends them; the flat shapes printed in the Mesos docs (a bare offer list, a top-level ERROR
``message``) are accepted too.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING, Any

from roost.cluster.scheduler.calls import id_value
from roost.cluster.scheduler.scheduler import Scheduler

if TYPE_CHECKING:
    from roost.cluster.scheduler.driver import SchedulerDriver

log = logging.getLogger(__name__)

# "Framework has been removed": the id was torn down (or its failover timeout expired) and
# cannot come back. "Framework failed over": another scheduler took the id over; re-subscribing
# would steal it back and the two would fight.
_FINAL_MARKERS = (
    "framework has been removed",
    "framework removed",
    "has been torn down",
    "framework failed over",
)


def payload(event: dict[str, Any]) -> Any:
    return event.get(str(event.get("type", "")).lower())


def error_message(event: dict[str, Any]) -> str:
    body = payload(event)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(event.get("message", "unknown error"))


def is_final(message: str) -> bool:
    """Does an ERROR mean this scheduler lost its framework id for good (no re-subscribe)?"""
    text = message.lower()
    return any(marker in text for marker in _FINAL_MARKERS)


def _decode(data: Any) -> bytes:
    try:
        return base64.b64decode(data) if isinstance(data, str) else b""
    except (binascii.Error, ValueError):
        return b""


async def deliver(scheduler: Scheduler, driver: SchedulerDriver, event: dict[str, Any]) -> None:
    """Call the callback for ``event``; unknown event types are logged and skipped."""
    kind = event.get("type")
    body = payload(event)
    body = body if isinstance(body, dict) else {"items": body}
    if kind == "SUBSCRIBED":
        fid = id_value(body.get("framework_id")) or ""
        await scheduler.subscribed(driver, fid, body.get("master_info") or {})
    elif kind == "OFFERS":
        offers = body.get("offers", body.get("items"))
        await scheduler.offers(driver, list(offers) if isinstance(offers, list) else [])
    elif kind == "RESCIND":
        await scheduler.rescind(driver, id_value(body.get("offer_id")) or "")
    elif kind == "UPDATE":
        await scheduler.update(driver, body.get("status") or {})
    elif kind == "MESSAGE":
        agent_id = id_value(body.get("agent_id")) or ""
        executor_id = id_value(body.get("executor_id")) or ""
        await scheduler.message(driver, agent_id, executor_id, _decode(body.get("data")))
    elif kind == "FAILURE":
        status = body.get("status")
        await scheduler.failure(
            driver,
            id_value(body.get("agent_id")),
            id_value(body.get("executor_id")),
            status if isinstance(status, int) else None,
        )
    elif kind == "ERROR":
        await scheduler.error(driver, error_message(event))
    elif kind == "HEARTBEAT":
        await scheduler.heartbeat(driver)
    else:
        log.debug("ignoring scheduler event %s", kind)
