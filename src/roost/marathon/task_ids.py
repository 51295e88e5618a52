"""Marathon task ids: ``<safePath>.<uuid>`` and the instance-era forms Marathon also parses.

Formats (``core/task/Task.scala``, ``Task.Id``); the safe path joins the app id's segments with
``_`` (``/grp/web`` -> ``grp_web``, ``PathId.safePath``):

* legacy ``grp_web.6b5d0c3e-...`` (older Marathons also wrote ``grp_web_6b5d0c3e-...``), plus the
  resident form with a launch attempt, ``grp_web.6b5d0c3e-....3``;
* instance era ``grp_web.instance-6b5d0c3e-..._app.1`` (``_app`` names the app's anonymous
  container, ``.1`` the incarnation; 1.4-1.7 wrote ``$anon`` and no incarnation; pods put the
  container name there; ``marathon-`` is the legacy instance prefix).

roost issues the legacy form (what Marathon up to 1.3 sent, and what the Marathon REST docs show
in examples) and reads all of them back, so ``MESOS_TASK_ID``-parsing scripts keep working.
"""

from __future__ import annotations

import re
import uuid

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# ``(.+)`` is greedy, as upstream's: the uuid is the last dotted part that looks like one, so
# safe paths may themselves contain dots (``/my.app`` -> ``my.app.<uuid>``).
_LEGACY = re.compile(rf"(?P<safe>.+)[._](?:{_UUID})(?:\.\d+)?")
_INSTANCE = re.compile(
    rf"(?P<safe>.+)\.(?:instance|marathon)-(?:{_UUID})[._](?:_app|\$anon|[^._]+)(?:\.\d+)?"
)

# One segment of an app id (``state/PathId.scala``): dot-separated DNS labels.
_LABEL = r"(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])"
_SEGMENT = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def safe_path(app_id: str) -> str:
    """``/grp/web`` -> ``grp_web`` (``PathId.safePath``)."""
    segments = [s for s in app_id.split("/") if s]
    if not segments:
        raise ValueError(f"Cannot make a task id for app id {app_id!r}: it has no path segments")
    return "_".join(segments)


def new_task_id(app_id: str) -> str:
    """A fresh legacy-format task id for ``app_id``: ``/grp/web`` -> ``grp_web.<uuid4>``."""
    return f"{safe_path(app_id)}.{uuid.uuid4()}"


def app_id_of(task_id: str) -> str | None:
    """The absolute app id a task id belongs to, or ``None`` if it is not a Marathon task id.

    ``grp_web.<uuid>`` and ``grp_web.instance-<uuid>._app.1`` both give ``/grp/web``.
    """
    match = _INSTANCE.fullmatch(task_id) or _LEGACY.fullmatch(task_id)
    if match is None:
        return None
    segments = match["safe"].split("_")
    if not all(_SEGMENT.fullmatch(s) for s in segments):
        return None
    return "/" + "/".join(segments)


def is_task_id(s: str) -> bool:
    """Whether ``s`` parses as a Marathon task id (see :func:`app_id_of`)."""
    return app_id_of(s) is not None
