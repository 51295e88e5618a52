"""Ranking offers for an app: rankers add named scores to the offers the checkers let through.

Nomad's ``scheduler/feasible/rank.go``: after feasibility, each ranker scores a candidate in
[0, 1] under its own name and the final score is their weighted mean, so ``scores`` explains a
choice. Marathon itself takes offers in arrival order; ranking is roost's addition for when
several offers are at hand.

* ``spread`` (weight 1): ``1 / (1 + n)`` for ``n`` peers on the offer's host, so hosts with
  fewer instances of the app come first.
* ``binpack`` (weight 0.25): the share of the offer's cpus and mem one instance uses (mean of
  the two, capped at 1), so a tight fit beats a roomy one and large agents stay free for large
  apps. It weighs less than ``spread`` because losing a host should not take many instances:
  a host without an instance of the app always beats one with an instance (at most
  ``(0.5 + 0.25) / 1.25`` against at least ``1 / 1.25``); between hosts that already have
  some, a much tighter fit can win.

Offers on which not even one instance fits come last, in input order, with their ``reason``
and no scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from roost.marathon.placement.app_spec import AppSpec
from roost.marathon.placement.offer_view import OfferView, Peer, offer_view
from roost.marathon.placement.pipeline import DEFAULT_PIPELINE, Pipeline


@dataclass(frozen=True)
class RankedOffer:
    """An offer with its weighted ``score`` (higher is better) and the named ``scores``.

    ``reason`` is set (and ``score`` is 0) when not even one instance fits on the offer.
    """

    offer: Mapping[str, Any]
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    reason: str | None = None


class Ranker(Protocol):
    """Scores one feasible offer for an app, in [0, 1]; higher is better."""

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> float: ...

    def __call__(self, app: AppSpec, offer: OfferView, peers: Sequence[Peer]) -> float: ...


@dataclass(frozen=True)
class SpreadRanker:
    """Fewer instances of the app on the offer's host is better."""

    name: str = "spread"
    weight: float = 1.0

    def __call__(self, app: AppSpec, offer: OfferView, peers: Sequence[Peer]) -> float:
        return 1.0 / (1 + sum(p.hostname == offer.hostname for p in peers))


@dataclass(frozen=True)
class BinPackRanker:
    """A larger share of the offer's cpus and mem used by one instance is better."""

    name: str = "binpack"
    weight: float = 0.25

    def __call__(self, app: AppSpec, offer: OfferView, peers: Sequence[Peer]) -> float:
        shares = []
        for resource in ("cpus", "mem"):
            have = offer.available.scalar(resource)
            wanted = float(getattr(app, resource))
            if have > 0:
                shares.append(min(1.0, wanted / have))
        return sum(shares) / len(shares) if shares else 0.0


DEFAULT_RANKERS: tuple[Ranker, ...] = (SpreadRanker(), BinPackRanker())


def rank_offers(
    offers: Sequence[Mapping[str, Any]],
    app: AppSpec,
    peers: Sequence[Peer],
    *,
    rankers: Sequence[Ranker] = DEFAULT_RANKERS,
    pipeline: Pipeline = DEFAULT_PIPELINE,
) -> list[RankedOffer]:
    """The offers best first for one more instance of ``app``; equal scores keep input order."""
    feasible: list[RankedOffer] = []
    infeasible: list[RankedOffer] = []
    total_weight = sum(r.weight for r in rankers) or 1.0
    for raw in offers:
        view = offer_view(raw)
        reason = pipeline.place(view, app, peers, 1).reason
        if reason is not None:
            infeasible.append(RankedOffer(raw, 0.0, {}, reason))
            continue
        scores = {r.name: r(app, view, peers) for r in rankers}
        score = sum(r.weight * scores[r.name] for r in rankers) / total_weight
        feasible.append(RankedOffer(raw, score, scores))
    feasible.sort(key=lambda r: -r.score)  # sort is stable: ties keep input order
    return feasible + infeasible
