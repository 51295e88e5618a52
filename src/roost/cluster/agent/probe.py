"""What an agent offers: detected resources, the ``--resources`` override and ``--attributes``.

Detection mirrors Mesos ``Containerizer::resources`` (``src/slave/containerizer/
containerizer.cpp``): all CPUs the process may run on, total memory minus
``min(1 GB, half)`` for the system, the work directory's disk minus ``min(5 GB, half)``,
GPUs as listed by ``nvidia-smi`` and ports ``[31000-32000]``. Names given in the
``--resources`` flag replace the detected ones (``gpus:0`` hides detected GPUs).

Attributes use the Mesos flag syntax (``Attributes::parse``, ``docs/attributes-resources.md``):
``rack:r1;level:2;ports:[1-5];set:{a,b}``; a value is RANGES when it starts with ``[``,
SET with ``{``, SCALAR when it is a number and TEXT otherwise.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil

from roost.core.ranges import Ranges
from roost.core.resources import Resources, Value, to_millis

log = logging.getLogger(__name__)

MB = 1024 * 1024
GB = 1024 * MB
DEFAULT_PORTS = Ranges([(31000, 32000)])
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$")
_ATTR_TEXT = re.compile(r"^[A-Za-z0-9_/.\-:]{1,1024}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_RANGE = re.compile(r"^\s*(\d{1,10})\s*-\s*(\d{1,10})\s*$")


def detect_resources(work_dir: Path, *, nvidia_smi: str = "nvidia-smi") -> Resources:
    """The machine's resources, less what Mesos reserves for the system."""
    cpus = _cpu_count()
    mem = psutil.virtual_memory().total
    mem -= min(GB, mem // 2)
    disk = shutil.disk_usage(_existing(work_dir)).total
    disk -= min(5 * GB, disk // 2)
    values: dict[str, Value] = {
        "cpus": to_millis(cpus, "cpus"),
        "mem": to_millis(mem // MB, "mem"),
        "disk": to_millis(disk // MB, "disk"),
        "gpus": to_millis(count_gpus(nvidia_smi), "gpus"),
        "ports": DEFAULT_PORTS,
    }
    return Resources(values)


def build_resources(
    work_dir: Path, override: str | None, *, nvidia_smi: str = "nvidia-smi"
) -> Resources:
    """Detected resources with every name present in ``override`` replaced by its value.

    Raises :class:`roost.core.resources.ResourceError` (a ``ValueError``) for a bad flag.
    """
    detected = detect_resources(work_dir, nvidia_smi=nvidia_smi)
    if not override or not override.strip():
        return detected
    given = Resources.parse(override)
    named = {_flag_name(tok) for tok in override.split(";") if tok.strip()}
    return detected.only(n for n in detected.names() if n not in named) + given


def count_gpus(nvidia_smi: str = "nvidia-smi") -> int:
    """GPUs listed by ``nvidia-smi --query-gpu=index``; 0 (logged at debug) when unavailable."""
    binary = shutil.which(nvidia_smi)
    if binary is None:
        log.debug("no GPUs: %r not found", nvidia_smi)
        return 0
    cmd = [binary, "--query-gpu=index", "--format=csv,noheader"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("no GPUs: %s failed: %s", binary, e)
        return 0
    indices = [line.strip() for line in out.splitlines() if line.strip()]
    if not all(i.isdigit() for i in indices):
        log.debug("no GPUs: unexpected nvidia-smi output %r", out[:200])
        return 0
    return len(indices)


def parse_attributes(text: str) -> list[dict[str, Any]]:
    """Parse ``--attributes`` into Mesos ``Attribute`` JSON; bad tokens raise ``ValueError``."""
    out: list[dict[str, Any]] = []
    for token in text.split(";"):
        tok = token.strip()
        if not tok:
            continue
        name, sep, raw = (part.strip() for part in tok.partition(":"))
        if not sep or not raw:
            raise ValueError(f"bad attribute '{tok}': expected 'name:value'")
        if not _ATTR_NAME.match(name):
            raise ValueError(f"bad attribute '{tok}': invalid name '{name}'")
        out.append({"name": name, **_attribute_value(raw, tok)})
    return out


def _attribute_value(raw: str, tok: str) -> dict[str, Any]:
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise ValueError(f"bad attribute '{tok}': ranges must look like [1-10,20-30]")
        spans = []
        for part in filter(str.strip, raw[1:-1].split(",")):
            m = _RANGE.match(part)
            if not m or int(m.group(1)) > int(m.group(2)):
                raise ValueError(f"bad attribute '{tok}': bad range '{part.strip()}'")
            spans.append({"begin": int(m.group(1)), "end": int(m.group(2))})
        return {"type": "RANGES", "ranges": {"range": spans}}
    if raw.startswith("{"):
        if not raw.endswith("}"):
            raise ValueError(f"bad attribute '{tok}': sets must look like {{a,b}}")
        items = [x.strip() for x in raw[1:-1].split(",") if x.strip()]
        return {"type": "SET", "set": {"item": items}}
    if _NUMBER.match(raw):
        return {"type": "SCALAR", "scalar": {"value": float(raw)}}
    if not _ATTR_TEXT.match(raw):
        raise ValueError(f"bad attribute '{tok}': text may contain only [a-zA-Z0-9_/.-:]")
    return {"type": "TEXT", "text": {"value": raw}}


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _existing(path: Path) -> Path:
    """The nearest existing ancestor: the work directory may not be created yet."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _flag_name(token: str) -> str:
    name = token.partition(":")[0].strip()
    return name[:-3] if name.endswith("(*)") else name
