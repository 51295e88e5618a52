"""Marathon's event bus: in-process fan-out, upstream event shapes and ``GET /v2/events`` (SSE).

* :mod:`~roost.marathon.events.bus`: :class:`EventBus` and its bounded :class:`Subscription`;
* :mod:`~roost.marathon.events.types`: one constructor per event type roost emits, shaped like
  Marathon's ``core/event/Events.scala`` and parseable by the ``marathon`` PyPI client;
* :mod:`~roost.marathon.events.sse`: :func:`event_stream`, the Server-Sent Events endpoint.

Only :data:`KNOWN_EVENT_TYPES` can be published: the client raises on any other ``eventType``.
"""

from roost.marathon.events.bus import EventBus, Subscription
from roost.marathon.events.sse import event_stream
from roost.marathon.events.types import (
    KNOWN_EVENT_TYPES,
    add_health_check_event,
    api_post_event,
    app_terminated_event,
    deployment_failed,
    deployment_info,
    deployment_step_failure,
    deployment_step_success,
    deployment_success,
    event_stream_attached,
    event_stream_detached,
    failed_health_check_event,
    framework_message_event,
    group_change_failed,
    group_change_success,
    health_status_changed_event,
    instance_changed_event,
    instance_health_changed_event,
    normalize_plan,
    remove_health_check_event,
    status_update_event,
    unhealthy_task_kill_event,
)

__all__ = [
    "KNOWN_EVENT_TYPES",
    "EventBus",
    "Subscription",
    "add_health_check_event",
    "api_post_event",
    "app_terminated_event",
    "deployment_failed",
    "deployment_info",
    "deployment_step_failure",
    "deployment_step_success",
    "deployment_success",
    "event_stream",
    "event_stream_attached",
    "event_stream_detached",
    "failed_health_check_event",
    "framework_message_event",
    "group_change_failed",
    "group_change_success",
    "health_status_changed_event",
    "instance_changed_event",
    "instance_health_changed_event",
    "normalize_plan",
    "remove_health_check_event",
    "status_update_event",
    "unhealthy_task_kill_event",
]
