"""Trace and span ids (Finagle ``TraceId``, Zipkin/B3 ids).

A :class:`~roost.rpc.context.TraceId` holds 64-bit unsigned ints: ``trace_id`` (shared by
every span of a request tree; ``trace_id_high`` holds the upper half of a 128-bit id),
``span_id`` (this unit of work) and ``parent_id`` (the span that caused it). As in Finagle, a
root span has ``parent_id == span_id == trace_id``; ``parent_id == 0`` is read as root too.

``flags`` keeps Finagle's flag bits other than the sampling ones: bit 0 is :data:`DEBUG`
(force sampling), bits 43-62 are free for custom tracers. The sampling decision lives in
``sampled`` (``None`` = not decided yet); the codec turns it into the ``SAMPLING_KNOWN`` and
``SAMPLED`` bits on the wire.
"""

from __future__ import annotations

import random

from roost.rpc.context import TraceId

DEBUG = 1 << 0
SAMPLING_KNOWN = 1 << 1
SAMPLED = 1 << 2
SAMPLING_BITS = SAMPLING_KNOWN | SAMPLED
MASK64 = (1 << 64) - 1


def new_id(rng: random.Random) -> int:
    """A random non-zero 64-bit id."""
    return rng.getrandbits(64) or 1


def root(
    rng: random.Random,
    *,
    sampled: bool | None = None,
    flags: int = 0,
    trace_id_128: bool = False,
) -> TraceId:
    """A new trace: ``trace_id == parent_id == span_id``."""
    span = new_id(rng)
    high = new_id(rng) if trace_id_128 else 0
    return TraceId(span, span, span, sampled, flags, high)


def child(parent: TraceId, rng: random.Random) -> TraceId:
    """The next span under ``parent``: same trace, a fresh span id, ``parent_id`` = its span."""
    return TraceId(
        parent.trace_id,
        new_id(rng),
        parent.span_id,
        parent.sampled,
        parent.flags,
        parent.trace_id_high,
    )


def is_root(trace: TraceId) -> bool:
    return trace.parent_id in (0, trace.span_id)


def is_debug(trace: TraceId) -> bool:
    return bool(trace.flags & DEBUG)


def is_sampled(trace: TraceId) -> bool:
    """Whether spans of this trace are recorded: debug, or sampled."""
    return bool(trace.sampled) or is_debug(trace)


def hex64(value: int) -> str:
    return f"{value & MASK64:016x}"


def trace_hex(trace: TraceId) -> str:
    """16 lower-hex digits, or 32 for a 128-bit trace id."""
    if trace.trace_id_high:
        return f"{trace.trace_id_high & MASK64:016x}{trace.trace_id & MASK64:016x}"
    return hex64(trace.trace_id)


def sample_decision(trace_id: int, rate: float) -> bool:
    """Sample ``rate`` of traces, decided by the trace id so every hop using the same rate
    agrees: the low 63 bits as a fraction of ``2**63`` below ``rate``."""
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    return (trace_id & ((1 << 63) - 1)) < rate * float(1 << 63)
