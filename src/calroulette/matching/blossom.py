"""Grow any matching into a maximum-cardinality one: Edmonds' blossom algorithm, one search per
free vertex.

Used for communities too large for a weighted matching of the whole compatibility graph. It never
materialises the graph: ``neighbors(v)`` is asked for when a search reaches ``v``, so a large,
dense compatibility graph costs only the rows a search actually reads.

Why one pass is enough, and why the work stays bounded (Edmonds 1965; Cook, Cunningham, Pulleyblank
and Schrijver, *Combinatorial Optimization*, §5.2):

- Berge: a matching is maximum exactly when no augmenting path exists.
- A search from a free vertex ``r`` either finds an augmenting path (the matching grows by one,
  and every matched vertex stays matched) or ends with a *frustrated* (Hungarian) tree. The vertices
  of a frustrated tree are never on an augmenting path later, so they are removed for the rest of
  the run and no later search reads their rows again; ``r`` never needs a second search.

So after one search from every free vertex there is no augmenting path left: the matching is
maximum. The tests check the count against networkx's matching on thousands of random graphs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

Neighbors = Callable[[int], Sequence[int]]


def augment_to_maximum(
    n: int, mate: list[int], neighbors: Neighbors, roots: Iterable[int] | None = None
) -> int:
    """Grow ``mate`` (``mate[v]`` is ``v``'s partner or -1) in place into a maximum matching.

    ``roots`` chooses the order in which free vertices are searched from (earlier roots are more
    likely to end up matched); every free vertex is tried once, listed or not. Returns how many
    augmenting paths were found.

    >>> mate = [-1, -1, -1, -1]
    >>> path = {0: [1], 1: [0, 2], 2: [1, 3], 3: [2]}
    >>> augment_to_maximum(4, mate, path.__getitem__)
    2
    >>> mate
    [1, 0, 3, 2]
    """
    search = _Search(n, mate, neighbors)
    order = list(roots) if roots is not None else []
    seen = set(order)
    order.extend(v for v in range(n) if v not in seen)
    free = 0
    for v in order:
        if mate[v] == -1:
            if len(neighbors(v)) == 0:
                search.removed[v] = True  # isolated: never on a path
            else:
                free += 1
    found = 0
    for root in order:
        if free < 2:  # an augmenting path joins two free vertices: none can exist
            break
        if mate[root] != -1 or search.removed[root]:
            continue
        if search.run(root):
            found += 1
            free -= 2
        else:
            free -= 1  # the frustrated tree's only free vertex is its root
    return found


class _Search:
    """The state of the alternating-tree search, reused across roots (only touched entries are
    reset, so a search costs what it reads, not ``n``)."""

    def __init__(self, n: int, mate: list[int], neighbors: Neighbors) -> None:
        self.mate = mate
        self.neighbors = neighbors
        self.removed = [False] * n
        self.base = list(range(n))
        self.parent = [-1] * n  # for odd vertices: the even vertex that reached them
        self.even = [False] * n  # "used" in the usual formulation: outer vertices
        self.touched: list[int] = []
        self.members: dict[int, list[int]] = {}  # a blossom's base -> its vertices (when > 1)

    def run(self, root: int) -> bool:
        """Search from the free vertex ``root``; augment and return True when a path exists."""
        mate, base, parent, even, removed = (
            self.mate,
            self.base,
            self.parent,
            self.even,
            self.removed,
        )
        touched = self.touched
        even[root] = True
        touched.append(root)
        queue = deque([root])
        while queue:
            v = queue.popleft()
            for w in self.neighbors(v):
                if removed[w] or base[v] == base[w] or mate[v] == w:
                    continue
                if w == root or (mate[w] != -1 and parent[mate[w]] != -1):
                    self._contract(v, w, queue)
                elif parent[w] == -1:
                    parent[w] = v
                    touched.append(w)
                    if mate[w] == -1:
                        self._flip(w)
                        self._reset()
                        return True
                    partner = mate[w]
                    even[partner] = True
                    touched.append(partner)
                    queue.append(partner)
        for v in touched:  # a frustrated tree: never on an augmenting path again
            removed[v] = True
        self._reset()
        return False

    def _contract(self, v: int, w: int, queue: deque[int]) -> None:
        """``v``-``w`` closes an odd cycle: shrink it into one blossom with base ``lca``."""
        lca = self._lca(v, w)
        in_blossom: set[int] = set()
        self._mark(v, lca, w, in_blossom)
        self._mark(w, lca, v, in_blossom)
        base, even, members = self.base, self.even, self.members
        # Only the vertices of the blossoms being merged change base, so walk those (not the whole
        # tree): in a dense graph one giant blossom absorbs small ones, each merge costs little.
        merged = members.setdefault(lca, [lca])
        for b in in_blossom:
            if b == lca:
                continue
            group = members.pop(b, None) or [b]
            for u in group:
                base[u] = lca
            merged.extend(group)
            if not even[b]:  # an odd vertex on the cycle: its own blossom of one until now
                even[b] = True
                queue.append(b)

    def _lca(self, a: int, b: int) -> int:
        base, mate, parent = self.base, self.mate, self.parent
        seen: set[int] = set()
        while True:
            a = base[a]
            seen.add(a)
            if mate[a] == -1:
                break
            a = parent[mate[a]]
        while True:
            b = base[b]
            if b in seen:
                return b
            b = parent[mate[b]]

    def _mark(self, v: int, lca: int, child: int, in_blossom: set[int]) -> None:
        base, mate, parent = self.base, self.mate, self.parent
        while base[v] != lca:
            in_blossom.add(base[v])
            in_blossom.add(base[mate[v]])
            parent[v] = child
            child = mate[v]
            v = parent[mate[v]]

    def _flip(self, v: int) -> None:
        """Augment along the path that ends at the free vertex ``v``."""
        mate, parent = self.mate, self.parent
        while v != -1:
            pv = parent[v]
            next_v = mate[pv]
            mate[v] = pv
            mate[pv] = v
            v = next_v

    def _reset(self) -> None:
        for u in self.touched:
            self.base[u] = u
            self.parent[u] = -1
            self.even[u] = False
        self.touched.clear()
        self.members.clear()
