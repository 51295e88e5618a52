"""Marathon path ids: ``/group/sub/app``.

App and group ids are slash-separated paths (upstream ``state/PathId.scala``). A relative id
in a request body resolves against its parent group (``POST /v2/apps``: against ``/``);
``.`` and ``..`` segments are resolved on the way. Each segment must fully match
:data:`SEGMENT_PATTERN` and the last one must not be a reserved keyword, because the REST
routes peel ``/restart``, ``/tasks`` and ``/versions`` off the end of a URL.

Derived names used elsewhere: the *safe path* joins the segments with ``_`` (the prefix of
legacy task ids, ``/grp/web`` -> ``grp_web``) and the *hostname* is the reversed,
dot-joined path (the Mesos ``TaskInfo.name``, ``/prod/web`` -> ``web.prod``, which
Mesos-DNS turns into ``web.prod.marathon.mesos``).
"""

from __future__ import annotations

import re

SEGMENT_PATTERN = (
    r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$"
)
"""Upstream ``PathId.ID_PATH_SEGMENT_PATTERN`` (also the RAML ``PathId`` type), verbatim."""

RESERVED: tuple[str, ...] = ("restart", "tasks", "versions", ".", "..")
"""Last segments an id may not have (reference §2.2)."""

ROOT = "/"

_SEGMENT = re.compile(SEGMENT_PATTERN)


def segments(app_id: str) -> list[str]:
    """The non-empty segments of ``app_id`` as written (no ``.``/``..`` resolution)."""
    return [s for s in app_id.split("/") if s]


def absolute(raw: str, base: str = ROOT) -> str:
    """``raw`` as a canonical absolute id: relative ids join ``base``, ``.``/``..`` resolved.

    Repeated slashes collapse and there is no trailing slash except for the root. ``..``
    above the root stays at the root, like upstream ``PathId.canonicalPath``.
    """
    parts = segments(raw) if raw.startswith("/") else segments(base) + segments(raw)
    resolved: list[str] = []
    for part in parts:
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        resolved.append(part)
    return "/" + "/".join(resolved)


MAX_ID_LENGTH = 500
"""roost's limit (upstream has none): ids become store keys, which ZooKeeper-like stores cap."""


def id_errors(app_id: str) -> list[str]:
    """Upstream's messages for an invalid id (``PathId.pathIdValidator``); empty when valid.

    ``app_id`` is checked as given, so callers pass the canonical form from :func:`absolute`.
    """
    errors: list[str] = []
    parts = segments(app_id)
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        errors.append(f"must fully match regular expression '{SEGMENT_PATTERN}'")
    if parts and parts[-1] in RESERVED:
        errors.append(
            "must not end with any of the following reserved keywords: " + ", ".join(RESERVED)
        )
    if not parts:
        errors.append("must not be root")
    if len(app_id) > MAX_ID_LENGTH:
        errors.append(f"must be at most {MAX_ID_LENGTH} characters long")
    return errors


def safe_path(app_id: str) -> str:
    """Segments joined with ``_`` (``/grp/web`` -> ``grp_web``; upstream ``PathId.safePath``)."""
    return "_".join(segments(absolute(app_id)))


def from_safe_path(safe: str) -> str:
    """The inverse of :func:`safe_path` (``grp_web`` -> ``/grp/web``; ``""`` -> ``/``)."""
    return "/" + "/".join(s for s in safe.split("_") if s)


def hostname(app_id: str) -> str:
    """Reversed, dot-joined segments (``/prod/web`` -> ``web.prod``; ``PathId.toHostname``)."""
    return ".".join(reversed(segments(absolute(app_id))))


def _parent_of(app_id: str) -> str:
    return "/" + "/".join(segments(absolute(app_id))[:-1])


def parent(app_id: str) -> str:
    """The enclosing group (``/a/b`` -> ``/a``, ``/a`` -> ``/``); the root is its own parent."""
    return _parent_of(app_id)


def is_child_of(child: str, parent: str) -> bool:
    """True when ``child`` sits directly in ``parent`` (upstream ``childOf``: direct only).

    Both are canonicalized first, so ``/a//b/`` is a child of ``/a``; the root is nobody's
    child.
    """
    child_id = absolute(child)
    return child_id != ROOT and _parent_of(child_id) == absolute(parent)
