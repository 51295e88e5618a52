"""One lookup step and evaluation: the conformance vectors L1-L7 and E1-E7 of the naming
reference (Finagle's DtabTest and NameTreeTest, Names.rst)."""

from __future__ import annotations

import pytest

from roost.naming import FAIL, FAIL_DTAB, NEG, Alt, Dtab, Leaf, NameTree, Path


def lookup(dtab: str, path: str) -> NameTree[Path]:
    return Dtab.read(dtab).lookup(Path.read(path))


def test_l1_a_wildcard_matches_one_component_and_the_residual_is_appended() -> None:
    assert lookup("/a/*/c => /d", "/a/b/c/e/f") == Leaf(Path.read("/d/e/f"))


def test_l2_a_prefix_rewrite() -> None:
    assert lookup("/s => /s#/foo/bar", "/s/crawler") == Leaf(Path.read("/s#/foo/bar/crawler"))


@pytest.mark.parametrize("path", ["/s#/foo/bar/baz", "/s#/boo/bar/baz"])
def test_l3_wildcard_in_the_middle(path: str) -> None:
    assert lookup("/s#/*/bar => /t/bah", path) == Leaf(Path.read("/t/bah/baz"))


def test_l4_prefixes_match_whole_components_not_characters() -> None:
    assert lookup("/s => /x", "/s#/foo") is NEG


def test_l5_every_match_counts_last_entry_first() -> None:
    assert lookup("/foo=>/bar;/foo=>/biz", "/foo/x") == Alt(
        Leaf(Path.read("/biz/x")), Leaf(Path.read("/bar/x"))
    )


def test_l6_a_prefix_longer_than_the_path_does_not_match() -> None:
    assert lookup("/a/b => /c", "/a") is NEG


def test_l7_the_fail_dtab_fails_everything() -> None:
    assert FAIL_DTAB.lookup(Path.read("/any/thing")) is FAIL
    assert FAIL_DTAB.show == "/=>!"


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ("~", None),
        ("/ok", {"/ok"}),
        ("/ok & /ok1", {"/ok", "/ok1"}),
        ("/ok & ~ & /blah & $", {"/ok", "/blah"}),
        ("$ & $ & $", set()),
        ("~ & ~ & (~ | ~)", None),
        ("~ | /foo | /bar", {"/foo"}),
        # the Alt/Union asymmetry
        ("! | /foo", None),  # an Alt stops at Fail
        ("$ | /foo", set()),  # ... and at Empty
        ("! & /foo", {"/foo"}),  # a Union drops Fail
    ],
)
def test_e_vectors_eval_and_simplified_eval_agree(tree: str, expected: set[str] | None) -> None:
    t = NameTree.read(tree)
    for candidate in (t, t.simplified()):
        got = candidate.eval()
        assert (None if got is None else {p.show for p in got}) == expected


@pytest.mark.parametrize(
    ("tree", "simplified"),
    [
        ("~ | /a", "/a"),
        ("/a | ! | /b", "/a | !"),
        ("~ & /a", "/a"),
        ("! & ~", "~"),
        ("$ & /a", "$ & /a"),
        ("(/a)", "/a"),
        ("~ | ~", "~"),
    ],
)
def test_simplified_is_a_fixpoint_that_drops_what_cannot_matter(tree: str, simplified: str) -> None:
    s = NameTree.read(tree).simplified()
    assert s.show == simplified
    assert s.simplified() == s
