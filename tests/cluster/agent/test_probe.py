"""Resource detection, the --resources override and the --attributes flag syntax."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import psutil
import pytest

from roost.cluster.agent.probe import build_resources, detect_resources, parse_attributes
from roost.core.ranges import Ranges

MB = 1024 * 1024
GB = 1024 * MB


def fake_nvidia_smi(tmp_path: Path, body: str) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_detect_resources_reserves_memory_and_disk_like_mesos(tmp_path: Path) -> None:
    res = detect_resources(tmp_path, nvidia_smi=str(tmp_path / "missing"))
    total = psutil.virtual_memory().total
    disk = shutil.disk_usage(tmp_path).total
    assert res.scalar("cpus") == len(os.sched_getaffinity(0))
    assert res.scalar("mem") == (total - min(GB, total // 2)) // MB
    assert res.scalar("disk") == (disk - min(5 * GB, disk // 2)) // MB
    assert res.ranges("ports") == Ranges([(31000, 32000)])
    assert res.scalar("gpus") == 0


def test_detect_resources_counts_gpus_listed_by_nvidia_smi(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(tmp_path, 'echo "0"; echo "1"')
    assert detect_resources(tmp_path, nvidia_smi=smi).scalar("gpus") == 2


@pytest.mark.parametrize("body", ["exit 9", "echo 'NVIDIA-SMI has failed'", "echo 0; echo garbage"])
def test_detect_resources_reports_no_gpus_when_nvidia_smi_fails(tmp_path: Path, body: str) -> None:
    smi = fake_nvidia_smi(tmp_path, body)
    assert detect_resources(tmp_path, nvidia_smi=smi).scalar("gpus") == 0


def test_detect_resources_works_before_the_work_dir_exists(tmp_path: Path) -> None:
    res = detect_resources(tmp_path / "not" / "yet", nvidia_smi=str(tmp_path / "missing"))
    assert res.scalar("disk") > 0


def test_build_resources_replaces_only_the_names_given(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(tmp_path, "echo 0; echo 1")
    detected = detect_resources(tmp_path, nvidia_smi=smi)
    res = build_resources(tmp_path, "cpus:2;mem:1024;ports:[31000-31100]", nvidia_smi=smi)
    assert res.scalar("cpus") == 2
    assert res.scalar("mem") == 1024
    assert res.ranges("ports") == Ranges([(31000, 31100)])
    assert res.scalar("disk") == detected.scalar("disk")
    assert res.scalar("gpus") == 2


def test_build_resources_zero_hides_a_detected_resource(tmp_path: Path) -> None:
    smi = fake_nvidia_smi(tmp_path, "echo 0; echo 1")
    res = build_resources(tmp_path, "gpus:0;disk(*):100", nvidia_smi=smi)
    assert res.get("gpus") is None
    assert res.scalar("disk") == 100


@pytest.mark.parametrize("override", [None, "", "  "])
def test_build_resources_without_override_is_detection(
    override: str | None, tmp_path: Path
) -> None:
    smi = str(tmp_path / "missing")
    assert build_resources(tmp_path, override, nvidia_smi=smi) == detect_resources(
        tmp_path, nvidia_smi=smi
    )


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("cpus", "expected 'name:value'"),
        ("cpus:lots", "not a number"),
        ("mem:-5", "negative"),
        ("ports:[5-1]", "ends before it begins"),
        ("cpus(web):2", "reserved resources"),
    ],
)
def test_build_resources_rejects_bad_flags_naming_the_token(
    flag: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError) as err:
        build_resources(tmp_path, flag, nvidia_smi=str(tmp_path / "missing"))
    assert f"'{flag}'" in str(err.value)
    assert message in str(err.value)


ATTRIBUTE_CASES: list[tuple[str, list[dict[str, Any]]]] = [
    ("", []),
    ("rack:r1", [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]),
    (
        "rack:r1;zone:us-east-1a",
        [
            {"name": "rack", "type": "TEXT", "text": {"value": "r1"}},
            {"name": "zone", "type": "TEXT", "text": {"value": "us-east-1a"}},
        ],
    ),
    ("level:2", [{"name": "level", "type": "SCALAR", "scalar": {"value": 2.0}}]),
    ("ratio:0.25", [{"name": "ratio", "type": "SCALAR", "scalar": {"value": 0.25}}]),
    (
        "ports:[1-5,10-20]",
        [
            {
                "name": "ports",
                "type": "RANGES",
                "ranges": {"range": [{"begin": 1, "end": 5}, {"begin": 10, "end": 20}]},
            }
        ],
    ),
    ("disks:{ssd,nvme}", [{"name": "disks", "type": "SET", "set": {"item": ["ssd", "nvme"]}}]),
    (" os : linux ; ", [{"name": "os", "type": "TEXT", "text": {"value": "linux"}}]),
    ("url:host:80", [{"name": "url", "type": "TEXT", "text": {"value": "host:80"}}]),
]


@pytest.mark.parametrize(("text", "expected"), ATTRIBUTE_CASES)
def test_parse_attributes_follows_the_mesos_flag_syntax(
    text: str, expected: list[dict[str, Any]]
) -> None:
    assert parse_attributes(text) == expected


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("rack", "rack"),
        ("rack:", "rack:"),
        (":r1", ":r1"),
        ("rack:r1;zone", "zone"),
        ("ports:[1-5", "ports:[1-5"),
        ("ports:[5-1]", "ports:[5-1]"),
        ("ports:[a-b]", "ports:[a-b]"),
        ("set:{a,b", "set:{a,b"),
        ("bad name:x", "bad name:x"),
        ("os:linux 6", "os:linux 6"),
    ],
)
def test_parse_attributes_rejects_bad_tokens_by_name(text: str, token: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_attributes(text)
    assert f"'{token}'" in str(err.value)
