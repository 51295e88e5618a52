"""Normalization of a type-checked app body into canonical form (upstream ``AppNormalization``).

Works on the cleaned camelCase dict from :mod:`.shape` and returns one ready for
:class:`~roost.marathon.appdef.model.AppDefinition`. What changes (reference §2.1, §9.1):

- ``id`` becomes absolute against the base group; ``dependencies`` against the app's parent;
- ``ports: [p...]`` becomes ``portDefinitions: [{"port": p, "protocol": "tcp"}...]``; with no
  port fields at all a host-networking app gets the model default (one port named
  ``default``), other networking none; ``portDefinitions: []`` means no ports;
- ``uris`` become ``fetch`` entries (archives are extracted, like upstream ``isExtract``);
- constraint operators are upper-cased; empty ``args`` are dropped;
- health checks: HTTP-like ones get ``path`` "/"; a check that needs a port and names none
  gets ``portIndex`` 0 when the app has ports (COMMAND checks need none);
- the pre-1.5 container shape is migrated (:mod:`.container`); networks default their
  ``mode`` to ``container`` and an empty list means the default (host networking).

Combinations that cannot be normalized are reported here: ``ports`` with different
``portDefinitions``, ``uris`` with ``fetch``, duplicate non-zero ``ports``.
"""

from __future__ import annotations

from typing import Any

from roost.marathon import pathid
from roost.marathon.appdef.container import migrate_container, port_mappings
from roost.marathon.appdef.errors import Issues, at

ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip")
HTTP_PROTOCOLS = ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS")


def is_host_networking(networks: list[dict[str, Any]] | None) -> bool:
    """No networks (the default) or a ``host`` one."""
    return not networks or any(n.get("mode") == "host" for n in networks)


def normalize(app: dict[str, Any], base: str, issues: Issues, path: str) -> dict[str, Any]:
    """The canonical form of a cleaned body; ``app`` itself is left alone."""
    out = {k: v for k, v in app.items() if k not in ("ports", "uris")}
    if "container" in out:
        out["container"] = _copy(out["container"])
    out["id"] = pathid.absolute(app["id"], base)
    migrate_container(out, issues, path)
    if out.get("networks"):
        # a network without a mode is a container network (``types/network.raml``)
        out["networks"] = [{"mode": "container", **n} for n in out["networks"]]
    else:
        out.pop("networks", None)
    _ports(app, out, issues, path)
    _fetch(app, out, issues, path)
    if not out.get("args"):
        out.pop("args", None)
    out["constraints"] = [
        [c[0], c[1].upper(), *c[2:]] if len(c) >= 2 else c for c in app.get("constraints", [])
    ]
    group = pathid.parent(out["id"])
    out["dependencies"] = [pathid.absolute(d, group) for d in app.get("dependencies", [])]
    # absent portDefinitions here means the model's default port
    has_ports = bool(port_mappings(out.get("container")) or out.get("portDefinitions", True))
    out["healthChecks"] = [_health_check(hc, has_ports) for hc in app.get("healthChecks", [])]
    return out


def _ports(app: dict[str, Any], out: dict[str, Any], issues: Issues, path: str) -> None:
    ports = app.get("ports")
    definitions = app.get("portDefinitions")
    if ports is not None:
        fixed = [p for p in ports if p != 0]
        if len(fixed) != len(set(fixed)):
            issues.add(at(path, "ports"), "ports must be unique")
            # the app is rejected anyway; convert without the repeats so that the same
            # mistake is not reported again under /portDefinitions
            ports = [p for i, p in enumerate(ports) if p == 0 or p not in ports[:i]]
        if definitions is not None and [d.get("port", 0) for d in definitions] != app["ports"]:
            issues.add(path, "cannot specify both ports and port definitions")
        elif definitions is None:
            out["portDefinitions"] = [{"port": p, "protocol": "tcp"} for p in ports]
    elif definitions is None and not is_host_networking(out.get("networks")):
        out["portDefinitions"] = []


def _fetch(app: dict[str, Any], out: dict[str, Any], issues: Issues, path: str) -> None:
    uris = app.get("uris")
    if not uris:
        return
    if app.get("fetch"):
        issues.add(at(path, "uris"), "may not be set in conjunction with fetch")
        return
    out["fetch"] = [
        {"uri": uri, "extract": uri.split("?")[0].endswith(ARCHIVE_SUFFIXES)} for uri in uris
    ]


def _health_check(check: dict[str, Any], has_ports: bool) -> dict[str, Any]:
    check = dict(check)
    protocol = check.get("protocol", "HTTP")
    if protocol in HTTP_PROTOCOLS:
        check.setdefault("path", "/")
    needs_port = protocol != "COMMAND"
    if needs_port and has_ports and "port" not in check and "portIndex" not in check:
        check["portIndex"] = 0
    return check


def _copy(value: Any) -> Any:
    """A deep copy of plain JSON, so that migration never edits the caller's body."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
