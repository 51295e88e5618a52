"""Exports: Finagle/Linkerd flat JSON, the JSON tree and Prometheus text."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from roost.rpc.stats import MetricsRegistry, StatsReceiver, flat_json, prometheus_text, tree_json
from roost.rpc.stats.export import prometheus_name


def sample_registry() -> MetricsRegistry:
    registry = MetricsRegistry()
    web = StatsReceiver(registry).scope("clnt", "web")
    web.counter("requests").incr(3)
    web.counter("success").incr(2)
    web.counter("failures").incr(1)
    web.counter("failures", "Rejected").incr(1)
    web.gauge("pending", lambda: 4)
    latency = web.stat("request_latency_ms")
    for v in (10, 20, 30, 40):
        latency.add(v)
    return registry


def test_flat_json_has_exactly_the_finagle_keys() -> None:
    flat = flat_json(sample_registry())
    h = "clnt/web/request_latency_ms"
    assert list(flat) == [
        "clnt/web/failures",
        "clnt/web/failures/Rejected",
        "clnt/web/pending",
        f"{h}.count",
        f"{h}.sum",
        f"{h}.avg",
        f"{h}.min",
        f"{h}.max",
        f"{h}.p50",
        f"{h}.p90",
        f"{h}.p95",
        f"{h}.p99",
        f"{h}.p9990",
        f"{h}.p9999",
        "clnt/web/requests",
        "clnt/web/success",
    ]
    assert flat["clnt/web/requests"] == 3
    assert flat["clnt/web/pending"] == 4
    assert (flat[f"{h}.count"], flat[f"{h}.sum"], flat[f"{h}.avg"]) == (4, 100, 25.0)
    assert (flat[f"{h}.min"], flat[f"{h}.max"], flat[f"{h}.p9999"]) == (10, 40, 40)
    assert abs(flat[f"{h}.p50"] - 20) <= 0.2
    json.dumps(flat)  # serializable as is


def test_the_tree_nests_by_segment_and_keeps_scope_values_under_the_empty_key() -> None:
    tree = tree_json(sample_registry())
    web = tree["clnt"]["web"]
    assert web["requests"] == 3
    assert web["success"] == 2
    assert web["pending"] == 4
    assert web["failures"] == {"": 1, "Rejected": 1}
    assert web["request_latency_ms"]["count"] == 4
    assert web["request_latency_ms"]["max"] == 40
    assert set(web) == {"requests", "success", "pending", "failures", "request_latency_ms"}
    json.dumps(tree)


def test_prometheus_text_parses_with_labels_for_the_client_label() -> None:
    text = prometheus_text(sample_registry())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {
        "clnt_requests",
        "clnt_success",
        "clnt_failures",
        "clnt_failures_Rejected",
        "clnt_pending",
        "clnt_request_latency_ms",
    }
    assert families["clnt_requests"].type == "counter"
    [requests] = families["clnt_requests"].samples
    assert (requests.name, requests.labels, requests.value) == (
        "clnt_requests_total",
        {"client": "web"},
        3,
    )
    assert families["clnt_pending"].type == "gauge"
    summary = families["clnt_request_latency_ms"]
    assert summary.type == "summary"
    quantiles = {s.labels["quantile"]: s.value for s in summary.samples if "quantile" in s.labels}
    assert list(quantiles) == ["0.5", "0.9", "0.95", "0.99", "0.999", "0.9999"]
    assert quantiles["0.9999"] == 40
    by_name = {s.name: s for s in summary.samples if "quantile" not in s.labels}
    assert by_name["clnt_request_latency_ms_count"].value == 4
    assert by_name["clnt_request_latency_ms_sum"].value == 100
    assert by_name["clnt_request_latency_ms_sum"].labels == {"client": "web"}


def test_prometheus_names_are_sanitized_and_prefixed() -> None:
    assert prometheus_name("srv/0.0.0.0:4140/failures/my.pkg.Error") == (
        "srv_failures_my_pkg_Error",
        (("server", "0.0.0.0:4140"),),
    )
    assert prometheus_name("9lives/x-y") == ("_9lives_x_y", ())
    assert prometheus_name("clnt/requests") == ("clnt_requests", ())
    assert prometheus_name("clnt/web/requests", "roost") == (
        "roost_clnt_requests",
        (("client", "web"),),
    )


def test_prometheus_label_values_are_escaped_and_families_grouped() -> None:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry)
    stats.scope("clnt", 'we"ird\\name').counter("requests").incr()
    stats.scope("clnt", "plain").counter("requests").incr(2)
    text = prometheus_text(registry)
    assert text.count("# TYPE clnt_requests_total counter") == 1
    [family] = list(text_string_to_metric_families(text))
    assert {s.labels["client"]: s.value for s in family.samples} == {
        'we"ird\\name': 1,
        "plain": 2,
    }


def test_metrics_mapping_to_one_name_with_two_types_get_a_type_suffix() -> None:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry)
    stats.scope("clnt", "a").gauge("size", lambda: 5)
    stats.scope("clnt", "b").stat("size").add(1)
    families = {f.name: f.type for f in text_string_to_metric_families(prometheus_text(registry))}
    assert families == {"clnt_size": "gauge", "clnt_size_summary": "summary"}


def test_a_failing_gauge_is_left_out_of_every_export() -> None:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry)
    stats.gauge("broken", lambda: 1 / 0)
    stats.counter("ok").incr()
    assert flat_json(registry) == {"ok": 1}
    assert tree_json(registry) == {"ok": 1}
    assert "broken" not in prometheus_text(registry)


def test_an_empty_registry_exports_empty() -> None:
    registry = MetricsRegistry()
    assert flat_json(registry) == {}
    assert tree_json(registry) == {}
    assert prometheus_text(registry) == ""
