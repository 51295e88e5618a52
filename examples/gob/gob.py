"""The gob demo from the talk that introduced linkerd, on roost: three services behind
``roost mesh`` with their dtab in ``roost namerd``.

* ``word`` answers a word; ``gen`` repeats a text ``size`` times (``gen-v2`` does it in
  capitals: the canary); ``web`` answers ``GET /gob?text=&size=``, asking ``word`` for a
  text when it has none, then ``gen`` — both through the mesh, by ``Host``.
* every service finds the others through the mesh; the mesh finds the services through an
  ``io.l5d.fs`` directory and takes its dtab from namerd's ``default`` namespace.

    python examples/gob/gob.py           # everything in one process; Ctrl-C stops

Then, from another shell (the ports are printed)::

    curl -H 'Host: web' 'http://127.0.0.1:4140/gob?size=3'
    roost dtab put default --namerd http://127.0.0.1:4180 <<< \\
        '/svc => /#/io.l5d.fs; /svc/gen => 9 * /#/io.l5d.fs/gen & 1 * /#/io.l5d.fs/gen-v2'
    curl -H 'Host: web' -H 'l5d-dtab: /svc/gen => /#/io.l5d.fs/gen-v2' \\
        'http://127.0.0.1:4140/gob?text=hi&size=2'
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.namerd.server import NamerdServer
from roost.naming import Dtab
from roost.rpc.http import Headers, HttpClient, Request, Response, Server, client, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry

WORDS = ["banana", "gopher", "linker", "roost", "finagle", "dtab"]
V1_DTAB = "/svc => /#/io.l5d.fs"


def _query(req: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(req.target.partition("?")[2]).items()}


def _text(body: str, status: int = 200) -> Response:
    return Response(status, Headers([("Content-Type", "text/plain")]), body.encode())


def word_service(rng: random.Random) -> FnService[Request, Response]:
    async def word(req: Request) -> Response:
        return _text(rng.choice(WORDS))

    return FnService(word)


def gen_service(version: str) -> FnService[Request, Response]:
    async def gen(req: Request) -> Response:
        q = _query(req)
        size = max(0, min(100, int(q.get("size", "1")) if q.get("size", "1").isdigit() else 1))
        text = q.get("text", "")
        out = " ".join([text.upper() if version == "v2" else text] * size)
        return Response(200, Headers([("x-gen-version", version)]), out.encode())

    return FnService(gen)


def web_service(mesh: HttpClient) -> FnService[Request, Response]:
    async def web(req: Request) -> Response:
        q = _query(req)
        text = q.get("text")
        if not text:
            word = await mesh(Request("GET", "/", Headers([("Host", "word")])))
            text = word.body.decode() if isinstance(word.body, bytes) else "gob"
        query = urlencode({"text": text, "size": q.get("size", "1")})
        gen = await mesh(Request("GET", f"/?{query}", Headers([("Host", "gen")])))
        body = gen.body if isinstance(gen.body, bytes) else b""
        headers = Headers([("x-gen-version", gen.headers.get("x-gen-version", "?"))])
        return Response(gen.status, headers, body)

    return FnService(web)


@dataclass
class Gob:
    """Everything of the demo, started in this process."""

    work_dir: Path
    mesh_port: int = 0
    namerd_port: int = 0
    admin_port: int = 0
    namerd: NamerdServer | None = None
    mesh: Mesh | None = None
    services: dict[str, Server] = field(default_factory=dict)
    mesh_client: HttpClient | None = None

    async def start(self) -> None:
        disco = self.work_dir / "disco"
        disco.mkdir(parents=True, exist_ok=True)
        self.namerd = NamerdServer("memory://", port=self.namerd_port)
        await self.namerd.start()
        await self.namerd.dtabs.put("default", Dtab.read(V1_DTAB))
        config = load_config(
            f"""
admin: {{port: {self.admin_port}}}
namers:
- {{kind: io.l5d.fs, rootDir: disco}}
routers:
- protocol: http
  label: gob
  servers: [{{port: {self.mesh_port}}}]
  interpreter:
    kind: io.l5d.namerd.http
    dst: /$/inet/127.0.0.1/{self.namerd.port}
    namespace: default
"""
        )
        self.mesh = Mesh(config, base_dir=self.work_dir, registry=MetricsRegistry())
        await self.mesh.start()
        await asyncio.wait_for(self.mesh.watchers[0].first.wait(), 5)
        self.mesh_client = client(self.mesh.servers[0].address, label="gob-services")
        services = {
            "word": word_service(random.Random(7)),
            "gen": gen_service("v1"),
            "gen-v2": gen_service("v2"),
            "web": web_service(self.mesh_client),
        }
        for name, service in services.items():
            server = await serve("127.0.0.1:0", service, label=name)
            self.services[name] = server
            host, port = server.address.rsplit(":", 1)
            (disco / name).write_text(f"{host} {port}\n")

    @property
    def url(self) -> str:
        assert self.mesh is not None
        return f"http://{self.mesh.servers[0].address}"

    async def stop(self) -> None:
        for server in self.services.values():
            await server.close(grace=0.5)
        if self.mesh_client is not None:
            await self.mesh_client.close()
        if self.mesh is not None:
            await self.mesh.stop()
        if self.namerd is not None:
            await self.namerd.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        gob = Gob(Path(tmp), mesh_port=4140, namerd_port=4180, admin_port=9990)
        await gob.start()
        namerd = gob.namerd.url if gob.namerd else ""
        print(f"mesh on {gob.url} (admin http://127.0.0.1:9990), namerd on {namerd}")
        print(f"try: curl -H 'Host: web' '{gob.url}/gob?size=3'")
        try:
            await asyncio.Event().wait()
        finally:
            await gob.stop()


if __name__ == "__main__":
    asyncio.run(main())
