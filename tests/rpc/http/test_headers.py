"""Headers against a plain list model: whatever the sequence of changes, ``get`` (served from
an index) answers what a scan of the list would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roost.rpc.http.message import Headers

NAMES = st.sampled_from(["Host", "host", "HOST", "X-A", "x-a", "l5d-dst-service", "Via"])
VALUES = st.sampled_from(["1", "2", "three", ""])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), NAMES, VALUES),
        st.tuples(st.just("set"), NAMES, VALUES),
        st.tuples(st.just("remove"), NAMES, st.just("")),
        st.tuples(st.just("replace"), NAMES, VALUES),
        st.tuples(st.just("get"), NAMES, st.just("")),
    ),
    max_size=30,
)


def _model_get(items: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in items if k.lower() == name.lower()), None)


def _apply(model: list[tuple[str, str]], op: str, name: str, value: str) -> list[tuple[str, str]]:
    low = name.lower()
    if op == "add":
        return [*model, (name, value)]
    if op == "set":
        found = [i for i, (k, _) in enumerate(model) if k.lower() == low]
        if len(found) == 1:
            return [(name, value) if i == found[0] else kv for i, kv in enumerate(model)]
        return [kv for kv in model if kv[0].lower() != low] + [(name, value)]
    if op == "remove":
        return [kv for kv in model if kv[0].lower() != low]
    if op == "replace":
        return [kv for kv in model if kv[0].lower() != low] + [(name, value)]
    return model


@given(st.lists(st.tuples(NAMES, VALUES), max_size=5), OPS, st.booleans())
def test_get_always_agrees_with_a_scan(
    start: list[tuple[str, str]], ops: list[tuple[str, str, str]], parsed: bool
) -> None:
    raw = [(k.encode(), v.encode()) for k, v in start]
    headers = Headers.parsed(raw) if parsed else Headers(start)
    model = list(start)
    for op, name, value in ops:
        if op == "add":
            headers.add(name, value)
        elif op == "set":
            headers.set(name, value)
        elif op == "remove":
            headers.remove(name)
        elif op == "replace":
            headers.replace_all(frozenset({name.lower()}), [(name, value)])
        model = _apply(model, op, name, value)
        for probe in ("host", "X-A", "l5d-dst-service", "via", "absent"):
            assert headers.get(probe) == _model_get(model, probe), (op, name, probe)
            assert (probe in headers) == (_model_get(model, probe) is not None)
    assert headers.items() == model
