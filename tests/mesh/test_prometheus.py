"""Linkerd's Prometheus format, line for line as Linkerd's own telemeter tests expect it."""

from __future__ import annotations

import pytest

from roost.mesh.prometheus import linkerd_prometheus
from roost.rpc.stats import MetricsRegistry, StatsReceiver


def page(record: object, prefix: str = "linkerd_") -> str:
    registry = MetricsRegistry()
    record(StatsReceiver(registry))  # type: ignore[operator]
    return linkerd_prometheus(registry, prefix)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (("foo", "bar", "bas"), "linkerd_foo:bar:bas 1\n"),
        (
            ("rt", "incoming", "service", "svc/foo", "requests"),
            'linkerd_rt:service:requests{rt="incoming", service="/svc/foo"} 1\n',
        ),
        (
            ("rt", "incoming", "client", "#/bar", "requests"),
            'linkerd_rt:client:requests{rt="incoming", client="/#/bar"} 1\n',
        ),
        (
            ("rt", "incoming", "client", "#/bar", "service", "svc/foo", "requests"),
            'linkerd_rt:client:service:requests{rt="incoming", client="/#/bar", '
            'service="/svc/foo"} 1\n',
        ),
        (
            ("rt", "incoming", "server", "127.0.0.1/4141", "requests"),
            'linkerd_rt:server:requests{rt="incoming", server="127.0.0.1/4141"} 1\n',
        ),
        (
            ("rt", "incoming", "service", "svc/foo", "failures", "bar", "baz"),
            'linkerd_rt:service:failures{rt="incoming", service="/svc/foo", '
            'exception="bar:baz"} 1\n',
        ),
        (
            ("rt", "incoming", "service", 'un"esc', "requests"),
            'linkerd_rt:service:requests{rt="incoming", service="/un\\\\"esc"} 1\n'.replace(
                "\\\\", "\\"
            ),
        ),
    ],
)
def test_counters(scopes: tuple[str, ...], expected: str) -> None:
    def record(stats: StatsReceiver) -> None:
        stats.scope(*scopes[:-1]).counter(scopes[-1]).incr()

    assert page(record) == expected


def test_a_gauge_and_a_histogram() -> None:
    def record(stats: StatsReceiver) -> None:
        stats.scope("foo", "bar").gauge("g", fn=lambda: 2.0)
        histogram = stats.scope("foo", "bar").stat("bas")
        histogram.add(1.0)
        histogram.add(2.0)
        stats.scope("foo").stat("empty")  # nothing recorded: nothing printed

    lines = page(record).splitlines()
    assert lines[0] == "linkerd_foo:bar:bas_count 2"
    assert lines[1].startswith("linkerd_foo:bar:bas_sum 3")
    assert lines[2] == "linkerd_foo:bar:bas_avg 1.5"
    assert lines[3] == 'linkerd_foo:bar:bas{quantile="0"} 1.0'
    assert lines[10] == 'linkerd_foo:bar:bas{quantile="1"} 2.0'
    assert [line.split("{")[1].split("}")[0] for line in lines[3:11]] == [
        f'quantile="{q}"' for q in ("0", "0.5", "0.9", "0.95", "0.99", "0.999", "0.9999", "1")
    ]
    assert lines[11] == "linkerd_foo:bar:g 2.0"
    assert len(lines) == 12
