"""Ranking offers: named scores, spread before binpack, infeasible offers last with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from roost.marathon.placement import (
    BinPackRanker,
    OfferView,
    Peer,
    RankedOffer,
    SpreadRanker,
    offer_view,
    rank_offers,
)
from roost.marathon.placement.app_spec import AppSpec
from tests.marathon.placement import app, offer


def hosts(ranked: list[RankedOffer]) -> list[str]:
    return [r.offer["hostname"] for r in ranked]


def test_hosts_with_fewer_instances_of_the_app_come_first() -> None:
    offers = [offer("h1"), offer("h2"), offer("h3")]
    peers = [Peer("h1", {}), Peer("h1", {}), Peer("h3", {})]
    ranked = rank_offers(offers, app(), peers)
    assert hosts(ranked) == ["h2", "h3", "h1"]
    assert [r.scores["spread"] for r in ranked] == pytest.approx([1.0, 0.5, 1 / 3])


def test_equal_offers_keep_their_input_order() -> None:
    offers = [offer("h3"), offer("h1"), offer("h2")]
    assert hosts(rank_offers(offers, app(), [])) == ["h3", "h1", "h2"]


def test_a_tighter_fit_wins_when_spread_is_equal() -> None:
    offers = [offer("big", cpus=16, mem=65536), offer("small", cpus=2, mem=512)]
    ranked = rank_offers(offers, app(cpus=1, mem=256), [])
    assert hosts(ranked) == ["small", "big"]
    small, big = ranked
    assert small.scores["binpack"] == pytest.approx((1 / 2 + 256 / 512) / 2)
    assert big.scores["binpack"] == pytest.approx((1 / 16 + 256 / 65536) / 2)
    assert small.score == pytest.approx((1.0 * 1.0 + 0.25 * small.scores["binpack"]) / 1.25)


def test_a_host_without_the_app_beats_a_perfect_fit_on_a_host_with_it() -> None:
    offers = [offer("tight", cpus=1, mem=128), offer("roomy", cpus=64, mem=262144)]
    ranked = rank_offers(offers, app(cpus=1, mem=128), [Peer("tight", {})])
    assert hosts(ranked) == ["roomy", "tight"]
    assert ranked[1].scores == {"spread": 0.5, "binpack": 1.0}


def test_between_hosts_with_instances_a_much_tighter_fit_can_win() -> None:
    offers = [offer("roomy", cpus=64, mem=262144), offer("tight", cpus=1, mem=128)]
    peers = [Peer("roomy", {}), Peer("tight", {}), Peer("tight", {})]
    assert hosts(rank_offers(offers, app(cpus=1, mem=128), peers)) == ["tight", "roomy"]


def test_infeasible_offers_come_last_in_input_order_with_their_reason() -> None:
    offers = [
        offer("no-cpu", cpus=0.1),
        offer("ok"),
        offer("no-port", ports=[]),
        offer("wrong-rack", attributes={"rack": "r2"}),
    ]
    spec = app(constraints=[["rack", "UNLIKE", "r2"]])
    ranked = rank_offers(offers, spec, [])
    assert [(r.offer["hostname"], r.reason) for r in ranked] == [
        ("ok", None),
        ("no-cpu", "InsufficientCpus"),
        ("no-port", "InsufficientPorts"),
        ("wrong-rack", "UnfulfilledConstraint"),
    ]
    assert all(r.score == 0 and r.scores == {} for r in ranked[1:])


def test_ranked_offers_are_the_callers_offer_objects() -> None:
    offers = [offer("h1")]
    assert rank_offers(offers, app(), [])[0].offer is offers[0]


@dataclass(frozen=True)
class PreferHost:
    host: str
    name: str = "prefer"
    weight: float = 10.0

    def __call__(self, app: AppSpec, offer: OfferView, peers: Sequence[Peer]) -> float:
        return 1.0 if offer.hostname == self.host else 0.0


def test_rankers_are_pluggable_and_named() -> None:
    offers = [offer("h1"), offer("h2")]
    rankers = (SpreadRanker(), BinPackRanker(), PreferHost("h2"))
    ranked = rank_offers(offers, app(), [], rankers=rankers)
    assert hosts(ranked) == ["h2", "h1"]
    assert set(ranked[0].scores) == {"spread", "binpack", "prefer"}


def test_binpack_of_an_offer_without_cpus_or_mem_is_zero() -> None:
    view = offer_view(offer(cpus=0, mem=0))
    assert BinPackRanker()(app(), view, []) == 0.0
