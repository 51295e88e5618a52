"""Endpoints, changes and the endpoint set."""

from __future__ import annotations

import asyncio

import pytest

from roost.rpc.endpoints import (
    Change,
    Endpoint,
    EndpointSet,
    Insert,
    Remove,
    parse_address,
    parse_endpoints,
)

A = Endpoint("10.0.0.1:80")
B = Endpoint("10.0.0.2:80")


def test_a_static_list_parses_into_endpoints_of_weight_one() -> None:
    assert parse_endpoints("127.0.0.1:8080, 127.0.0.1:8081") == [
        Endpoint("127.0.0.1:8080"),
        Endpoint("127.0.0.1:8081"),
    ]


def test_host_names_and_bracketed_ipv6_are_addresses() -> None:
    assert parse_address("api.internal:443") == "api.internal:443"
    assert parse_address("[::1]:8080") == "[::1]:8080"
    assert parse_address(" localhost:08080 ") == "localhost:8080"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no endpoints: expected host:port[,host:port...]"),
        ("127.0.0.1", "'127.0.0.1': expected host:port"),
        (":8080", "':8080': expected host:port"),
        ("127.0.0.1:http", "'127.0.0.1:http': port 'http' is not a number"),
        ("127.0.0.1:", "'127.0.0.1:': port '' is not a number"),
        ("127.0.0.1:0", "'127.0.0.1:0': port 0 is not in 1..65535"),
        ("127.0.0.1:65536", "'127.0.0.1:65536': port 65536 is not in 1..65535"),
        ("127.0.0.1:80,", "empty address: expected host:port"),
        ("::1:8080", "'::1:8080': write an IPv6 address in brackets, like [::1]:8080"),
        ("[::1:8080", "'[::1:8080': unclosed '[' in IPv6 address"),
        ("[zz]:80", "'[zz]:80': 'zz' is not an IPv6 address"),
        ("a b:80", "'a b:80': 'a b' is not a host name"),
        ("h:80,h:80", "'h:80' is listed twice"),
    ],
)
def test_a_bad_static_list_names_the_bad_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_endpoints(text)
    assert str(info.value) == message


def test_an_endpoint_refuses_a_negative_or_infinite_weight() -> None:
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        Endpoint("h:1", weight=-1.0)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        Endpoint("h:1", weight=float("inf"))


def test_endpoints_are_values_whose_meta_cannot_be_changed() -> None:
    meta = {"zone": "a"}
    endpoint = Endpoint("h:1", meta=meta)
    meta["zone"] = "b"
    assert endpoint.meta["zone"] == "a"
    assert endpoint == Endpoint("h:1", meta={"zone": "a"})
    assert hash(endpoint) == hash(Endpoint("h:1", meta={"zone": "a"}))
    with pytest.raises(TypeError):
        endpoint.meta["zone"] = "c"  # type: ignore[index]


def test_a_new_subscriber_first_hears_the_current_endpoints_then_every_change() -> None:
    endpoints = EndpointSet([A])
    heard: list[Change] = []
    endpoints.subscribe(heard.append)
    endpoints.insert(B)
    endpoints.remove(A.address)
    assert heard == [Insert(A), Insert(B), Remove(A.address)]
    assert list(endpoints) == [B]


def test_changes_that_change_nothing_are_not_announced() -> None:
    endpoints = EndpointSet([A])
    heard: list[Change] = []
    endpoints.subscribe(heard.append)
    assert not endpoints.insert(Endpoint(A.address))
    assert not endpoints.remove("10.9.9.9:80")
    assert heard == [Insert(A)]


def test_a_new_weight_for_a_known_address_is_an_insert() -> None:
    endpoints = EndpointSet([A])
    heard: list[Change] = []
    endpoints.subscribe(heard.append)
    heavier = Endpoint(A.address, weight=3.0)
    assert endpoints.insert(heavier)
    assert heard[-1] == Insert(heavier)
    assert endpoints.get(A.address) == heavier
    assert len(endpoints) == 1


def test_replace_announces_the_difference_between_snapshots() -> None:
    endpoints = EndpointSet([A, B])
    heard: list[Change] = []
    endpoints.subscribe(heard.append)
    c = Endpoint("10.0.0.3:80")
    endpoints.replace([B, c])
    assert heard[2:] == [Remove(A.address), Insert(c)]
    assert A.address not in endpoints and c.address in endpoints


def test_an_unsubscribed_callback_hears_nothing_more() -> None:
    endpoints = EndpointSet()
    heard: list[Change] = []
    unsubscribe = endpoints.subscribe(heard.append)
    unsubscribe()
    unsubscribe()
    endpoints.insert(A)
    assert heard == []


async def test_changes_can_be_read_as_an_async_iterator_until_closed() -> None:
    endpoints = EndpointSet([A])
    read: list[Change] = []
    async with endpoints.changes() as stream:

        async def reader() -> None:
            async for change in stream:
                read.append(change)

        task = asyncio.create_task(reader())
        endpoints.insert(B)
        await asyncio.sleep(0)
        endpoints.remove(A.address)
        await asyncio.sleep(0)
        assert read == [Insert(A), Insert(B), Remove(A.address)]
    await asyncio.wait_for(task, 1.0)
    endpoints.insert(A)  # nobody is listening any more
    assert read == [Insert(A), Insert(B), Remove(A.address)]
