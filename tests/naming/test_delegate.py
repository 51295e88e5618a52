"""Delegation ("explain"): Linkerd's DelegateApiHandlerTest and DelegatorTest trees (D1, D2
and the full /boo/humbug example), JSON key for key."""

from __future__ import annotations

import json

from roost.naming import Dtab, NameTree, Path, mount
from roost.naming.delegate import MAX_DEPTH_MESSAGE, delegate
from roost.naming.namer import Name

DTAB = Dtab.read(
    """
    /beh => /#/error ;
    /bah/humbug => /$/inet/127.1/8080 ;
    /foo => /bah | /beh | /$/fail ;
    /foo => /bar ;
    /boo => /foo ;
    /meh => /heh ;
    /neg => ~ ;
    """
)


class ErrorNamer:
    async def lookup(self, path: Path) -> NameTree[Name]:
        raise RuntimeError(f"error naming /#/error{path.show}")


NAMERS = [mount("/#/error", ErrorNamer())]


async def explain(path: str) -> str:
    node = await delegate(DTAB, Path.read(path), namers=NAMERS)
    return json.dumps(node.to_json(), separators=(",", ":"))


async def test_the_full_example_tree() -> None:
    assert await explain("/boo/humbug") == (
        '{"type":"delegate","path":"/boo/humbug","delegate":{'
        '"type":"alt","path":"/foo/humbug","dentry":{"prefix":"/boo","dst":"/foo"},"alt":['
        '{"type":"neg","path":"/bar/humbug","dentry":{"prefix":"/foo","dst":"/bar"}},'
        '{"type":"delegate","path":"/bah/humbug",'
        '"dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{'
        '"type":"leaf","path":"/$/inet/127.1/8080","dentry":{"prefix":"/bah/humbug",'
        '"dst":"/$/inet/127.1/8080"},'
        '"bound":{"addr":{"type":"bound","addrs":[{"ip":"127.0.0.1","port":8080,"meta":{}}],'
        '"meta":{}},"id":"/$/inet/127.1/8080","path":"/"}}},'
        '{"type":"delegate","path":"/beh/humbug",'
        '"dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"},"delegate":{'
        '"type":"exception","path":"/#/error/humbug","dentry":{"prefix":"/beh","dst":"/#/error"},'
        '"message":"error naming /#/error/humbug"}},'
        '{"type":"fail","path":"/$/fail/humbug","dentry":{"prefix":"/foo","dst":"/bah | /beh | /$/fail"}}]}}'
    )


async def test_d1_a_path_nothing_names_is_negative() -> None:
    assert await explain("/nope") == '{"type":"neg","path":"/nope"}'


async def test_d2_a_rewrite_to_nothing_is_shown_with_its_dentry() -> None:
    assert await explain("/meh/hey") == (
        '{"type":"delegate","path":"/meh/hey","delegate":'
        '{"type":"neg","path":"/heh/hey","dentry":{"prefix":"/meh","dst":"/heh"}}}'
    )


async def test_an_explicit_neg_is_shown_as_a_tilde() -> None:
    assert await explain("/neg") == (
        '{"type":"delegate","path":"/neg","delegate":'
        '{"type":"neg","path":"~","dentry":{"prefix":"/neg","dst":"~"}}}'
    )


async def test_a_weighted_union_shows_every_branch_with_its_weight() -> None:
    node = await delegate(Dtab.read("/s => 3 * /$/inet/1 & 1 * /x"), Path.read("/s"))
    tree = node.to_json()
    assert tree["type"] == "union" and tree["path"] == "/s"
    assert [(u["weight"], u["tree"]["type"]) for u in tree["union"]] == [
        (3.0, "leaf"),
        (1.0, "neg"),
    ]


async def test_a_rewrite_loop_ends_in_an_exception_node() -> None:
    node = await delegate(Dtab.read("/a => /b; /b => /a"), Path.read("/a"), max_depth=5)
    text = json.dumps(node.to_json())
    assert MAX_DEPTH_MESSAGE in text
