"""What the real-mesh tests share: start a Mesh from YAML, read its metrics."""

from __future__ import annotations

import json
import socket
from pathlib import Path as FilePath

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.rpc.http import Request, request
from roost.rpc.stats import MetricsRegistry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_mesh(tmp: FilePath, yaml: str) -> Mesh:
    m = Mesh(load_config(yaml), base_dir=tmp, registry=MetricsRegistry())
    await m.start()
    return m


async def metrics(m: Mesh) -> dict[str, float]:
    assert m.admin is not None
    body = (await request(m.admin.address, Request("GET", "/admin/metrics.json"))).body
    return dict(json.loads(body))
