"""PUT/PATCH on an existing app, rollback bodies, and what counts as a restart.

Upstream (``AppsResource.update``, reference §1.4): with ``partialUpdate=true`` (PUT's
default, and always for PATCH) the members in the body replace the old ones whole (a
``container`` is not deep-merged, issue #4868) and the rest are kept; with
``partialUpdate=false`` the body is the new definition and defaults apply again. The id
comes from the URL: the body's ``id`` is ignored. A body of only ``{"version": ts}``
(optionally with ``id``) is a rollback, handled by the caller (:func:`is_rollback`); a
``version`` next to other members is a 422.

roost details: ``null`` members of a partial body leave the old value alone (Play reads
``null`` as absent). Members that exclude each other follow the body: new ``ports`` drop
the old ``portDefinitions``, new ``uris`` the old ``fetch``, a new ``cmd`` the old
``args`` (and the reverse), and a switch to non-host ``networks`` the old port
definitions. ``version`` and ``versionInfo`` are managed by the caller and carried over.
"""

from __future__ import annotations

from typing import Any

from roost.marathon.appdef.errors import INVALID_JSON, NOT_VALID, AppValidationError
from roost.marathon.appdef.model import AppDefinition
from roost.marathon.appdef.normalize import is_host_networking
from roost.marathon.appdef.parse import parse_app
from roost.marathon.appdef.writer import dump

VERSION_ONLY_WITH_ID = "The 'version' field may only be combined with the 'id' field."
_METADATA = ("id", "version", "versionInfo")


def is_rollback(raw: object) -> str | None:
    """The version to roll back to when ``raw`` is ``{"version": ts}`` (plus maybe ``id``)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("version"), str):
        return None
    others = [k for k, v in raw.items() if k not in ("id", "version") and v is not None]
    return None if others else raw["version"]


def apply_update(
    current: AppDefinition, raw: object, *, partial: bool = True, path: str = ""
) -> AppDefinition:
    """``current`` changed by the update body ``raw``; raises ``AppValidationError``."""
    if not isinstance(raw, dict):
        details = [{"path": path or "/", "errors": ["error.expected.jsobject"]}]
        raise AppValidationError(400, INVALID_JSON, details)
    for key in ("version", "id"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            details = [{"path": f"{path}/{key}", "errors": ["error.expected.jsstring"]}]
            raise AppValidationError(400, INVALID_JSON, details)
    body = {k: v for k, v in raw.items() if k not in _METADATA}
    if raw.get("version") is not None and any(v is not None for v in body.values()):
        raise AppValidationError(
            422, NOT_VALID, [{"path": path or "/", "errors": [VERSION_ONLY_WITH_ID]}]
        )
    merged = _merge(current, body) if partial else body
    merged["id"] = current.id
    new = parse_app(merged, path=path)
    return new.model_copy(update={"version": current.version, "version_info": current.version_info})


def _merge(current: AppDefinition, body: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in body.items() if v is not None}
    merged = {k: v for k, v in dump(current).items() if k not in _METADATA}
    if "ports" in given:
        merged.pop("portDefinitions", None)
    if "uris" in given:
        merged.pop("fetch", None)
    if "cmd" in given and "args" not in given:
        merged.pop("args", None)
    if "args" in given and "cmd" not in given:
        merged.pop("cmd", None)
    networks = given.get("networks")
    ports_given = "ports" in given or "portDefinitions" in given
    if isinstance(networks, list) and not ports_given:
        if not is_host_networking([n for n in networks if isinstance(n, dict)]):
            merged.pop("portDefinitions", None)
    merged.update(given)
    return merged


def is_scale_only(old: AppDefinition, new: AppDefinition) -> bool:
    """True when ``new`` differs from ``old`` at most in ``instances`` and version fields.

    Such a change is a ScaleApplication, not a rolling restart (reference §1.4). An
    unchanged definition counts as scale-only too: nothing needs restarting.
    """
    ignore = {"instances": 0, "version": None, "version_info": None}
    return old.model_copy(update=ignore) == new.model_copy(update=ignore)
