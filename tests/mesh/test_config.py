"""roost mesh configuration: Linkerd 1's YAML with its defaults, and every bad key or value
stopping with a message that names its key path (table-driven)."""

from __future__ import annotations

import pytest

from roost.mesh.config import (
    ConfigError,
    PrometheusConfig,
    ServersetsNamerConfig,
    ZipkinConfig,
    load_config,
    settings_for,
)
from roost.mesh.config_parts import ApertureLB, ConsecutiveFailures, Ewma, PathId
from roost.naming import Path

GOB = """
admin:
  port: 9990
namers:
- kind: io.l5d.fs
  rootDir: examples/gob/disco
routers:
- protocol: http
  label: gob
  dtab: |
    /svc => /#/io.l5d.fs ;
    /svc/gen => 9 * /#/io.l5d.fs/gen & 1 * /#/io.l5d.fs/gen-v2 ;
  servers:
  - port: 4140
    ip: 0.0.0.0
    maxConcurrentRequests: 1000
  identifier:
    kind: io.l5d.path
    segments: 1
    consume: true
  client:
    loadBalancer:
      kind: ewma
    failureAccrual:
      kind: io.l5d.consecutiveFailures
      failures: 3
      backoff: {kind: jittered, minMs: 5000, maxMs: 300000}
    requestAttemptTimeoutMs: 1000
  service:
    totalTimeoutMs: 3000
    retries:
      budget: {percentCanRetry: 0.2, minRetriesPerSec: 10, ttlSecs: 10}
      backoff: {kind: jittered, minMs: 10, maxMs: 100}
    responseClassifier:
      kind: io.l5d.http.retryableRead5XX
telemetry:
- kind: io.l5d.prometheus
"""


def test_the_gob_config_reads_with_linkerd_defaults_filled_in() -> None:
    config = load_config(GOB)
    router = config.routers[0]
    assert router.name == "gob" and router.dstPrefix == "/svc"
    assert router.servers[0].port == 4140 and router.servers[0].maxConcurrentRequests == 1000
    identifier = router.identifier[0]
    assert isinstance(identifier, PathId) and identifier.consume
    lb = router.client.loadBalancer  # type: ignore[union-attr]
    assert isinstance(lb, Ewma) and lb.decayTimeMs == 10_000 and lb.maxEffort == 5
    accrual = router.client.failureAccrual  # type: ignore[union-attr]
    assert isinstance(accrual, ConsecutiveFailures) and accrual.failures == 3
    assert router.bindingCache.clients == 1000 and router.bindingTimeoutMs == 10_000
    assert config.admin.port == 9990 and config.namers[0].kind == "io.l5d.fs"


def test_a_minimal_router_gets_every_default() -> None:
    config = load_config("routers:\n- protocol: http\n")
    router = config.routers[0]
    assert router.name == "http" and router.servers[0].ip == "127.0.0.1"
    assert router.servers[0].port == 4140
    assert router.identifier[0].kind == "io.l5d.header.token"
    assert router.interpreter.kind == "default" and router.client.kind == "io.l5d.global"
    assert config.admin.ip == "127.0.0.1" and config.admin.port == 9990


def test_the_serversets_namer_needs_only_its_zookeeper_addresses() -> None:
    config = load_config(
        "routers:\n- protocol: http\nnamers:\n"
        "- kind: io.l5d.serversets\n  zkAddrs: [{host: 127.0.0.1, port: 2182}, {host: zk-b}]\n"
    )
    namer = config.namers[0]
    assert isinstance(namer, ServersetsNamerConfig) and namer.prefix is None
    assert [a.addr for a in namer.zkAddrs] == ["127.0.0.1:2182", "zk-b:2181"]  # Linkerd's default


def test_aperture_has_linkerds_defaults() -> None:
    config = load_config("routers:\n- protocol: http\n  client: {loadBalancer: {kind: aperture}}\n")
    lb = config.routers[0].client.loadBalancer  # type: ignore[union-attr]
    assert isinstance(lb, ApertureLB)
    assert (lb.smoothWindowMs, lb.lowLoad, lb.highLoad, lb.minAperture) == (5000, 0.5, 2.0, 1)


def test_telemetry_reads_with_linkerds_defaults() -> None:
    config = load_config(
        "routers:\n- protocol: http\ntelemetry:\n"
        "- {kind: io.l5d.prometheus}\n- {kind: io.l5d.prometheus, path: /p, prefix: l5d_}\n"
        "- {kind: io.l5d.zipkin, host: '::1'}\n"
    )
    default, custom, zipkin = config.telemetry
    assert isinstance(default, PrometheusConfig) and isinstance(custom, PrometheusConfig)
    assert (default.path, default.prefix) == ("/admin/metrics/prometheus", "")
    assert (custom.path, custom.prefix) == ("/p", "l5d_")
    assert isinstance(zipkin, ZipkinConfig) and zipkin.sampleRate == 0.001
    assert zipkin.url == "http://[::1]:9411/api/v2/spans"


BAD = [
    ("", "the configuration must be a mapping"),
    ("routers: [", "not YAML"),
    ("- a\n- b\n", "the configuration must be a mapping"),
    ("admin: {port: 9990}\n", "routers: Field required"),
    ("routers: []\n", "routers: List should have at least 1 item"),
    ("routers:\n- protocol: h2\n", "routers[0].protocol: Input should be 'http'"),
    ("routers:\n- protocol: http\n  bogus: 1\n", "routers[0].bogus: Extra inputs are not permitted"),
    ("routers:\n- protocol: http\n  dtab: '/svc =>'\n", "routers[0].dtab: not a dtab: simple expected"),
    ("routers:\n- protocol: http\n  dstPrefix: svc\n", "routers[0].dstPrefix: not a path"),
    ("routers:\n- protocol: http\n  servers: [{port: 70000}]\n", "routers[0].servers[0].port: Input should be less than or equal to 65535"),
    ("routers:\n- protocol: http\n  servers: [{port: '4140'}]\n", "routers[0].servers[0].port: Input should be a valid integer"),
    ("routers:\n- protocol: http\n  servers: [{maxConcurrentRequests: 0}]\n", "routers[0].servers[0].maxConcurrentRequests: Input should be greater than 0"),
    ("routers:\n- protocol: http\n  servers: [{maxCallDepth: 0}]\n", "routers[0].servers[0].maxCallDepth: Input should be greater than 0"),
    ("routers:\n- protocol: http\n  servers: [{maxCallDepth: many}]\n", "routers[0].servers[0].maxCallDepth: Input should be a valid integer"),
    ("routers:\n- protocol: http\n  servers: []\n", "routers[0].servers: List should have at least 1 item"),
    ("routers:\n- protocol: http\n  identifier: {kind: io.l5d.nope}\n", "routers[0].identifier[0]: Input tag 'io.l5d.nope' found using 'kind' does not match"),
    ("routers:\n- protocol: http\n  identifier: {kind: io.l5d.path, segments: 0}\n", "routers[0].identifier[0].segments: Input should be greater than 0"),
    ("routers:\n- protocol: http\n  identifier: {kind: io.l5d.static}\n", "routers[0].identifier[0].path: Field required"),
    ("routers:\n- protocol: http\n  client: {loadBalancer: {kind: ewma, decayTimeMs: -1}}\n", "routers[0].client.loadBalancer.decayTimeMs: Input should be greater than 0"),
    ("routers:\n- protocol: http\n  client: {loadBalancer: {kind: p2c, decayTimeMs: 5}}\n", "routers[0].client.loadBalancer.decayTimeMs: Extra inputs are not permitted"),
    ("routers:\n- protocol: http\n  client: {loadBalancer: {kind: aperture, lowLoad: 3}}\n", "routers[0].client.loadBalancer: lowLoad (3.0) must be below highLoad (2.0)"),
    ("routers:\n- protocol: http\n  client: {failureAccrual: {kind: io.l5d.successRate, successRate: 1.5, requests: 10}}\n", "routers[0].client.failureAccrual.successRate: Input should be less than or equal to 1"),
    ("routers:\n- protocol: http\n  client: {failureAccrual: {kind: io.l5d.consecutiveFailures, backoff: {kind: jittered, minMs: 9, maxMs: 1}}}\n", "routers[0].client.failureAccrual.backoff: minMs (9) must not exceed maxMs (1)"),
    ("routers:\n- protocol: http\n  client: {requeueBudget: {ttlSecs: 61}}\n", "routers[0].client.requeueBudget.ttlSecs: Input should be less than or equal to 60"),
    ("routers:\n- protocol: http\n  client: {kind: io.l5d.static}\n", "routers[0].client.configs: Field required"),
    ("routers:\n- protocol: http\n  service: {responseClassifier: {kind: io.l5d.http.sometimes}}\n", "routers[0].service.responseClassifier.kind: Input should be"),
    ("routers:\n- protocol: http\n  service: {totalTimeoutMs: 0}\n", "routers[0].service.totalTimeoutMs: Input should be greater than 0"),
    ("routers:\n- protocol: http\n  interpreter: {kind: io.l5d.namerd.http}\n", "routers[0].interpreter.dst: Field required"),
    ("routers:\n- protocol: http\n- protocol: http\n", "router labels must be unique"),
    ("routers:\n- {protocol: http, label: a}\n- {protocol: http, label: b}\n", "two servers listen on the same ip and port"),
    ("routers:\n- protocol: http\nnamers:\n- kind: io.l5d.k8s\n", "namers[0]: Input tag 'io.l5d.k8s' found using 'kind' does not match"),
    ("routers:\n- protocol: http\nnamers:\n- kind: io.l5d.fs\n", "namers[0].rootDir: Field required"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.fs, rootDir: d, transformers: [{kind: io.l5d.localhost}]}\n", "namers[0].transformers: transformers are not supported by roost"),
    ("routers:\n- protocol: http\n  interpreter: {kind: default, transformers: []}\n", "routers[0].interpreter.transformers: transformers are not supported by roost"),
    ("routers:\n- protocol: http\n  interpreter: {kind: io.l5d.namerd.http, dst: /$/inet/h/1, retry: {baseSeconds: 9, maxSeconds: 1}}\n", "routers[0].interpreter.retry: baseSeconds (9) must not exceed maxSeconds (1)"),
    ("routers:\n- protocol: http\n  client: {kind: io.l5d.static, configs: [{prefix: 'not-a-path'}]}\n", "routers[0].client.configs[0].prefix: not a prefix"),
    ("routers:\n- protocol: http\n  service: {kind: io.l5d.static, configs: [{prefix: '/svc/{a'}]}\n", "routers[0].service.configs[0].prefix: not a prefix"),
    ("routers:\n- protocol: http\nnamers:\n- kind: io.l5d.dnssrv\n", "namers[0]: io.l5d.dnssrv is experimental: set experimental: true"),
    ("routers:\n- protocol: http\nnamers:\n- kind: io.l5d.serversets\n", "namers[0].zkAddrs: Field required"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.serversets, zkAddrs: []}\n", "namers[0].zkAddrs: List should have at least 1 item"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.serversets, zkAddrs: [{port: 2181}]}\n", "namers[0].zkAddrs[0].host: Field required"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.serversets, zkAddrs: [{host: zk, port: 0}]}\n", "namers[0].zkAddrs[0].port: Input should be greater than or equal to 1"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.serversets, zkAddrs: [{host: zk, port: 70000}]}\n", "namers[0].zkAddrs[0].port: Input should be less than or equal to 65535"),
    ("routers:\n- protocol: http\nnamers:\n- {kind: io.l5d.serversets, zkAddrs: [{host: zk}], zkPath: /x}\n", "namers[0].zkPath: Extra inputs are not permitted"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, sampleRate: 2}\n", "telemetry[0].sampleRate: Input should be less than or equal to 1"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, sampleRate: -0.1}\n", "telemetry[0].sampleRate: Input should be greater than or equal to 0"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, sampleRate: often}\n", "telemetry[0].sampleRate: Input should be a valid number"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, port: 0}\n", "telemetry[0].port: Input should be greater than or equal to 1"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, port: 70000}\n", "telemetry[0].port: Input should be less than or equal to 65535"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, port: '9411'}\n", "telemetry[0].port: Input should be a valid integer"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, host: ''}\n", "telemetry[0].host: String should have at least 1 character"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin, sampelRate: 1}\n", "telemetry[0].sampelRate: Extra inputs are not permitted"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.zipkin}\n- {kind: io.l5d.prometheus}\n- {kind: io.l5d.zipkin, port: 9412}\n", "telemetry: only one io.l5d.zipkin telemeter is supported, got telemetry[0], telemetry[2]"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus, path: metrics}\n", "telemetry[0].path: must start with '/', got 'metrics'"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus, path: /admin/ping}\n", "telemetry[0].path: /admin/ping is an admin page of its own"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus, prefix: 9lives}\n", "telemetry[0].prefix: not the start of a Prometheus metric name: '9lives'"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus, prefix: a-b}\n", "telemetry[0].prefix: not the start of a Prometheus metric name"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus, port: 9990}\n", "telemetry[0].port: Extra inputs are not permitted"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.prometheus}\n- {kind: io.l5d.prometheus, prefix: x_}\n", "telemetry: two io.l5d.prometheus telemeters serve /admin/metrics/prometheus"),
    ("routers:\n- protocol: http\ntelemetry:\n- {kind: io.l5d.statsd}\n", "telemetry[0]: Input tag 'io.l5d.statsd' found using 'kind' does not match"),
    ("routers:\n- protocol: http\nadmin: {port: -1}\n", "admin.port: Input should be greater than or equal to 0"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_config_names_the_key_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert message in str(info.value), str(info.value)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("routers:\n- protocol: http\n  bogus: 1\n  servers: [{port: -5}]\n")
    lines = str(info.value).splitlines()
    assert len(lines) == 2


def test_static_configs_apply_by_prefix_and_later_ones_override() -> None:
    config = load_config(
        """
routers:
- protocol: http
  client:
    kind: io.l5d.static
    configs:
    - prefix: /#/io.l5d.fs
      requestAttemptTimeoutMs: 100
      loadBalancer: {kind: roundRobin}
    - prefix: /#/io.l5d.fs/web
      requestAttemptTimeoutMs: 500
  service:
    kind: io.l5d.static
    configs:
    - {prefix: /svc, totalTimeoutMs: 1000}
    - {prefix: /svc/slow, totalTimeoutMs: 9000}
"""
    )
    router = config.routers[0]
    web = settings_for(router.client, Path.read("/#/io.l5d.fs/web"))
    assert web["requestAttemptTimeoutMs"] == 500 and web["loadBalancer"].kind == "roundRobin"
    api = settings_for(router.client, Path.read("/#/io.l5d.fs/api"))
    assert api["requestAttemptTimeoutMs"] == 100
    assert settings_for(router.client, Path.read("/$/inet/127.0.0.1/80")) == {}
    assert settings_for(router.service, Path.read("/svc/slow/x"))["totalTimeoutMs"] == 9000
    assert settings_for(router.service, Path.read("/svc/fast"))["totalTimeoutMs"] == 1000


def test_static_prefixes_take_capture_variables_and_wildcards() -> None:
    config = load_config(
        """
routers:
- protocol: http
  client:
    kind: io.l5d.static
    configs:
    - {prefix: "/#/io.l5d.fs/{service}", requestAttemptTimeoutMs: 200}
    - {prefix: "/$/inet/*/8080", requestAttemptTimeoutMs: 300}
namers:
- {kind: io.l5d.fs, rootDir: disco, experimental: true}
- {kind: io.l5d.dnssrv, experimental: true, domain: example.org}
"""
    )
    client = config.routers[0].client
    assert settings_for(client, Path.read("/#/io.l5d.fs/web"))["requestAttemptTimeoutMs"] == 200
    assert settings_for(client, Path.read("/#/io.l5d.fs")) == {}  # a capture is one segment
    assert (
        settings_for(client, Path.read("/$/inet/10.0.0.1/8080"))["requestAttemptTimeoutMs"] == 300
    )
    assert config.namers[1].domain == "example.org"  # type: ignore[union-attr]
