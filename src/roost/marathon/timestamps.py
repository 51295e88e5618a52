"""Marathon timestamps: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, millisecond precision.

Marathon writes every timestamp (app ``version``, ``stagedAt``, ``versionInfo``, event
``timestamp``) as ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` (``state/Timestamp.scala``). The ``marathon``
PyPI client parses them with ``marathon.util.to_datetime``, which accepts exactly two
``strptime`` formats and rejects anything else (``+00:00`` offsets, nanoseconds); :func:`parse_ts`
accepts the same two, so whatever roost reads back, the client can read too.

App versions double as version ids, so they must be unique per app: :func:`newer_version` never
hands out a timestamp that is not strictly later than the previous one, even when two updates
land in the same millisecond or the wall clock steps backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roost.core.clock import Clock

#: The formats ``marathon.util.DATETIME_FORMATS`` (client 0.13.0) accepts, in its order.
ACCEPTED_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def format_ts(epoch_seconds: float) -> str:
    """``1443542391.164`` -> ``"2015-09-29T15:59:51.164Z"``; always three millisecond digits.

    Sub-millisecond parts are dropped (Marathon's clock has millisecond resolution).
    """
    return _format_ms(_epoch_ms(epoch_seconds))


def parse_ts(text: str) -> float:
    """Epoch seconds of a timestamp in one of :data:`ACCEPTED_FORMATS` (UTC, trailing ``Z``).

    Raises :class:`ValueError` naming the bad value for anything the client would reject.
    """
    return _parse(text).timestamp()


def now_ts(clock: Clock) -> str:
    """The current wall-clock time of ``clock`` as a Marathon timestamp."""
    return format_ts(clock.time())


def newer_version(previous: str | None, clock: Clock) -> str:
    """A version timestamp for a new app version, strictly later than ``previous``.

    Normally this is simply "now"; when now is not later than ``previous`` (two updates in one
    millisecond, or a clock that stepped back) it is ``previous`` plus one millisecond, so
    versions stay distinct and increasing.
    """
    now_ms = _epoch_ms(clock.time())
    if previous is None:
        return _format_ms(now_ms)
    prev = _parse(previous)
    # Compare at full precision: a previous ".123456Z" is later than "now" at ms 123.
    if _EPOCH + now_ms * _MS > prev:
        return _format_ms(now_ms)
    return _format_ms((prev - _EPOCH) // _MS + 1)


def _epoch_ms(epoch_seconds: float) -> int:
    # Round away float noise first (1443542391.164 * 1000 is 1443542391163.9998), then truncate.
    return int(round(epoch_seconds * 1000.0, 3) // 1)


def _format_ms(ms: int) -> str:
    dt = _EPOCH + ms * _MS
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{ms % 1000:03d}Z"
    )


def _parse(text: str) -> datetime:
    if isinstance(text, str):
        for fmt in ACCEPTED_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise ValueError(
        f"Invalid timestamp {text!r}: expected UTC 'YYYY-MM-DDTHH:MM:SS.mmmZ' "
        "(or without the fraction), e.g. '2015-09-29T15:59:51.164Z'"
    )
