"""An offer as placement sees it: host, attributes as strings, fault domain, resource entries.

Built once per offer from the Mesos v1 JSON (``Offer`` in ``mesos/v1/mesos.proto``). Attribute
values are formatted the way Marathon compares them in constraints (``Constraints.scala``
``getValueString``): text as is, scalars with at most three decimals (``3`` for 3.0, ``2.5``),
ranges ``[1-2,4-5]`` sorted by begin, sets ``{a,b}`` sorted. Unlike Java's ``NumberFormat``,
roost does not group thousands (``1000``, not ``1,000``).

Malformed pieces of an offer (an attribute without a value, a resource of unknown type) are
left out rather than failing the whole offer: the master is trusted to send well-formed offers,
and one odd entry should not make every app unplaceable.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.core.ranges import Ranges
from roost.core.resources import SCALE, ResourceError, Resources, Value

#: Keys of a Mesos ``Resource`` that carry its value; the rest (role, allocation_info,
#: reservations, disk, ...) is copied unchanged into the resources a task is launched with.
_VALUE_KEYS = frozenset({"name", "type", "scalar", "ranges", "set"})
UNRESERVED = "*"


@dataclass(frozen=True)
class OfferedResource:
    """One entry of an offer's ``resources``: its value and whose it is.

    ``role`` is ``"*"`` for unreserved resources, else the role of the innermost reservation.
    ``fields`` are the entry's other keys, kept so a task's resources say exactly what they
    were taken from (Mesos refuses a launch whose resources differ in role or allocation).
    """

    name: str
    value: Value
    role: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, value: Value | None = None) -> dict[str, Any]:
        """This entry as Mesos ``Resource`` JSON, holding ``value`` (default: all of it)."""
        out: dict[str, Any] = {"name": self.name}
        out.update(value_json(self.value if value is None else value))
        out.update(copy.deepcopy(dict(self.fields)))
        return out


def value_json(value: Value) -> dict[str, Any]:
    """The ``type`` and value keys of a Mesos ``Resource`` for one value."""
    if isinstance(value, int):
        return {"type": "SCALAR", "scalar": {"value": value / SCALE}}
    if isinstance(value, Ranges):
        return {"type": "RANGES", "ranges": value.to_json()}
    return {"type": "SET", "set": {"item": sorted(value)}}


def read_field(
    name: str, hostname: str, attributes: Mapping[str, str], region: str | None, zone: str | None
) -> str | None:
    """The value of a constraint field (``Constraints.readerForField``); None when absent."""
    if name in ("hostname", "@hostname"):
        return hostname
    if name == "@region":
        return region
    if name == "@zone":
        return zone
    return attributes.get(name)


@dataclass(frozen=True)
class Peer:
    """An active (non-terminal) instance of the same app, placed or running.

    ``region`` and ``zone`` (the agent's fault domain) are optional extras for ``@region`` /
    ``@zone`` constraints; :meth:`OfferView.as_peer` fills them in.
    """

    hostname: str
    attributes: Mapping[str, str]
    region: str | None = None
    zone: str | None = None

    def field(self, name: str) -> str | None:
        return read_field(name, self.hostname, self.attributes, self.region, self.zone)


@dataclass(frozen=True)
class OfferView:
    """What placement needs from one offer; ``available`` sums every entry, whatever its role."""

    offer_id: str
    agent_id: str
    hostname: str
    attributes: Mapping[str, str]
    region: str | None
    zone: str | None
    allocation_role: str | None
    resources: tuple[OfferedResource, ...]
    available: Resources

    def field(self, name: str) -> str | None:
        return read_field(name, self.hostname, self.attributes, self.region, self.zone)

    def as_peer(self) -> Peer:
        """The peer an instance placed on this offer becomes."""
        return Peer(self.hostname, self.attributes, self.region, self.zone)


def offer_view(offer: Mapping[str, Any]) -> OfferView:
    """Read a Mesos v1 ``Offer`` JSON object."""
    entries: list[OfferedResource] = []
    kinds: dict[str, type] = {}
    total = Resources()
    for item in _list(offer.get("resources")):
        entry = _resource(item)
        if entry is None:
            continue
        kind = type(entry.value)
        if kinds.setdefault(entry.name, kind) is not kind:
            continue  # one name has one type; an entry contradicting an earlier one is dropped
        entries.append(entry)
        total = total + Resources({entry.name: entry.value})
    attributes: dict[str, str] = {}
    for item in _list(offer.get("attributes")):
        parsed = _attribute(item)
        if parsed is not None:
            attributes.setdefault(parsed[0], parsed[1])
    domain = _get(offer, "domain", "fault_domain")
    allocation = _get(offer, "allocation_info").get("role")
    return OfferView(
        offer_id=_ref(offer.get("id")),
        agent_id=_ref(offer.get("agent_id", offer.get("slave_id"))),
        hostname=str(offer.get("hostname", "")),
        attributes=attributes,
        region=_str_or_none(_get(domain, "region").get("name")),
        zone=_str_or_none(_get(domain, "zone").get("name")),
        allocation_role=_str_or_none(allocation),
        resources=tuple(entries),
        available=total,
    )


def format_scalar(value: float) -> str:
    """A scalar as Mesos keeps it, three decimals at most: ``3``, ``2.5``, ``0.333``."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _resource(item: object) -> OfferedResource | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        return None
    disk = item.get("disk")
    if isinstance(disk, Mapping) and ("persistence" in disk or "volume" in disk):
        return None  # persistent volumes belong to resident apps, as upstream's ResourceSelector
    try:
        value = Resources.from_json([{k: v for k, v in item.items() if k in _VALUE_KEYS}]).get(
            item["name"]
        )
    except ResourceError:
        return None
    if value is None:
        return None  # zero or empty
    fields = {k: v for k, v in item.items() if k not in _VALUE_KEYS}
    return OfferedResource(item["name"], value, _role(item), fields)


def _role(item: Mapping[str, Any]) -> str:
    reservations = item.get("reservations")
    if isinstance(reservations, list) and reservations and isinstance(reservations[-1], Mapping):
        role = reservations[-1].get("role")
        if isinstance(role, str):
            return role
    role = item.get("role")
    return role if isinstance(role, str) and role else UNRESERVED


def _attribute(item: object) -> tuple[str, str] | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        return None
    name: str = item["name"]
    kind = item.get("type")
    if kind == "TEXT":
        text = _get(item, "text").get("value")
        return (name, text) if isinstance(text, str) else None
    if kind == "SCALAR":
        number = _get(item, "scalar").get("value")
        if isinstance(number, bool) or not isinstance(number, int | float):
            return None
        return name, format_scalar(float(number))
    if kind == "RANGES":
        spans = _get(item, "ranges").get("range")
        pairs = [(r.get("begin"), r.get("end")) for r in _list(spans) if isinstance(r, Mapping)]
        if not all(isinstance(b, int) and isinstance(e, int) for b, e in pairs):
            return None
        return name, "[" + ",".join(f"{b}-{e}" for b, e in sorted(pairs)) + "]"
    if kind == "SET":
        items = _get(item, "set").get("item")
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            return None
        return name, "{" + ",".join(sorted(items)) + "}"
    return None


def _get(obj: object, *path: str) -> Mapping[str, Any]:
    """``obj[path[0]][path[1]]...`` as a mapping, ``{}`` wherever something is missing."""
    cur: object = obj
    for key in path:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return cur if isinstance(cur, Mapping) else {}


def _list(obj: object) -> list[Any]:
    return obj if isinstance(obj, list) else []


def _ref(obj: object) -> str:
    value = obj.get("value") if isinstance(obj, Mapping) else obj
    return value if isinstance(value, str) else ""


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
