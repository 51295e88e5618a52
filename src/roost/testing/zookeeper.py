"""A real ZooKeeper for tests and demos: one standalone server (``ZooKeeperServerMain``) as a
subprocess on a free loopback port, with its data in a directory of its own. It can be killed
(fault injection) and started again on the same port with the same data::

    with ZooKeeperServer(tmp_path / "zk") as zk:
        client = KazooClient(zk.hosts)
        ...
        zk.kill()       # SIGKILL: clients see the connection drop
        zk.start()      # same port, same data; sessions resume

It needs java and ZooKeeper's jars: Debian's ``zookeeper`` package (``/usr/share/java/
zookeeper.jar``, whose manifest names the jars it depends on) or an unpacked release in
``$ZOOKEEPER_HOME`` (``lib/*.jar``). The admin server and the four-letter-word commands are
off; the server writes to ``<work_dir>/zookeeper.log``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from kazoo.client import KazooClient

from roost.testing.processes import free_port

DEBIAN_JAR = Path("/usr/share/java/zookeeper.jar")
MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
JVM_FLAGS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
_probe_log = logging.getLogger(f"{__name__}.probe")
_probe_log.setLevel(logging.ERROR)  # the readiness probe's connection chatter


def zookeeper_classpath() -> str | None:
    """ZooKeeper's jars: ``$ZOOKEEPER_HOME`` (a release), Debian's, or ``None``."""
    homes = [os.environ.get("ZOOKEEPER_HOME", ""), "/usr/share/zookeeper"]
    for home in filter(None, homes):
        jars = sorted(Path(home).glob("*.jar")) + sorted(Path(home).glob("lib/*.jar"))
        if any(j.name.startswith("zookeeper-") and "jute" not in j.name for j in jars):
            return os.pathsep.join(str(j) for j in jars)
    return str(DEBIAN_JAR) if DEBIAN_JAR.exists() else None


def zookeeper_available() -> bool:
    return shutil.which("java") is not None and zookeeper_classpath() is not None


class ZooKeeperServer:
    """A standalone ZooKeeper on ``127.0.0.1:<port>`` keeping its data in ``work_dir``."""

    def __init__(self, work_dir: Path, port: int | None = None, *, tick_ms: int = 500) -> None:
        self.work_dir = work_dir
        self.port = port or free_port()
        self.tick_ms = tick_ms
        self.log = work_dir / "zookeeper.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def hosts(self) -> str:
        """The connect string, ``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _config(self) -> Path:
        data = self.work_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        cfg = self.work_dir / "zoo.cfg"
        cfg.write_text(
            f"tickTime={self.tick_ms}\n"
            f"dataDir={data}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "maxSessionTimeout=60000\n"
            "preAllocSize=1024\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=\n"
        )
        return cfg

    def start(self, wait: float = 30.0) -> ZooKeeperServer:
        """Start the server and wait until a client can connect (``RuntimeError`` if it
        exits or does not serve within ``wait`` seconds)."""
        java, classpath = shutil.which("java"), zookeeper_classpath()
        if java is None or classpath is None:
            raise RuntimeError("ZooKeeper needs java and its jars (apt-get install zookeeper)")
        if self.running:
            return self
        cfg = self._config()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [java, *JVM_FLAGS, "-Dzookeeper.forceSync=no", "-cp", classpath, MAIN, str(cfg)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_serving(wait)
        return self

    def _wait_serving(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited early:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if self._client_connects(max(0.5, deadline - time.monotonic())):
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"ZooKeeper did not serve in {wait:g} s:\n{self.log.read_text()[-3000:]}"
        )

    def _client_connects(self, timeout: float) -> bool:
        client = KazooClient(self.hosts, logger=_probe_log)
        try:
            client.start(timeout=timeout)
        except Exception:  # kazoo's timeout, or the server closing on us while it starts
            return False
        client.stop()
        client.close()
        return True

    def kill(self) -> None:
        """SIGKILL the server (no goodbye to its clients); its data stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout``)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ZooKeeperServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
