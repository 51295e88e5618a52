"""Parsing and printing: the conformance vectors P1-P17 of the naming reference (Finagle's
PathTest, NameTreeParsersTest and DtabTest), byte for byte, and read(show(t)) == t."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.naming import (
    ANY,
    EMPTY,
    EMPTY_DTAB,
    FAIL,
    NEG,
    Alt,
    Dentry,
    Dtab,
    Leaf,
    NameTree,
    NamingSyntaxError,
    Path,
    Prefix,
    Union,
    Weighted,
)


def leaf(text: str) -> Leaf[Path]:
    return Leaf(Path.read(text))


# -- paths ------------------------------------------------------------------------------------


def test_p1_the_root_is_the_empty_path() -> None:
    assert Path.read("/").elems == ()
    assert Path.read("/").show == "/"


def test_p2_surrounding_whitespace_is_skipped() -> None:
    assert Path.read("  /foo/bar  ") == Path.of("foo", "bar")


def test_p3_hex_escapes_of_either_case_read_as_bytes() -> None:
    assert Path.read("/\\x66\\x6f\\x6F") == Path.of("foo")


@pytest.mark.parametrize("text", ["", "/foo/bar/", "/{}", "/\\?", "/\\x?", "/\\x0?"])
def test_p4_malformed_paths_are_errors(text: str) -> None:
    with pytest.raises(NamingSyntaxError):
        Path.read(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/foo^bar", "end of input expected but '^' found at '/foo[^]bar'"),
        ("/foo/bar/", "label char expected but end of input found at '/foo/bar/[]'"),
        ("", "'/' expected but end of input found at '[]'"),
        ("/\\x0?", "hex char expected but '?' found at '/\\x0[?]'"),
    ],
)
def test_p5_errors_mark_the_offending_character(text: str, message: str) -> None:
    with pytest.raises(NamingSyntaxError) as info:
        Path.read(text)
    assert str(info.value) == message


def test_labels_with_unshowable_bytes_print_wholly_escaped() -> None:
    p = Path([b"a b", b"ok", b"\xff"])
    assert p.show == "/\\x61\\x20\\x62/ok/\\xff"
    assert Path.read(p.show) == p


def test_star_is_not_a_path_character() -> None:
    with pytest.raises(NamingSyntaxError):
        Path.read("/foo/*")


# -- name trees -------------------------------------------------------------------------------


def test_p6_constants() -> None:
    assert NameTree.read("! | ~ | $") == Alt(FAIL, NEG, EMPTY)


def test_p7_a_union_of_two_paths() -> None:
    assert NameTree.read("  /foo & /bar  ") == Union(
        Weighted(1, leaf("/foo")), Weighted(1, leaf("/bar"))
    )


def test_p8_and_binds_tighter_than_or() -> None:
    assert NameTree.read("/foo & /bar | /bar & /baz") == Alt(
        Union(leaf("/foo"), leaf("/bar")), Union(leaf("/bar"), leaf("/baz"))
    )


def test_p9_weights() -> None:
    assert NameTree.read("1 * /foo & 2 * /bar | .5 * /bar & .5 * /baz") == Alt(
        Union(Weighted(1, leaf("/foo")), Weighted(2, leaf("/bar"))),
        Union(Weighted(0.5, leaf("/bar")), Weighted(0.5, leaf("/baz"))),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "simple expected but end of input found at '[]'"),
        ("#", "simple expected but end of input found at '#[]'"),
        ("/foo &", "simple expected but end of input found at '/foo &[]'"),
        ("/foo & 0.1.2 * /bar", "number char expected but '.' found at '/foo & 0.1[.]2 * /bar'"),
        ("/foo & . * /bar", "weight expected but '.' found at '/foo & [.] * /bar'"),
        ("(/foo", "')' expected but end of input found at '(/foo[]'"),
    ],
)
def test_p10_malformed_trees_are_errors(text: str, message: str) -> None:
    with pytest.raises(NamingSyntaxError) as info:
        NameTree.read(text)
    assert str(info.value) == message


def test_show_prints_weights_with_two_decimals_and_omits_one() -> None:
    assert NameTree.read("0.3 * /a & 0.7*/b").show == "0.30*/a & 0.70*/b"
    assert NameTree.read("3 * /baz").show == "/baz"  # a single child: its weight is dropped
    assert NameTree.read("/a & 3*/baz").show == "/a & 3.00*/baz"


def test_show_of_nested_trees_parenthesises_them() -> None:
    tree = NameTree.read("/a | (/b | /c) & /d")
    assert tree.show == "/a | ((/b | /c) & /d)"
    assert NameTree.read(tree.show) == tree


# -- dentries and dtabs -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["/=>!", "/ => !"])
def test_p11_the_empty_prefix(text: str) -> None:
    assert Dentry.read(text) == Dentry(Prefix(), FAIL)


def test_p12_a_wildcard_element() -> None:
    d = Dentry.read("/foo/*/bar => !")
    assert d.prefix == Prefix([b"foo", ANY, b"bar"]) and d.dst is FAIL


@pytest.mark.parametrize("text", ["/foo/*bar/baz => !", "/&!"])
def test_p13_malformed_dentries_are_errors(text: str) -> None:
    with pytest.raises(NamingSyntaxError):
        Dentry.read(text)


@pytest.mark.parametrize(
    ("text", "count"), [("", 0), ("  /=>!  ", 1), ("/=>!;", 1), ("/=>!;/foo=>/bar", 2)]
)
def test_p14_dtab_sizes(text: str, count: int) -> None:
    dtab = Dtab.read(text)
    assert len(dtab) == count
    if count == 2:
        assert [d.show for d in dtab] == ["/=>!", "/foo=>/bar"]


def test_p15_comments_anywhere_between_tokens() -> None:
    dtab = Dtab.read(
        "# a comment\n /#foo => /biz  # c\n | ( /bliz & # c\n /bluth ) # c\n ; #f\n #/ignore=>/me;"
    )
    assert list(dtab) == [
        Dentry(Prefix([b"#foo"]), Alt(leaf("/biz"), Union(leaf("/bliz"), leaf("/bluth"))))
    ]


def test_p16_show_has_no_spaces_around_the_arrow() -> None:
    assert Dtab.read("/a/*/c => /d").show == "/a/*/c=>/d"


def test_p17_concatenation_keeps_order() -> None:
    d1 = Dtab.read("/foo=>/bar")
    d2 = Dtab.read("/foo=>/biz;/biz=>/$/inet/8080;/bar=>/$/inet/9090")
    both = d1 + d2
    assert [d.show for d in both] == [
        "/foo=>/bar",
        "/foo=>/biz",
        "/biz=>/$/inet/8080",
        "/bar=>/$/inet/9090",
    ]
    assert d1 + EMPTY_DTAB == d1 and EMPTY_DTAB + d1 == d1


def test_a_dtab_shows_and_reads_back() -> None:
    dtab = Dtab.read("/svc => /#/io.l5d.fs | /$/fail; /svc/web => 0.9*/a & 0.1*/b")
    assert Dtab.read(dtab.show) == dtab
    assert dtab.show == "/svc=>/#/io.l5d.fs | /$/fail;/svc/web=>0.90*/a & 0.10*/b"


def test_reading_something_that_is_not_text_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Dtab.read(b"/a=>/b")  # type: ignore[arg-type]


# -- read(show(t)) == t -----------------------------------------------------------------------

labels = st.text(alphabet="abc:.#$%-_09", min_size=1, max_size=4)
paths = st.lists(labels, max_size=3).map(lambda xs: Leaf(Path.of(*xs)))
trees = st.recursive(
    st.one_of(paths, st.sampled_from([NEG, FAIL, EMPTY])),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda ts: Alt(*ts)),
        st.lists(st.tuples(st.integers(0, 5), children), min_size=2, max_size=3).map(
            lambda ws: Union(*(Weighted(w, t) for w, t in ws))
        ),
    ),
    max_leaves=8,
)


@given(trees)
def test_reading_what_show_printed_gives_the_same_tree(tree: NameTree[Path]) -> None:
    assert NameTree.read(tree.show) == tree
