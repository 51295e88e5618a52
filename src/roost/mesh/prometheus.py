"""The mesh's metrics in Linkerd's Prometheus format (``io.l5d.prometheus``), so dashboards
and queries written for Linkerd 1 read roost's:

* a metric's scopes join with ``:`` (``rt:service:requests``), after the telemeter's
  ``prefix`` (none by default; Linkerd's docs use ``linkerd_``);
* a router's scopes become labels: ``rt/<label>/service/<name>/…`` is
  ``rt:service:…{rt="<label>", service="/<name>"}``, likewise ``client`` (the bound id),
  ``client/<id>/service/<name>`` and ``server`` (``127.0.0.1/4140``);
* ``…/failures/<exception>/<cause>`` is ``…:failures{…, exception="<exception>:<cause>"}``;
* counters and gauges print their value; a histogram prints ``_count``, ``_sum``, ``_avg``
  and its quantiles ``{quantile="0"}`` (min) … ``{quantile="1"}`` (max), and nothing while
  it is empty. No ``# TYPE`` lines, as Linkerd.
"""

from __future__ import annotations

import re

from roost.rpc.stats import Counter, Gauge, MetricsRegistry
from roost.rpc.stats.export import _fmt_value, _gauge_value

_QUANTILES = (
    ("0", "min"),
    ("0.5", "p50"),
    ("0.9", "p90"),
    ("0.95", "p95"),
    ("0.99", "p99"),
    ("0.999", "p9990"),
    ("0.9999", "p9999"),
    ("1", "max"),
)
_BAD = re.compile(r"[^a-zA-Z0-9_:]")
_KINDS = frozenset({"service", "client", "server"})
_PATH_KINDS = frozenset({"service", "client"})


def linkerd_name(segments: tuple[str, ...]) -> tuple[str, list[tuple[str, str]]]:
    """``("rt:service:requests", [("rt", "edge"), ("service", "/svc/web")])`` for the scopes
    ``rt``, ``edge``, ``service``, ``svc/web``, ``requests``."""
    parts = list(segments)
    labels: list[tuple[str, str]] = []
    if len(parts) >= 5 and parts[0] == "rt" and parts[2] in _KINDS:
        kind, value = parts[2], parts[3]
        labels = [("rt", parts[1]), (kind, "/" + value if kind in _PATH_KINDS else value)]
        rest = parts[4:]
        name = ["rt", kind]
        if kind == "client" and len(rest) >= 3 and rest[0] == "service":
            labels.append(("service", "/" + rest[1]))
            name.append("service")
            rest = rest[2:]
        parts = name + rest
    for kind in ("failures", "exn"):
        if kind in parts[:-1] and labels:
            at = parts.index(kind)
            labels.append(("exception", ":".join(parts[at + 1 :])))
            parts = [*parts[:at], "failures" if kind == "failures" else "exceptions"]
            break
    return ":".join(parts), labels


def _labels(labels: list[tuple[str, str]], extra: str = "") -> str:
    inner = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        inner.append(extra)
    return "{" + ", ".join(inner) + "}" if inner else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def linkerd_prometheus(registry: MetricsRegistry, prefix: str = "") -> str:
    """The registry in Linkerd's Prometheus text (see the module docstring)."""
    lines: list[str] = []
    for name, metric in registry:
        base, labels = linkerd_name(registry.segments(name))
        metric_name = _BAD.sub("_", prefix + base)
        if metric_name[:1].isdigit():
            metric_name = "_" + metric_name
        if isinstance(metric, Counter):
            lines.append(f"{metric_name}{_labels(labels)} {metric.value}")
        elif isinstance(metric, Gauge):
            value = _gauge_value(metric)
            if value is not None:
                lines.append(f"{metric_name}{_labels(labels)} {_fmt_value(value)}")
        else:
            snap = metric.snapshot().fields()
            if not snap["count"]:
                continue
            tags = _labels(labels)
            lines.append(f"{metric_name}_count{tags} {_fmt_value(snap['count'])}")
            lines.append(f"{metric_name}_sum{tags} {_fmt_value(snap['sum'])}")
            lines.append(f"{metric_name}_avg{tags} {_fmt_value(snap['avg'])}")
            for quantile, field in _QUANTILES:
                tag = _labels(labels, 'quantile="' + quantile + '"')
                lines.append(f"{metric_name}{tag} {_fmt_value(snap[field])}")
    return "".join(line + "\n" for line in lines)
