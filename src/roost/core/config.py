"""Configuration files checked with pydantic, shared by ``roost mesh`` and ``roost namerd``.

Models derive from :class:`Strict`, which refuses unknown keys, so a typo stops startup.
:func:`load_yaml` parses a file and validates it; every problem is reported at once, each
named by its key path as the file spells it::

    routers[0].client.loadBalancer.decayTimeMs: Input should be greater than 0
    namers[0].rootDir: Field required
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PosInt = Annotated[int, Field(gt=0, strict=True)]
Port = Annotated[int, Field(ge=0, le=65535, strict=True)]
"""A port to listen on; 0 picks a free one."""

KIND_TAGS: tuple[str, ...] = ("io.l5d.", "io.roost.")
"""The prefixes of ``kind`` values. Pydantic puts the ``kind`` of a discriminated union's
branch into an error's location; it is not a key of the file, so it is left out of the path."""

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """The configuration cannot be used; the message lists every problem by key path."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def key_path(loc: tuple[int | str, ...], tags: Sequence[str] = KIND_TAGS) -> str:
    """``("routers", 0, "client", "loadBalancer", "ewma", "decayTimeMs")`` ->
    ``routers[0].client.loadBalancer.decayTimeMs`` (with ``"ewma"`` among ``tags``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part.startswith(tuple(tags)):
            continue  # pydantic's union branches and tags, not keys of the file
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def problems(exc: ValidationError, tags: Sequence[str] = KIND_TAGS) -> str:
    """One ``key.path: message`` line per error of ``exc``."""
    return "\n".join(
        f"{key_path(e['loc'], tags)}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def load_yaml(
    model: type[M], text: str, *, tags: Sequence[str] = KIND_TAGS, expected: str = "a mapping"
) -> M:
    """Parse YAML (or JSON) ``text`` and validate it as ``model``; :class:`ConfigError` when
    either fails. ``expected`` says what the top level should be (``a mapping with a 'routers'
    key``)."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the configuration must be {expected}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems(exc, tags)) from None
