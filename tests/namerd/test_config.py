"""namerd's configuration: Linkerd's shape with its defaults, the mesh's namer models, and
every bad key or value (or a kind roost does not serve) named by its key path."""

from __future__ import annotations

import pytest

from roost.namerd.config import (
    DEFAULT_STORE,
    ConfigError,
    HttpControllerConfig,
    InMemoryStorage,
    RoostStorage,
    load_config,
)
from roost.naming.namers.config import FsNamerConfig, ServersetsNamerConfig


def test_a_namerd_config_reads_with_namerds_defaults() -> None:
    config = load_config(
        """
admin: {port: 9991}
storage:
  kind: io.l5d.inMemory
  namespaces: {default: '/svc => /#/io.l5d.fs'}
namers:
- {kind: io.l5d.fs, rootDir: disco}
- {kind: io.l5d.serversets, zkAddrs: [{host: zk}]}
interfaces:
- kind: io.l5d.httpController
"""
    )
    assert config.admin is not None and (config.admin.ip, config.admin.port) == ("127.0.0.1", 9991)
    assert isinstance(config.storage, InMemoryStorage)
    assert config.storage.namespaces == {"default": "/svc => /#/io.l5d.fs"}
    fs, serversets = config.namers
    assert isinstance(fs, FsNamerConfig) and fs.rootDir == "disco"
    assert isinstance(serversets, ServersetsNamerConfig)
    assert serversets.zkAddrs[0].addr == "zk:2181"
    assert config.http == HttpControllerConfig(kind="io.l5d.httpController")
    assert (config.http.ip, config.http.port) == ("127.0.0.1", 4180)


def test_every_section_is_optional() -> None:
    config = load_config("namers: []\n")
    assert config.admin is None
    assert config.storage == RoostStorage(kind="io.roost.store", url=DEFAULT_STORE)
    assert config.http.port == 4180


def test_the_roost_store_takes_a_store_url() -> None:
    config = load_config("storage: {kind: io.roost.store, url: 'sqlite:////tmp/n.db'}\n")
    assert config.storage == RoostStorage(kind="io.roost.store", url="sqlite:////tmp/n.db")


BAD = [
    ("", "the configuration must be a mapping (storage, namers, interfaces)"),
    ("storage: [", "not YAML"),
    ("bogus: 1\n", "bogus: Extra inputs are not permitted"),
    ("telemetry: []\n", "telemetry: Extra inputs are not permitted"),
    ("admin: {port: 9991, bogus: 1}\n", "admin.bogus: Extra inputs are not permitted"),
    ("admin: {port: -1}\n", "admin.port: Input should be greater than or equal to 0"),
    ("admin: {port: 4180}\n", "admin and interfaces[0] both listen on 127.0.0.1:4180"),
    ("storage: {kind: io.l5d.zk, zkAddrs: [{host: zk}], pathPrefix: /dtabs}\n", "storage.kind: io.l5d.zk is not supported by roost namerd; use io.l5d.inMemory or io.roost.store"),
    ("storage: {kind: io.l5d.inMemory, url: 'memory://'}\n", "storage.url: Extra inputs are not permitted"),
    ("storage: {kind: io.l5d.inMemory, namespaces: {default: '/svc =>'}}\n", "storage.namespaces: default: simple expected"),
    ("storage: {kind: io.l5d.inMemory, namespaces: {a.b: '/a=>/b'}}\n", "storage.namespaces: a.b: invalid namespace 'a.b'"),
    ("storage: {kind: io.roost.store}\n", "storage.url: Field required"),
    ("storage: {kind: io.roost.store, url: 'ftp://x'}\n", "storage.url: expected sqlite:///path.db or memory://, got 'ftp://x'"),
    ("storage: {url: 'memory://'}\n", "storage.kind: Field required"),
    ("storage: memory\n", "storage: expected a mapping with a kind, got 'memory'"),
    ("namers:\n- kind: io.l5d.k8s\n", "namers[0]: Input tag 'io.l5d.k8s' found using 'kind' does not match"),
    ("namers:\n- kind: io.l5d.fs\n", "namers[0].rootDir: Field required"),
    ("namers:\n- {kind: io.l5d.fs, rootDir: d, bogus: 1}\n", "namers[0].bogus: Extra inputs are not permitted"),
    ("namers:\n- kind: io.l5d.dnssrv\n", "namers[0]: io.l5d.dnssrv is experimental: set experimental: true"),
    ("namers:\n- {kind: io.l5d.serversets, zkAddrs: []}\n", "namers[0].zkAddrs: List should have at least 1 item"),
    ("interfaces:\n- {kind: io.l5d.thriftNameInterpreter, port: 4100, cache: {}}\n", "interfaces[0].kind: io.l5d.thriftNameInterpreter is not supported by roost namerd; use io.l5d.httpController"),
    ("interfaces:\n- {kind: io.l5d.mesh}\n", "interfaces[0].kind: io.l5d.mesh is not supported by roost namerd"),
    ("interfaces:\n- {kind: io.l5d.httpController, port: 70000}\n", "interfaces[0].port: Input should be less than or equal to 65535"),
    ("interfaces:\n- {kind: io.l5d.httpController, port: http}\n", "interfaces[0].port: Input should be a valid integer"),
    ("interfaces:\n- {kind: io.l5d.httpController, bogus: 1}\n", "interfaces[0].bogus: Extra inputs are not permitted"),
    ("interfaces:\n- {port: 4180}\n", "interfaces[0].kind: Field required"),
    ("interfaces: []\n", "interfaces: List should have at least 1 item"),
    ("interfaces:\n- {kind: io.l5d.httpController}\n- {kind: io.l5d.httpController, port: 4181}\n", "interfaces: roost namerd serves one io.l5d.httpController, got 2"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_config_names_the_key_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert message in str(info.value), str(info.value)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("bogus: 1\nnamers: [{kind: io.l5d.fs}]\ninterfaces: [{kind: io.l5d.mesh}]\n")
    assert len(str(info.value).splitlines()) == 3
