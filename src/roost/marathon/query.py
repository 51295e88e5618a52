"""Query-string and path helpers for the Marathon REST layer.

* Booleans (``force``, ``scale``, ``wipe``, ``partialUpdate``, ``dryRun``) are read
  case-insensitively, as JAX-RS does: marathon-python sends ``force=False``.
* ``embed`` values follow ``api/v2/InfoEmbedResolver.scala``.
* marathon-python puts the app id's leading slash after ``/v2/apps/``, so paths arrive as
  ``/v2/apps//x``; :func:`collapse_slashes` normalizes them before routing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

log = logging.getLogger(__name__)

# Canonical embed names (``AppInfo.Embed``).
TASKS = "tasks"
COUNTS = "counts"
DEPLOYMENTS = "deployments"
READINESS = "readiness"
LAST_TASK_FAILURE = "lastTaskFailure"
TASK_STATS = "taskStats"

#: Prefixes Marathon treats as interchangeable (``EmbedAppsPrefixes``); longest first.
EMBED_PREFIXES = ("group.apps.", "apps.", "app.")

_EMBEDS: dict[str, frozenset[str]] = {
    TASKS: frozenset({TASKS, DEPLOYMENTS}),  # tasks has always implied deployments
    COUNTS: frozenset({COUNTS}),
    DEPLOYMENTS: frozenset({DEPLOYMENTS}),
    READINESS: frozenset({READINESS}),
    LAST_TASK_FAILURE: frozenset({LAST_TASK_FAILURE}),
    "failures": frozenset({TASKS, LAST_TASK_FAILURE, DEPLOYMENTS}),  # deprecated alias
    TASK_STATS: frozenset({TASK_STATS}),
}

_SLASHES = re.compile(r"/{2,}")


class QueryError(ValueError):
    """A query parameter with a value the endpoint cannot accept (answered with 400)."""


def parse_bool(value: str | None, *, default: bool, name: str) -> bool:
    """``"true"``/``"True"``/``"FALSE"`` -> bool; absent (``None``) -> ``default``.

    Anything else raises :class:`QueryError`: roost refuses to guess what ``force=maybe`` means
    (JAX-RS would silently read it as false).
    """
    if value is None:
        return default
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise QueryError(f"Parameter '{name}' must be true or false, got '{value}'")


def parse_embed(values: Sequence[str]) -> frozenset[str]:
    """The canonical embeds requested by repeated ``embed`` parameters.

    ``apps.tasks``, ``app.tasks``, ``group.apps.tasks`` and ``tasks`` all mean :data:`TASKS`
    (which also embeds :data:`DEPLOYMENTS`); ``failures`` means tasks, lastTaskFailure and
    deployments. Unknown values are ignored, as Marathon does (it only logs a warning).
    """
    embeds: set[str] = set()
    for raw in values:
        name = _strip_prefix(raw)
        found = _EMBEDS.get(name)
        if found is None:
            log.debug("ignoring unknown app embed %r", raw)
            continue
        embeds |= found
    return frozenset(embeds)


def collapse_slashes(path: str) -> str:
    """``/v2/apps//grp//web`` -> ``/v2/apps/grp/web``: every run of ``/`` becomes one."""
    return _SLASHES.sub("/", path)


def _strip_prefix(value: str) -> str:
    for prefix in EMBED_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value
