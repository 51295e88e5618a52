"""The ``namers:`` section shared by ``roost mesh`` and ``roost namerd``: each configured namer
mounted at ``/#/<prefix>``, and only the configured namers' modules imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path as FilePath

from pydantic import TypeAdapter

from roost.naming import Dtab, Path, bind
from roost.naming.namers.config import NamerConfig, build_namers

NAMERS = TypeAdapter(list[NamerConfig])


async def test_namers_are_mounted_at_their_kind_or_prefix(tmp_path: FilePath) -> None:
    (tmp_path / "disco").mkdir()
    (tmp_path / "disco" / "web").write_text("127.0.0.1 8081\n")
    configs = NAMERS.validate_python(
        [
            {"kind": "io.l5d.fs", "rootDir": "disco"},
            {"kind": "io.l5d.fs", "rootDir": "disco", "prefix": "/#/local/fs"},
        ]
    )
    mounts, owned = build_namers(configs, tmp_path)
    try:
        assert [p.show for p, _ in mounts] == ["/#/io.l5d.fs", "/#/local/fs"]
        for path in ("/#/io.l5d.fs/web", "/#/local/fs/web"):
            tree = await bind(Dtab(), Path.read(path), namers=mounts)
            assert [n.id.show for n in tree.leaves()] == [path]
    finally:
        for namer in owned:
            await namer.aclose()


def test_only_the_configured_namers_modules_are_imported(tmp_path: FilePath) -> None:
    script = f"""
import sys
from pathlib import Path
from pydantic import TypeAdapter
from roost.naming.namers.config import NamerConfig, build_namers
configs = TypeAdapter(list[NamerConfig]).validate_python([{{"kind": "io.l5d.fs", "rootDir": "d"}}])
build_namers(configs, Path({str(tmp_path)!r}))
print(sorted(m for m in sys.modules if m.startswith(("roost.naming.namers.", "kazoo", "dnslib"))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['roost.naming.namers.config', 'roost.naming.namers.fs']"
