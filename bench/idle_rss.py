"""Idle resident memory of ``roost up`` (master + one agent in one process), next to a bare
Python interpreter and a lone ``roost master`` measured in the same run.

    python bench/idle_rss.py --settle 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roost.testing.processes import RoostProcess, free_port, master_process


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settle", type=float, default=5.0, help="seconds to idle before reading")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roost-rss-"))
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    mport, aport = free_port(), free_port()
    up = RoostProcess(
        [
            "up",
            "--work-dir",
            str(work / "up"),
            "--master-port",
            str(mport),
            "--agent-port",
            str(aport),
        ],
        mport,
        work / "up.log",
    )
    up.start()
    master = master_process(work / "m").start()
    try:
        time.sleep(args.settle)
        assert up.proc is not None and master.proc is not None
        rows = [
            ("python -c 'sleep'", rss_mb(bare.pid)),
            ("roost master", rss_mb(master.proc.pid)),
            ("roost up (master + agent)", rss_mb(up.proc.pid)),
        ]
        print(f"machine: {os.cpu_count()} cores; idle for {args.settle:.0f} s")
        for name, mb in rows:
            print(f"  {name:28s} {mb:7.1f} MB RSS")
    finally:
        up.terminate()
        master.terminate()
        bare.kill()


if __name__ == "__main__":
    main()
