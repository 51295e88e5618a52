"""Marathon constraints: ``[field, OPERATOR(, value)]`` checked against an offer and the peers.

Semantics follow Marathon's ``mesos/Constraints.scala`` and ``docs/docs/constraints.md``:

* fields: ``hostname`` / ``@hostname`` (agent hostname), ``@region`` / ``@zone`` (the offer's
  fault domain), anything else an agent attribute, compared as its formatted string
  (:mod:`~roost.marathon.placement.offer_view`);
* an agent without the field is refused by every operator except ``UNLIKE``;
* ``UNIQUE``: no peer has this value; ``CLUSTER``: equal to the value, or without a value equal
  to the first peer's (the first placement pins it); ``GROUP_BY``: spread evenly, accept when
  this value's count is the smallest (a new value always is), with a number = the expected
  number of groups, so while fewer groups are known their count is zero and only new values
  are accepted; ``LIKE`` / ``UNLIKE``: the whole value (does not) match the regex;
  ``MAX_PER``: fewer than N peers have this value; ``IS``: equal to the value. ``IN`` (a
  comma-separated list, Marathon 1.8+) is accepted too.

Differences: peers lacking the field form no ``GROUP_BY`` group (Marathon counts them as a
group of their own); Python's ``re`` stands in for Java's regex dialect; Marathon's
``@zone`` reader is wired to the field name ``@field`` by mistake, roost reads ``@zone``. An
unknown operator or a malformed value refuses the offer (validation rejects them earlier).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from roost.marathon.placement.checkers import Attempt
from roost.marathon.placement.reasons import UNFULFILLED_CONSTRAINT


class Placed(Protocol):
    """Anything with constraint fields: an :class:`OfferView` or a :class:`Peer`."""

    def field(self, name: str) -> str | None: ...


def meets_constraint(constraint: Sequence[str], target: Placed, peers: Sequence[Placed]) -> bool:
    """Whether placing one more instance on ``target`` keeps ``constraint`` (``meetsConstraint``)."""
    if len(constraint) not in (2, 3):
        return False
    name, operator = constraint[0], constraint[1].upper()
    value = constraint[2] if len(constraint) == 3 else ""
    mine = target.field(name)
    if mine is None:
        return operator == "UNLIKE"
    if operator == "UNIQUE":
        return all(p.field(name) != mine for p in peers)
    if operator == "CLUSTER":
        if value:
            return mine == value
        return not peers or peers[0].field(name) == mine
    if operator == "GROUP_BY":
        return _group_by(name, mine, value, peers)
    if operator == "MAX_PER":
        limit = _int(value)
        return limit is not None and sum(p.field(name) == mine for p in peers) < limit
    if operator in ("LIKE", "UNLIKE"):
        pattern = _regex(value)
        if pattern is None:
            return False
        return (pattern.fullmatch(mine) is not None) == (operator == "LIKE")
    if operator == "IS":
        return mine == value
    if operator == "IN":
        return mine in re.split(r" *, *", value)
    return False


def _group_by(name: str, mine: str, value: str, peers: Sequence[Placed]) -> bool:
    # Marathon's getIntValue(value, 0): a missing or non-numeric value means no expectation.
    expected = _int(value) or 0
    counts = Counter(v for v in (p.field(name) for p in peers) if v is not None)
    if mine not in counts:
        return True  # a group with no instance yet is always among the smallest
    if len(counts) < expected:
        return False  # some expected group is still empty: fill it first
    return counts[mine] == min(counts.values())


def _int(text: str) -> int | None:
    if text == "inf":
        return 2**31 - 1  # Marathon's getIntValue: Integer.MAX_VALUE
    try:
        return int(text)
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _regex(text: str) -> re.Pattern[str] | None:
    if not text:
        return None  # Marathon: "value is required for LIKE operation"
    try:
        return re.compile(text)
    except re.error:
        return None


@dataclass(frozen=True)
class ConstraintsChecker:
    """``UnfulfilledConstraint`` when any of the app's constraints refuses the offer."""

    name: str = "constraints"
    why: str = "last: the only checker whose cost grows with the number of peers"

    def __call__(self, attempt: Attempt) -> str | None:
        for constraint in attempt.app.constraints:
            if not meets_constraint(constraint, attempt.offer, attempt.peers):
                return UNFULFILLED_CONSTRAINT
        return None
