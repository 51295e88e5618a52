"""Per-request dtab headers: Linkerd's l5d-ctx-dtab then l5d-dtab, Finagle's Dtab-Local
(H1) and the legacy X-Dtab pairs; malformed values are errors naming the header."""

from __future__ import annotations

import base64

import pytest

from roost.mesh.dtab_headers import (
    finagle_local_dtab,
    linkerd_local_dtab,
    take_linkerd_local_dtab,
)
from roost.naming import NamingSyntaxError
from roost.rpc.http import Headers


def test_ctx_comes_first_so_the_user_header_wins_and_both_are_taken_off() -> None:
    headers = Headers(
        [
            ("l5d-dtab", "/svc/web=>/#/io.l5d.fs/web-v2"),
            ("l5d-ctx-dtab", "/svc=>/#/io.l5d.fs"),
            ("l5d-dtab", "/svc/api=>/$/nil"),
            ("x-other", "kept"),
        ]
    )
    dtab = take_linkerd_local_dtab(headers)
    assert dtab.show == "/svc=>/#/io.l5d.fs;/svc/web=>/#/io.l5d.fs/web-v2;/svc/api=>/$/nil"
    assert list(headers) == [("x-other", "kept")]


def test_no_headers_is_the_empty_dtab() -> None:
    assert len(linkerd_local_dtab(Headers())) == 0


def test_a_bad_dtab_header_names_the_header() -> None:
    with pytest.raises(NamingSyntaxError, match="Invalid l5d-dtab header: "):
        linkerd_local_dtab(Headers([("l5d-dtab", "/svc=>")]))


def test_h1_dtab_local_values_with_semicolons_and_commas_in_order() -> None:
    headers = Headers(
        [
            ("Dtab-Local", "/srv#/prod/local/role=>/$/fail;/srv=>/srv#/staging"),
            ("Dtab-Local", "/srv/local=>/srv/other,/srv=>/srv#/devel"),
        ]
    )
    dtab = finagle_local_dtab(headers)
    assert [d.show for d in dtab] == [
        "/srv#/prod/local/role=>/$/fail",
        "/srv=>/srv#/staging",
        "/srv/local=>/srv/other",
        "/srv=>/srv#/devel",
    ]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_legacy_x_dtab_pairs_come_first_by_number() -> None:
    headers = Headers(
        [
            ("Dtab-Local", "/c=>/d"),
            ("X-Dtab-01-A", b64("/b")),
            ("X-Dtab-00-B", b64("/x")),
            ("X-Dtab-00-A", b64("/a")),
            ("X-Dtab-01-B", b64("/y")),
        ]
    )
    assert finagle_local_dtab(headers).show == "/a=>/x;/b=>/y;/c=>/d"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Dtab-00-A", b64("/a"))],  # no -B
        [("X-Dtab-00-A", "not base64!"), ("X-Dtab-00-B", b64("/x"))],
        [("Dtab-Local", "/a=>")],
    ],
)
def test_malformed_finagle_headers_are_errors(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(NamingSyntaxError):
        finagle_local_dtab(Headers(headers))
