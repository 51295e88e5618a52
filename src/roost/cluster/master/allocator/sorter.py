"""Dominant Resource Fairness ordering of clients (roles, or the frameworks of one role).

Mirrors Mesos ``src/master/allocator/sorter/drf/sorter.cpp``:

* ``share(c) = max over scalar resources r of allocation_r / total_r``, divided by the
  client's weight (default 1.0), ignoring resources named in ``excluded``
  (``--fair_sharing_excluded_resource_names``);
* clients sort by share, then by allocation count (how many times the client was chosen),
  then by name;
* only active clients are sorted; suppressed frameworks are deactivated, not removed.

Like upstream the sorter is incremental: shares are cached, an allocation change recomputes
only that client's share and moves it in a sorted list (``bisect``), and a change of the
cluster total marks every share dirty, recomputed once on the next :meth:`DrfSorter.sort`
(upstream's ``dirty`` flag). Roles are flat: ``eng/web`` is one client, not a tree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from roost.cluster.master.allocator.errors import AllocatorError, DuplicateError
from roost.core.resources import Resources

Quantities = tuple[tuple[str, int], ...]
"""Scalar amounts in thousandths, as ``(name, millis)`` pairs (upstream ``ResourceQuantities``)."""


def quantities(resources: Resources) -> Quantities:
    """The scalar part of ``resources``; ranges and sets take no part in fairness."""
    return tuple(resources.scalar_items())


class ClusterTotals:
    """The cluster's scalar totals, shared by every sorter of one allocator.

    Upstream each sorter keeps its own copy (``DRFSorter::addSlave`` runs for the role sorter
    and for every framework sorter). Sharing one object with a version number makes adding an
    agent O(1) rather than O(roles): a sorter sees the new version the next time it sorts.
    """

    __slots__ = ("millis", "version")

    def __init__(self) -> None:
        self.millis: dict[str, int] = {}
        self.version = 0

    def add(self, q: Quantities) -> None:
        millis = self.millis
        for name, m in q:
            millis[name] = millis.get(name, 0) + m
        self.version += 1

    def remove(self, q: Quantities) -> None:
        millis = self.millis
        for name, m in q:
            left = millis.get(name, 0) - m
            if left > 0:
                millis[name] = left
            else:
                millis.pop(name, None)
        self.version += 1

    def as_resources(self) -> Resources:
        return Resources(self.millis)


class _Client:
    __slots__ = ("active", "alloc", "count", "key", "name", "raw", "weight")

    def __init__(self, name: str, weight: float, active: bool) -> None:
        self.name = name
        self.alloc: dict[str, int] = {}
        self.count = 0
        self.raw = 0.0  # unweighted dominant share
        self.weight = weight
        self.active = active
        self.key: tuple[float, int, str] = (0.0, 0, name)


class DrfSorter:
    """Orders clients by weighted dominant share; see the module docstring for the rules."""

    def __init__(self, excluded: Iterable[str] = (), totals: ClusterTotals | None = None) -> None:
        self._excluded = frozenset(excluded)
        self._totals = totals if totals is not None else ClusterTotals()
        self._version = self._totals.version - 1  # dirty: nothing computed yet
        self._denoms: dict[str, int] = {}  # the totals of fairness resources, as of _version
        self._clients: dict[str, _Client] = {}
        self._weights: dict[str, float] = {}
        self._order: list[tuple[float, int, str]] = []  # keys of active clients, sorted
        self._names: list[str] = []  # the names of ``_order``, kept in step with it

    # -- clients ------------------------------------------------------------------------------
    def add(self, client: str, *, active: bool = True) -> None:
        if client in self._clients:
            raise DuplicateError("sorter client", client)
        c = _Client(client, self._weights.get(client, 1.0), False)
        self._clients[client] = c
        if active:
            self.activate(client)

    def remove(self, client: str) -> None:
        """Forget ``client`` and its allocation (upstream ``DRFSorter::remove``)."""
        self.deactivate(client)
        del self._clients[client]

    def __contains__(self, client: object) -> bool:
        return client in self._clients

    def __len__(self) -> int:
        return len(self._clients)

    def clients(self) -> list[str]:
        return list(self._clients)

    def activate(self, client: str) -> None:
        c = self._clients[client]
        if c.active:
            return
        c.active = True
        c.raw = self._raw_share(c.alloc)
        c.key = (c.raw / c.weight, c.count, client)
        self._insert(c.key)

    def deactivate(self, client: str) -> None:
        c = self._clients[client]
        if c.active:
            self._delete(c.key)
            c.active = False

    def is_active(self, client: str) -> bool:
        return self._clients[client].active

    def set_weight(self, client: str, weight: float) -> None:
        """Weights may be set before the client exists (upstream ``updateWeight``)."""
        if not weight > 0 or weight == float("inf"):
            raise AllocatorError(f"weight of '{client}' must be positive and finite, not {weight}")
        self._weights[client] = weight
        c = self._clients.get(client)
        if c is not None:
            c.weight = weight
            self._rekey(c)

    def weight(self, client: str) -> float:
        return self._weights.get(client, 1.0)

    # -- resources ----------------------------------------------------------------------------
    def add_total(self, resources: Resources) -> None:
        self._totals.add(quantities(resources))

    def remove_total(self, resources: Resources) -> None:
        self._totals.remove(quantities(resources))

    def total(self) -> Resources:
        return self._totals.as_resources()

    def allocated(self, client: str, resources: Resources) -> None:
        self.add_allocation(client, quantities(resources))

    def unallocated(self, client: str, resources: Resources) -> None:
        self.remove_allocation(client, quantities(resources))

    def add_allocation(self, client: str, q: Quantities) -> None:
        """``allocated`` for precomputed quantities; only this client's share is recomputed.

        This is the allocation run's hot path, hence written out in one piece.
        """
        c = self._clients[client]
        alloc = c.alloc
        c.count += 1
        if self._version != self._totals.version:
            for name, m in q:
                alloc[name] = alloc.get(name, 0) + m
            return  # every share is recomputed on the next sort
        # The allocation only grew, so the new dominant share is the old one or one of ``q``'s.
        raw = c.raw
        denoms = self._denoms
        for name, m in q:
            v = alloc.get(name, 0) + m
            alloc[name] = v
            t = denoms.get(name)
            if t:
                s = v / t
                if s > raw:
                    raw = s
        c.raw = raw
        key = (raw / c.weight, c.count, client)
        if c.active:
            order, names = self._order, self._names
            if len(order) == 1:  # common for a role's framework sorter: nothing to reorder
                order[0] = key
                c.key = key
                return
            i = bisect_left(order, c.key)
            del order[i]
            del names[i]
            i = bisect_left(order, key)
            order.insert(i, key)
            names.insert(i, client)
        c.key = key

    def remove_allocation(self, client: str, q: Quantities) -> None:
        c = self._clients[client]
        alloc = c.alloc
        for name, m in q:
            left = alloc.get(name, 0) - m
            if left > 0:
                alloc[name] = left
            else:
                alloc.pop(name, None)
        if self._version == self._totals.version:
            c.raw = self._raw_share(alloc)
            self._rekey(c)

    def allocation(self, client: str) -> Resources:
        """The client's allocated scalars."""
        return Resources(self._clients[client].alloc)

    def share(self, client: str) -> float:
        """The client's weighted dominant share."""
        self.ordered()  # brings shares up to date with the totals
        c = self._clients[client]
        return c.raw / c.weight

    def count(self, client: str) -> int:
        return self._clients[client].count

    # -- ordering -----------------------------------------------------------------------------
    def sort(self) -> list[str]:
        """Active clients, lowest weighted dominant share first."""
        return list(self.ordered())

    def ordered(self) -> list[str]:
        """Like :meth:`sort` but the sorter's own list, for hot loops: do not mutate it.

        Allocation changes update this list in place; it is replaced only when the cluster
        totals change, so within one allocation run one call per sorter is enough.
        """
        if self._version != self._totals.version:
            self._recompute()
        return self._names

    def _recompute(self) -> None:
        excluded = self._excluded
        self._denoms = {n: t for n, t in self._totals.millis.items() if n not in excluded}
        order = []
        for c in self._clients.values():
            c.raw = self._raw_share(c.alloc)
            c.key = (c.raw / c.weight, c.count, c.name)
            if c.active:
                order.append(c.key)
        order.sort()
        self._order = order
        self._names = [k[2] for k in order]
        self._version = self._totals.version

    def _raw_share(self, alloc: dict[str, int]) -> float:
        denoms = self._denoms
        share = 0.0
        for name, m in alloc.items():
            t = denoms.get(name)
            if t:
                s = m / t
                if s > share:
                    share = s
        return share

    def _rekey(self, c: _Client) -> None:
        key = (c.raw / c.weight, c.count, c.name)
        if c.active:
            self._delete(c.key)
            self._insert(key)
        c.key = key

    def _insert(self, key: tuple[float, int, str]) -> None:
        i = bisect_left(self._order, key)
        self._order.insert(i, key)
        self._names.insert(i, key[2])

    def _delete(self, key: tuple[float, int, str]) -> None:
        i = bisect_left(self._order, key)
        del self._order[i]
        del self._names[i]
