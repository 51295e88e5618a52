"""Node rules every backend shares: key syntax, value size and versions.

Versions follow ZooKeeper's ``Stat.version``: a node is created at version 0 and
each update adds one; deleting and re-creating starts again at 0. A write may
carry an expected version (compare-and-set): ``-1`` means "must not exist",
``n >= 0`` means "must exist at version n".
"""

from __future__ import annotations

from roost.coord.errors import (
    BadVersionError,
    InvalidKeyError,
    NodeExistsError,
    NoNodeError,
    ValueTooLargeError,
)

MAX_KEY_CHARS = 1024
MAX_VALUE_BYTES = 1024 * 1024
"""1 MiB, ZooKeeper's default ``jute.maxbuffer`` order of magnitude."""

CREATE_ONLY = -1
"""``expected_version`` meaning "the node must not exist yet"."""


def check_prefix(prefix: str) -> str:
    """Validate a prefix for ``list``/``watch``: any valid key, or the root ``/``."""
    if prefix == "/":
        return prefix
    return check_key(prefix)


def check_key(key: str) -> str:
    """Validate a node key and return it; raise :class:`InvalidKeyError` saying what is wrong."""
    if not isinstance(key, str):
        raise InvalidKeyError(f"key must be a str, got {type(key).__name__}")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidKeyError(f"key is {len(key)} characters, the limit is {MAX_KEY_CHARS}")
    if not key.startswith("/"):
        raise InvalidKeyError(f"key {key!r} must be absolute (start with '/')", key=key)
    if key == "/":
        raise InvalidKeyError("the root '/' is a prefix, not a node", key=key)
    if key.endswith("/"):
        raise InvalidKeyError(f"key {key!r} must not end with '/'", key=key)
    for segment in key[1:].split("/"):
        if not segment:
            raise InvalidKeyError(f"key {key!r} has an empty segment ('//')", key=key)
        if segment in (".", ".."):
            raise InvalidKeyError(f"key {key!r} has a relative segment {segment!r}", key=key)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidKeyError(f"key {key!r} contains a control character", key=key)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKeyError(f"key {key!r} is not valid Unicode text", key=key) from None
    return key


def check_value(key: str, value: bytes) -> bytes:
    """Values are bytes of at most :data:`MAX_VALUE_BYTES`."""
    if not isinstance(value, bytes):
        raise TypeError(f"value for {key} must be bytes, got {type(value).__name__}")
    if len(value) > MAX_VALUE_BYTES:
        raise ValueTooLargeError(
            f"value for {key} is {len(value)} bytes, the limit is {MAX_VALUE_BYTES}", key=key
        )
    return value


def check_segment(name: str, what: str) -> str:
    """A single path segment such as an election name."""
    if not isinstance(name, str) or "/" in name:
        raise InvalidKeyError(f"{what} {name!r} must be a single path segment without '/'")
    check_key("/" + name)
    return name


def next_version(key: str, current: int | None, expected: int | None) -> int:
    """Version a ``put`` writes given the ``current`` version (``None``: absent); CAS checks."""
    if expected is not None and expected < CREATE_ONLY:
        raise ValueError(f"expected_version must be None, -1 or >= 0, got {expected}")
    if current is None:
        if expected is not None and expected != CREATE_ONLY:
            raise NoNodeError(f"no node at {key} (expected version {expected})", key=key)
        return 0
    if expected == CREATE_ONLY:
        raise NodeExistsError(f"node {key} already exists at version {current}", key=key)
    if expected is not None and expected != current:
        raise BadVersionError(key, expected, current)
    return current + 1


def check_delete(key: str, current: int | None, expected: int | None) -> int:
    """Check a ``delete`` against the ``current`` version and return it."""
    if expected is not None and expected < 0:
        raise ValueError(f"delete takes expected_version None or >= 0, got {expected}")
    if current is None:
        raise NoNodeError(f"no node at {key}", key=key)
    if expected is not None and expected != current:
        raise BadVersionError(key, expected, current)
    return current


def is_under(key: str, prefix: str) -> bool:
    """True when ``key`` is ``prefix`` itself or lies below it."""
    return prefix == "/" or key == prefix or key.startswith(prefix + "/")


def key_range(prefix: str) -> tuple[str, str]:
    """Half-open ``[low, high)`` range of keys strictly below ``prefix`` in code-point order."""
    low = "/" if prefix == "/" else prefix + "/"
    return low, low[:-1] + "0"  # '0' is the character right after '/'


def child_names(prefix: str, keys: list[str]) -> list[str]:
    """Sorted direct children of ``prefix`` implied by its descendant ``keys``."""
    low, _ = key_range(prefix)
    return sorted({k[len(low) :].split("/", 1)[0] for k in keys if k.startswith(low)})
