"""Snapshots of a :class:`MetricsRegistry` for the admin server.

* :func:`flat_json` — Finagle / Linkerd ``/admin/metrics.json``: one key per value.
  Counters and gauges are plain keys (``"clnt/web/requests": 3``); a histogram ``h`` gives
  ``h.count``, ``h.sum``, ``h.avg``, ``h.min``, ``h.max``, ``h.p50``, ``h.p90``, ``h.p95``,
  ``h.p99``, ``h.p9990``, ``h.p9999``.
* :func:`tree_json` — the same split on ``/`` into nested objects
  (``{"clnt": {"web": {"requests": 3}}}``); a histogram is an object of its fields. When a
  name is both a metric and a scope (``failures`` and ``failures/Rejected``) the metric's own
  value sits under the empty key: ``{"failures": {"": 3, "Rejected": 2}}``.
* :func:`prometheus_text` — text exposition 0.0.4. Naming: the label segment of
  ``clnt/<label>/…`` and ``srv/<label>/…`` becomes a Prometheus label (``client="<label>"``,
  ``server="<label>"``); the remaining segments are joined with ``_``, every character
  outside ``[a-zA-Z0-9_]`` becomes ``_`` (a leading digit gets a ``_`` in front), and an
  optional ``prefix`` goes first. Counters get the conventional ``_total`` suffix:
  ``clnt/web/failures/Rejected`` is ``clnt_failures_Rejected_total{client="web"}``.
  Histograms are summaries (``{quantile="0.5"}`` … ``"0.9999"``, ``_count``, ``_sum``). If
  two metrics map to one name with different types, the later type's family gets its type
  as a suffix (``_summary``).

A gauge whose function raises is left out of that snapshot.
"""

from __future__ import annotations

import math
import re
from typing import Any

from roost.rpc.stats.histogram import PERCENTILES, Histogram
from roost.rpc.stats.metrics import Counter, Gauge
from roost.rpc.stats.receiver import MetricsRegistry

Number = int | float

LABELLED_SCOPES = {"clnt": "client", "srv": "server"}
"""Scope words whose next segment becomes a Prometheus label (scope word -> label name)."""


def _gauge_value(gauge: Gauge) -> Number | None:
    try:
        value = gauge.value
    except Exception:
        return None
    return value if isinstance(value, int | float) else None


def flat_json(registry: MetricsRegistry, *, reset_histograms: bool = False) -> dict[str, Number]:
    """``{"clnt/web/requests": 3, "clnt/web/request_latency_ms.p99": 12.1, …}``, by name."""
    out: dict[str, Number] = {}
    for name, metric in registry:
        if isinstance(metric, Counter):
            out[name] = metric.value
        elif isinstance(metric, Gauge):
            value = _gauge_value(metric)
            if value is not None:
                out[name] = value
        else:
            for field, v in metric.snapshot(reset=reset_histograms).fields().items():
                out[f"{name}.{field}"] = v
    return out


def tree_json(registry: MetricsRegistry, *, reset_histograms: bool = False) -> dict[str, Any]:
    """The registry as nested objects, one level per name segment."""
    root: dict[str, Any] = {}
    for name, metric in registry:
        value: Any
        if isinstance(metric, Counter):
            value = metric.value
        elif isinstance(metric, Gauge):
            value = _gauge_value(metric)
            if value is None:
                continue
        else:
            value = _Fields(metric.snapshot(reset=reset_histograms).fields())
        *scopes, leaf = name.split("/")
        node = root
        for part in scopes:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict) or isinstance(child, _Fields):
                child = node[part] = {"": child}
            node = child
        existing = node.get(leaf)
        if isinstance(existing, dict) and not isinstance(existing, _Fields):
            existing[""] = value
        else:
            node[leaf] = value
    return root


def metrics_json(registry: MetricsRegistry, *, tree: bool = False, q: str = "") -> Any:
    """``/admin/metrics.json``'s answer: :func:`flat_json`, or with ``tree`` :func:`tree_json`;
    ``q`` (``rt/web/service``) keeps one subtree: the names under it (flat), or the object
    at it (tree; ``{}`` when there is none)."""
    q = q.strip("/")
    if tree:
        node: Any = tree_json(registry)
        for part in q.split("/") if q else ():
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node
    flat = flat_json(registry)
    if not q:
        return flat
    return {k: v for k, v in flat.items() if k == q or k.startswith((q + "/", q + "."))}


class _Fields(dict[str, Number]):
    """A histogram's fields in the tree (a leaf, not a scope)."""


_BAD = re.compile(r"[^a-zA-Z0-9_]")


def prometheus_name(name: str, prefix: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
    """``("clnt_requests", (("client", "web"),))`` for ``clnt/web/requests``."""
    parts = name.split("/")
    labels: tuple[tuple[str, str], ...] = ()
    if len(parts) >= 3 and parts[0] in LABELLED_SCOPES:
        labels = ((LABELLED_SCOPES[parts[0]], parts[1]),)
        parts = [parts[0], *parts[2:]]
    if prefix:
        parts.insert(0, prefix)
    metric = _BAD.sub("_", "_".join(parts))
    if metric[:1].isdigit():
        metric = "_" + metric
    return metric, labels


def _fmt_labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fmt_value(value: Number) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def prometheus_text(registry: MetricsRegistry, *, prefix: str = "") -> str:
    """Prometheus text exposition format (``text/plain; version=0.0.4``)."""
    # metric name -> (type, its lines without the name: '{labels} value')
    families: dict[str, tuple[str, list[str]]] = {}

    def family(metric: str, kind: str) -> list[str]:
        existing = families.get(metric)
        if existing is not None and existing[0] != kind:
            metric = f"{metric}_{kind}"
            existing = families.get(metric)
        if existing is None:
            existing = families[metric] = (kind, [])
        return existing[1]

    for name, m in registry:
        metric, labels = prometheus_name(name, prefix)
        if isinstance(m, Counter):
            family(f"{metric}_total", "counter").append(f"{_fmt_labels(labels)} {m.value}")
        elif isinstance(m, Gauge):
            value = _gauge_value(m)
            if value is None:
                continue
            if m.monotonic:
                family(f"{metric}_total", "counter").append(f"{_fmt_labels(labels)} {int(value)}")
            else:
                family(metric, "gauge").append(f"{_fmt_labels(labels)} {_fmt_value(value)}")
        else:
            family(metric, "summary").extend(_summary_lines(m, labels))
    out: list[str] = []
    for metric, (kind, suffixes) in families.items():
        out.append(f"# TYPE {metric} {kind}")
        out.extend(metric + suffix for suffix in suffixes)
    return "\n".join(out) + "\n" if out else ""


def _summary_lines(h: Histogram, labels: tuple[tuple[str, str], ...]) -> list[str]:
    snap = h.snapshot()
    lines = []
    for key, q in PERCENTILES.items():
        qlabels = (*labels, ("quantile", repr(q)))
        lines.append(f"{_fmt_labels(qlabels)} {_fmt_value(snap.percentiles[key])}")
    lines.append(f"_count{_fmt_labels(labels)} {snap.count}")
    lines.append(f"_sum{_fmt_labels(labels)} {_fmt_value(snap.sum)}")
    return lines
