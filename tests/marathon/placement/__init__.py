"""Builders shared by the placement tests: Mesos v1 offers (JSON) and apps from Marathon JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roost.marathon.appdef import AppDefinition, parse_app


def app(**body: Any) -> AppDefinition:
    """An app parsed from a Marathon JSON body (camelCase keys), as the API would store it."""
    return parse_app({"id": "/app", "cmd": "sleep 100", **body})


def resource(
    name: str,
    value: float | Sequence[tuple[int, int]] | set[str],
    *,
    role: str = "*",
    allocation: str | None = "*",
    reserved_for: str | None = None,
) -> dict[str, Any]:
    """One Mesos ``Resource``; ``reserved_for`` makes it a (static) reservation."""
    item: dict[str, Any] = {"name": name}
    if isinstance(value, int | float):
        item.update(type="SCALAR", scalar={"value": value})
    elif isinstance(value, set):
        item.update(type="SET", set={"item": sorted(value)})
    else:
        item.update(type="RANGES", ranges={"range": [{"begin": b, "end": e} for b, e in value]})
    item["role"] = reserved_for or role
    if reserved_for:
        item["reservations"] = [{"type": "STATIC", "role": reserved_for}]
    if allocation is not None:
        item["allocation_info"] = {"role": allocation}
    return item


def attribute(name: str, value: Any) -> dict[str, Any]:
    """A Mesos ``Attribute``: str is TEXT, a number SCALAR, a list of pairs RANGES, a set SET."""
    if isinstance(value, str):
        return {"name": name, "type": "TEXT", "text": {"value": value}}
    if isinstance(value, int | float):
        return {"name": name, "type": "SCALAR", "scalar": {"value": value}}
    if isinstance(value, set):
        return {"name": name, "type": "SET", "set": {"item": list(value)}}
    spans = [{"begin": b, "end": e} for b, e in value]
    return {"name": name, "type": "RANGES", "ranges": {"range": spans}}


def offer(
    hostname: str = "h1",
    *,
    cpus: float = 4,
    mem: float = 4096,
    disk: float = 10000,
    gpus: float = 0,
    ports: Sequence[tuple[int, int]] = ((31000, 32000),),
    attributes: Mapping[str, Any] | None = None,
    allocation: str = "*",
    extra: Iterable[dict[str, Any]] = (),
    region: str | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """An offer shaped like the master's ``offer_json`` (unreserved resources of role ``*``)."""
    resources = [
        resource(name, amount, allocation=allocation)
        for name, amount in (("cpus", cpus), ("mem", mem), ("disk", disk), ("gpus", gpus))
        if amount
    ]
    if ports:
        resources.append(resource("ports", ports, allocation=allocation))
    resources.extend(extra)
    out: dict[str, Any] = {
        "id": {"value": f"offer-{hostname}"},
        "framework_id": {"value": "marathon"},
        "agent_id": {"value": f"agent-{hostname}"},
        "hostname": hostname,
        "resources": resources,
        "attributes": [attribute(k, v) for k, v in (attributes or {}).items()],
        "allocation_info": {"role": allocation},
    }
    if region is not None:
        domain: dict[str, Any] = {"region": {"name": region}}
        if zone is not None:
            domain["zone"] = {"name": zone}
        out["domain"] = {"fault_domain": domain}
    return out


def scalar_total(resources: Iterable[Mapping[str, Any]], name: str) -> float:
    """The sum of scalar ``name`` over Mesos ``Resource`` JSON items."""
    return sum(r["scalar"]["value"] for r in resources if r["name"] == name)


def ports_of(resources: Iterable[Mapping[str, Any]]) -> list[int]:
    """Every port in the ``ports`` ranges of Mesos ``Resource`` JSON items, in order."""
    return [
        p
        for r in resources
        if r["name"] == "ports"
        for span in r["ranges"]["range"]
        for p in range(span["begin"], span["end"] + 1)
    ]
