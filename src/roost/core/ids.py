"""Identifier formats borrowed from Mesos (``Master::newFrameworkId`` and friends)."""

from __future__ import annotations

import base64
import re
import uuid

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_status_uuid() -> str:
    """16 random bytes, base64 encoded, as Mesos puts in ``TaskStatus.uuid``."""
    return base64.b64encode(uuid.uuid4().bytes).decode()


def is_safe_id(value: str) -> bool:
    """Ids that are also path components in sandboxes: no ``/``, no ``..``, printable."""
    return bool(_SAFE_ID.match(value)) and value not in (".", "..")
