from __future__ import annotations

import pytest

from roost.marathon.selectors import LabelSelector, Requirement, SelectorError


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("", ()),
        ("   ", ()),
        ("partition", (Requirement("partition", "exists"),)),
        ("test == foo", (Requirement("test", "==", ("foo",)),)),
        ("test==foo", (Requirement("test", "==", ("foo",)),)),
        ("test != foo", (Requirement("test", "!=", ("foo",)),)),
        (
            "environment in (production, qa)",
            (Requirement("environment", "in", ("production", "qa")),),
        ),
        ("tier notin (frontend,backend)", (Requirement("tier", "notin", ("frontend", "backend")),)),
        ("tier notin(frontend)", (Requirement("tier", "notin", ("frontend",)),)),
        ("a in ()", (Requirement("a", "in", ()),)),
        ("  a  ==  b  ", (Requirement("a", "==", ("b",)),)),
        ("in in (in)", (Requirement("in", "in", ("in",)),)),
        ("v1.2_x-y==a.b-c_d", (Requirement("v1.2_x-y", "==", ("a.b-c_d",)),)),
        # examples from LabelSelectorParsers.scala's doc comment
        (
            r"\!\!\! in (\-\-\-, \&\&\&, \+\+\+)",
            (Requirement("!!!", "in", ("---", "&&&", "+++")),),
        ),
        (
            "a in (t1, t2, t3), b notin (t1), c, d",
            (
                Requirement("a", "in", ("t1", "t2", "t3")),
                Requirement("b", "notin", ("t1",)),
                Requirement("c", "exists"),
                Requirement("d", "exists"),
            ),
        ),
        (r"key\ with\ spaces==v\,1", (Requirement("key with spaces", "==", ("v,1",)),)),
        (r"a==\\", (Requirement("a", "==", ("\\",)),)),
    ],
)
def test_parse_reads_the_marathon_selector_grammar(
    text: str, requirements: tuple[Requirement, ...]
) -> None:
    assert LabelSelector.parse(text).requirements == requirements


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("a=b", "found '=b' at position 1"),
        ("a = b", "found '= b' at position 2"),
        ("a ==", "expected a value"),
        ("a == ,b", "found ',b'"),
        ("a in", "expected '(' after 'in', found the end"),
        ("a in b", "expected '(' after 'in', found 'b'"),
        ("a inx (b)", "expected '(' after 'in', found 'x (b)'"),
        ("a in (b", "expected ',' or ')' in the value set, found the end"),
        ("a in (b,)", "expected a value"),
        ("a in (b c)", "found 'c)'"),
        ("a,", "expected a label name"),
        (",a", "expected a label name"),
        ("a,,b", "found ',b' at position 2"),
        ("a b", "expected ',' or the end of the selector, found 'b'"),
        ("ain(b)", "found '(b)'"),
        ("a==b==c", "found '==c'"),
        ("\u00e9t\u00e9==x", "expected a label name"),  # non-ASCII needs escaping
        ("a\\", "found '\\'"),
    ],
)
def test_parse_rejects_bad_selectors_naming_the_bad_part(text: str, bad_part: str) -> None:
    with pytest.raises(SelectorError) as info:
        LabelSelector.parse(text)
    message = str(info.value)
    assert message.startswith(f"Invalid label selector '{text}': ")
    assert bad_part in message


def test_selector_error_is_a_value_error() -> None:
    assert issubclass(SelectorError, ValueError)


def test_a_long_bad_tail_is_shortened_in_the_message() -> None:
    with pytest.raises(SelectorError, match=r"found 'bbbbbbbbbbbbbbbbbbbb\.\.\.'"):
        LabelSelector.parse("a " + "b" * 100)


LABELS = {"env": "prod", "tier": "web", "team": "core", "!!!": "&&&"}


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("", {}, True),
        ("env", LABELS, True),
        ("missing", LABELS, False),
        ("env==prod", LABELS, True),
        ("env==dev", LABELS, False),
        ("env!=dev", LABELS, True),
        ("env!=prod", LABELS, False),
        ("env in (dev, prod)", LABELS, True),
        ("env in (dev, qa)", LABELS, False),
        ("env in ()", LABELS, False),
        ("env notin (dev, qa)", LABELS, True),
        ("env notin (prod)", LABELS, False),
        ("env notin ()", LABELS, True),
        # Marathon: every selector first needs the label to be present
        ("missing!=x", LABELS, False),
        ("missing notin (x)", LABELS, False),
        ("missing notin ()", LABELS, False),
        # comma = AND
        ("env==prod, tier==web", LABELS, True),
        ("env==prod, tier==db", LABELS, False),
        ("env in (prod,qa), tier notin (db), team", LABELS, True),
        (r"\!\!\!==\&\&\&", LABELS, True),
        ("env==PROD", LABELS, False),  # values are case-sensitive
        ("ENV==prod", LABELS, False),  # and so are keys
    ],
)
def test_matches_requires_every_selector_to_hold(
    text: str, labels: dict[str, str], matches: bool
) -> None:
    assert LabelSelector.parse(text).matches(labels) is matches


def test_a_selector_filters_a_list_of_apps_by_their_labels() -> None:
    apps = {
        "/web": {"env": "prod", "tier": "web"},
        "/db": {"env": "prod", "tier": "db"},
        "/dev-web": {"env": "dev", "tier": "web"},
        "/plain": {},
    }
    selector = LabelSelector.parse("env==prod, tier in (web, cache)")
    assert [app for app, labels in apps.items() if selector.matches(labels)] == ["/web"]


@pytest.mark.parametrize(
    "text",
    [
        "a",
        "a==b",
        "a!=b",
        "a in (b, c)",
        "a notin ()",
        r"\!\!\! in (\-\-\-, \&\&\&)",
        r"k\ 1==v\,2, x",
    ],
)
def test_str_writes_a_selector_that_parses_back_to_the_same_thing(text: str) -> None:
    selector = LabelSelector.parse(text)
    assert LabelSelector.parse(str(selector)) == selector
