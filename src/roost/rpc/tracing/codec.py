"""Trace context on HTTP headers: Linkerd's ``l5d-ctx-trace`` / ``l5d-reqid`` / ``l5d-sample``
and Zipkin's B3 (multi-header ``X-B3-*`` and single ``b3``).

``l5d-ctx-trace`` is standard base64 of Finagle's ``TraceId.serialize``: big-endian 64-bit
``span_id``, ``parent_id``, ``trace_id``, ``flags`` (32 bytes), then ``trace_id_high`` when the
trace id is 128-bit (40 bytes). Flag bits: 0 debug, 1 sampling known, 2 sampled.

B3 multi: ``X-B3-TraceId`` (16 or 32 lower hex), ``X-B3-SpanId`` (16 hex),
``X-B3-ParentSpanId`` (absent for a root), ``X-B3-Sampled`` (``1``/``0``; ``true``/``false``
accepted), ``X-B3-Flags: 1`` (debug, which implies sampled; ``Sampled`` is then not sent).
B3 single: ``b3: {trace}-{span}[-{1|0|d}[-{parent}]]``. A ``b3`` header carrying only a
sampling state (``b3: 0``) has no ids and is ignored by :func:`extract`.

``l5d-sample`` is a sample rate in ``[0, 1]`` (clamped) that overrides the tracer's for the
request (:func:`sample_rate`). Malformed values of any header are ignored (``None``).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from roost.rpc.context import TraceId
from roost.rpc.http.message import Headers
from roost.rpc.tracing.ids import (
    DEBUG,
    MASK64,
    SAMPLED,
    SAMPLING_BITS,
    SAMPLING_KNOWN,
    hex64,
    is_debug,
    is_root,
    trace_hex,
)

CTX_TRACE = "l5d-ctx-trace"
REQUEST_ID = "l5d-reqid"
SAMPLE = "l5d-sample"
B3_TRACE_ID = "X-B3-TraceId"
B3_SPAN_ID = "X-B3-SpanId"
B3_PARENT_ID = "X-B3-ParentSpanId"
B3_SAMPLED = "X-B3-Sampled"
B3_FLAGS = "X-B3-Flags"
B3_SINGLE = "b3"

_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_HEX_TRACE = re.compile(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}")


def serialize(trace: TraceId) -> bytes:
    """Finagle's binary TraceId: 32 bytes, or 40 with ``trace_id_high``."""
    flags = trace.flags & ~SAMPLING_BITS
    if trace.sampled is True:
        flags |= SAMPLING_KNOWN | SAMPLED
    elif trace.sampled is False:
        flags |= SAMPLING_KNOWN
    parent = trace.parent_id or trace.span_id
    trace_id = trace.trace_id or parent
    out = struct.pack(
        ">QQQQ", trace.span_id & MASK64, parent & MASK64, trace_id & MASK64, flags & MASK64
    )
    if trace.trace_id_high:
        out += struct.pack(">Q", trace.trace_id_high & MASK64)
    return out


def deserialize(data: bytes) -> TraceId:
    """The inverse of :func:`serialize`; ``ValueError`` unless 32 or 40 bytes."""
    if len(data) not in (32, 40):
        raise ValueError(f"a serialized TraceId is 32 or 40 bytes, not {len(data)}")
    span, parent, trace_id, flags = struct.unpack_from(">QQQQ", data)
    high = struct.unpack_from(">Q", data, 32)[0] if len(data) == 40 else 0
    sampled = bool(flags & SAMPLED) if flags & SAMPLING_KNOWN else None
    return TraceId(trace_id, span, parent, sampled, flags & ~SAMPLING_BITS, high)


def to_ctx_header(trace: TraceId) -> str:
    return base64.b64encode(serialize(trace)).decode("ascii")


def from_ctx_header(value: str) -> TraceId | None:
    try:
        return deserialize(base64.b64decode(value.strip(), validate=True))
    except (ValueError, binascii.Error):
        return None


def _parse_trace_id(value: str) -> tuple[int, int] | None:
    """``(high, low)`` from 16 or 32 hex digits; ``None`` if malformed or all zero."""
    if not _HEX_TRACE.fullmatch(value):
        return None
    n = int(value, 16)
    return (n >> 64, n & MASK64) if n else None


def _parse_span_id(value: str | None) -> int | None:
    if value is None or not _HEX16.fullmatch(value):
        return None
    return int(value, 16) or None


def _parse_sampled(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    return True if v in ("1", "true") else False if v in ("0", "false") else None


def from_b3(headers: Headers) -> TraceId | None:
    """The ``X-B3-*`` headers as a TraceId (``None`` without valid trace and span ids)."""
    ids = _parse_trace_id((headers.get(B3_TRACE_ID) or "").strip())
    span = _parse_span_id((headers.get(B3_SPAN_ID) or "").strip())
    if ids is None or span is None:
        return None
    parent = _parse_span_id((headers.get(B3_PARENT_ID) or "").strip()) or span
    debug = (headers.get(B3_FLAGS) or "").strip() == "1"
    sampled = True if debug else _parse_sampled(headers.get(B3_SAMPLED))
    return TraceId(ids[1], span, parent, sampled, DEBUG if debug else 0, ids[0])


def from_b3_single(value: str) -> TraceId | None:
    """``b3: {trace}-{span}[-{sampled}[-{parent}]]``."""
    parts = value.strip().split("-")
    if len(parts) < 2 or len(parts) > 4:
        return None
    ids = _parse_trace_id(parts[0])
    span = _parse_span_id(parts[1])
    if ids is None or span is None:
        return None
    state = parts[2].lower() if len(parts) > 2 else ""
    if state not in ("", "0", "1", "d"):
        return None
    parent = span
    if len(parts) == 4:
        p = _parse_span_id(parts[3])
        if p is None:
            return None
        parent = p
    sampled = None if state == "" else state != "0"
    return TraceId(ids[1], span, parent, sampled, DEBUG if state == "d" else 0, ids[0])


def to_b3_single(trace: TraceId) -> str:
    """The single ``b3`` form; the parent id is written only after a sampling state (the
    format has no place for it otherwise)."""
    out = f"{trace_hex(trace)}-{hex64(trace.span_id)}"
    state = "d" if is_debug(trace) else {True: "1", False: "0", None: ""}[trace.sampled]
    if state:
        out += f"-{state}"
        if not is_root(trace):
            out += f"-{hex64(trace.parent_id)}"
    return out


def write_b3(headers: Headers, trace: TraceId) -> None:
    headers.set(B3_TRACE_ID, trace_hex(trace))
    headers.set(B3_SPAN_ID, hex64(trace.span_id))
    if is_root(trace):
        headers.remove(B3_PARENT_ID)
    else:
        headers.set(B3_PARENT_ID, hex64(trace.parent_id))
    headers.remove(B3_SAMPLED)
    headers.remove(B3_FLAGS)
    if is_debug(trace):
        headers.set(B3_FLAGS, "1")
    elif trace.sampled is not None:
        headers.set(B3_SAMPLED, "1" if trace.sampled else "0")


_WRITTEN = frozenset(
    n.lower()
    for n in (
        CTX_TRACE,
        REQUEST_ID,
        B3_TRACE_ID,
        B3_SPAN_ID,
        B3_PARENT_ID,
        B3_SAMPLED,
        B3_FLAGS,
        B3_SINGLE,
    )
)


def inject(headers: Headers, trace: TraceId, *, b3: bool = True, b3_single: bool = False) -> None:
    """Write ``trace`` for the next hop: ``l5d-ctx-trace``, ``l5d-reqid`` (the trace id's low
    64 bits in hex, as Linkerd) and, unless ``b3=False``, the ``X-B3-*`` headers. A stale
    single ``b3`` header is removed, or replaced when ``b3_single``. Every trace header is
    rewritten in one pass over the headers (this runs on every request)."""
    out = trace_headers(trace, b3=b3, b3_single=b3_single)
    if b3:
        headers.replace_all(_WRITTEN, out)
    else:  # B3 headers from elsewhere are left alone when we do not write them
        headers.replace_all(frozenset((CTX_TRACE, REQUEST_ID, B3_SINGLE)), out)


def trace_headers(
    trace: TraceId, *, b3: bool = True, b3_single: bool = False
) -> list[tuple[str, str]]:
    """The headers :func:`inject` writes for ``trace``."""
    out = [(CTX_TRACE, to_ctx_header(trace)), (REQUEST_ID, hex64(trace.trace_id))]
    if b3:
        out.append((B3_TRACE_ID, trace_hex(trace)))
        out.append((B3_SPAN_ID, hex64(trace.span_id)))
        if not is_root(trace):
            out.append((B3_PARENT_ID, hex64(trace.parent_id)))
        if is_debug(trace):
            out.append((B3_FLAGS, "1"))
        elif trace.sampled is not None:
            out.append((B3_SAMPLED, "1" if trace.sampled else "0"))
    if b3_single:
        out.append((B3_SINGLE, to_b3_single(trace)))
    return out


def trace_block(trace: TraceId, *, b3: bool = True, b3_single: bool = False) -> bytes:
    """What :func:`trace_headers` writes, as header lines (``name: value\\r\\n``), formatted
    in one go for the common span (a child with a sampling decision, not debug)."""
    sampled = trace.sampled
    if b3_single or sampled is None or trace.flags & DEBUG or trace.parent_id in (0, trace.span_id):
        out = trace_headers(trace, b3=b3, b3_single=b3_single)
        return "".join([f"{k}: {v}\r\n" for k, v in out]).encode("latin-1")
    return child_block(
        trace.trace_id,
        trace.span_id,
        trace.parent_id,
        sampled,
        trace.trace_id_high,
        b3=b3,
        flags=trace.flags,
    )


def child_block(
    trace_id: int,
    span_id: int,
    parent_id: int,
    sampled: bool,
    high: int = 0,
    *,
    b3: bool = True,
    flags: int = 0,
) -> bytes:
    """:func:`trace_block` of ``TraceId(trace_id, span_id, parent_id, sampled, flags, high)``
    for a child span (``parent_id`` neither 0 nor ``span_id``; no debug flag, no single
    ``b3``), without making the ``TraceId``: the mesh's fast lane writes it on every
    request."""
    flags = (flags & ~SAMPLING_BITS) | (SAMPLING_KNOWN | SAMPLED if sampled else SAMPLING_KNOWN)
    packed = _QUAD.pack(span_id & MASK64, parent_id & MASK64, trace_id & MASK64, flags & MASK64)
    digits = binascii.b2a_hex(packed)  # the ids in hex, as B3 and l5d-reqid write them
    tid = digits[32:48]
    if high:
        extra = _ONE.pack(high & MASK64)
        ctx = binascii.b2a_base64(packed + extra, newline=False)
        trace_text = binascii.b2a_hex(extra) + tid
    else:
        ctx = binascii.b2a_base64(packed, newline=False)
        trace_text = tid
    if not b3:
        return b"".join((b"l5d-ctx-trace: ", ctx, b"\r\nl5d-reqid: ", tid, b"\r\n"))
    return b"".join(  # (a join: a third cheaper than a six-field % format)
        (
            b"l5d-ctx-trace: ",
            ctx,
            b"\r\nl5d-reqid: ",
            tid,
            b"\r\nX-B3-TraceId: ",
            trace_text,
            b"\r\nX-B3-SpanId: ",
            digits[:16],
            b"\r\nX-B3-ParentSpanId: ",
            digits[16:32],
            b"\r\nX-B3-Sampled: 1\r\n" if sampled else b"\r\nX-B3-Sampled: 0\r\n",
        )
    )


_QUAD = struct.Struct(">QQQQ")
_ONE = struct.Struct(">Q")


def extract(headers: Headers) -> TraceId | None:
    """The caller's trace: ``l5d-ctx-trace`` first, then ``b3``, then ``X-B3-*``."""
    value = headers.get(CTX_TRACE)
    if value is not None:
        trace = from_ctx_header(value)
        if trace is not None:
            return trace
    value = headers.get(B3_SINGLE)
    if value is not None:
        trace = from_b3_single(value)
        if trace is not None:
            return trace
    return from_b3(headers)


def sample_rate(headers: Headers) -> float | None:
    """``l5d-sample`` clamped to ``[0, 1]``; ``None`` when absent or not a number."""
    value = headers.get(SAMPLE)
    if value is None:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    if rate != rate:  # NaN
        return None
    return min(1.0, max(0.0, rate))
