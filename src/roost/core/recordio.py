"""RecordIO framing as used by the Mesos v1 streaming APIs: ``<decimal length>\\n<bytes>``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_RECORD = 64 * 1024 * 1024


class RecordIOError(ValueError):
    pass


def encode(record: bytes) -> bytes:
    if not record:
        raise RecordIOError("RecordIO records are never empty")
    return b"%d\n%s" % (len(record), record)


def encode_json(obj: Any) -> bytes:
    return encode(json.dumps(obj, separators=(",", ":")).encode())


class Decoder:
    """Incremental decoder: feed it chunks in any split, get whole records back."""

    def __init__(self, max_record: int = MAX_RECORD) -> None:
        self._buf = bytearray()
        self._max = max_record

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > 20:
                    raise RecordIOError("RecordIO length prefix too long")
                return
            head = bytes(self._buf[:nl])
            if not head.isdigit():
                raise RecordIOError(f"bad RecordIO length prefix {head[:20]!r}")
            size = int(head)
            if size == 0 or size > self._max:
                raise RecordIOError(f"bad RecordIO record length {size}")
            if len(self._buf) < nl + 1 + size:
                return
            record = bytes(self._buf[nl + 1 : nl + 1 + size])
            del self._buf[: nl + 1 + size]
            yield record
