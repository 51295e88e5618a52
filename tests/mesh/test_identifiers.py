"""HTTP identifiers: the reference's vectors I1-I5 (Linkerd's MethodAndHostIdentifierTest and
PathIdentifierTest), header identifiers, static, and the chain."""

from __future__ import annotations

import pytest

from roost.mesh.identifiers import (
    HeaderPathIdentifier,
    HeaderTokenIdentifier,
    Identified,
    IdentifierChain,
    MethodAndHostIdentifier,
    PathIdentifier,
    StaticIdentifier,
    Unidentified,
)
from roost.naming import Path
from roost.rpc.http import Headers, Request


def req(target: str = "/", *, method: str = "GET", version: str = "1.1", **headers: str) -> Request:
    return Request(method, target, Headers(list(headers.items())), b"", version)


def dst(found: object) -> str:
    assert isinstance(found, Identified), found
    return found.dst.show


def test_i1_method_and_host_lower_cases_the_host() -> None:
    identify = MethodAndHostIdentifier(Path.read("/https"))
    assert dst(identify(req(host="DoMaiN"))) == "/https/1.1/GET/domain"
    assert isinstance(identify(req()), Unidentified)  # no Host on HTTP/1.1


def test_i2_the_uri_path_joins_the_name_when_asked() -> None:
    identify = MethodAndHostIdentifier(Path.read("/https"), http_uri_in_dst=True)
    found = identify(req("/some/path?other=stuff", host="domain"))
    assert dst(found) == "/https/1.1/GET/domain/some/path"


def test_i3_http_1_0_has_no_host_in_the_name() -> None:
    plain = MethodAndHostIdentifier(Path.read("/prefix"))
    with_uri = MethodAndHostIdentifier(Path.read("/prefix"), http_uri_in_dst=True)
    request = req("/drum/bass", method="POST", version="1.0")
    assert dst(plain(request)) == "/prefix/1.0/POST"
    assert dst(with_uri(request)) == "/prefix/1.0/POST/drum/bass"


def test_i4_path_segments_and_too_few_of_them() -> None:
    identify = PathIdentifier(Path.read("/http"), segments=2)
    found = identify(req("/mysvc/subsvc/some/path?x"))
    assert dst(found) == "/http/mysvc/subsvc"
    assert isinstance(found, Identified) and found.request.target == "/mysvc/subsvc/some/path?x"
    assert isinstance(identify(req("/mysvc?x")), Unidentified)


@pytest.mark.parametrize(
    ("target", "forwarded"),
    [
        ("/mysvc/subsvc/some/path?other=stuff", "/some/path?other=stuff"),
        ("/mysvc/subsvc", "/"),
        ("/mysvc/subsvc?q=1", "/?q=1"),
    ],
)
def test_i5_consume_strips_the_segments_from_the_forwarded_uri(target: str, forwarded: str) -> None:
    found = PathIdentifier(Path.read("/http"), segments=2, consume=True)(req(target))
    assert isinstance(found, Identified)
    assert found.dst.show == "/http/mysvc/subsvc" and found.request.target == forwarded


def test_header_token_is_one_label_and_the_default_is_host() -> None:
    identify = HeaderTokenIdentifier()
    assert dst(identify(req(host="web:8080"))) == "/svc/web:8080"
    assert isinstance(identify(req()), Unidentified)
    custom = HeaderTokenIdentifier(Path.read("/x"), header="my-header")
    assert dst(custom(req(**{"my-header": "a/b"}))) == "/x/\\x61\\x2f\\x62"  # one label


def test_header_path_parses_the_value_as_a_path() -> None:
    identify = HeaderPathIdentifier()
    assert dst(identify(req(**{"l5d-name": "/users/v2"}))) == "/svc/users/v2"
    bad = identify(req(**{"l5d-name": "users"}))
    assert isinstance(bad, Unidentified) and "not a path" in bad.reason


def test_static_and_a_chain_that_falls_through() -> None:
    chain = IdentifierChain([HeaderPathIdentifier(), StaticIdentifier(Path.read("/default"))])
    assert dst(chain(req(**{"l5d-name": "/a"}))) == "/svc/a"
    assert dst(chain(req())) == "/svc/default"
    none = IdentifierChain([HeaderPathIdentifier(), HeaderTokenIdentifier()])
    found = none(req())
    assert isinstance(found, Unidentified) and "l5d-name" in found.reason and "Host" in found.reason


@pytest.mark.parametrize("segments", [0, -1, True, 1.5])
def test_bad_segment_counts_are_refused(segments: object) -> None:
    with pytest.raises(ValueError):
        PathIdentifier(segments=segments)  # type: ignore[arg-type]
