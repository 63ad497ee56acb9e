"""Graph checks a SPICE simulator would otherwise fail on with a singular matrix.

* a node touched by a single terminal (a dangling wire);
* a node with no DC path to ground (capacitors are open at DC, current
  sources and a VCVS's sensing inputs conduct nothing);
* a loop made only of voltage-defined branches (V sources, VCVS outputs and
  inductors, which are shorts at DC): its currents are undetermined.

Each failure names the first card that touches the offending node.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pedalboard.circuit.netlist import Element, Netlist

GROUND = "0"


class _Sets:
    """Union-find over node names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: str, b: str) -> bool:
        """Join two sets; False when they were already one (a loop)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


def conducting_pairs(element: Element) -> list[tuple[str, str]]:
    """Node pairs an element connects at DC."""
    n = element.nodes
    if element.kind in ("r", "l", "v", "d"):
        return [(n[0], n[1])]
    if element.kind == "e":
        return [(n[0], n[1])]
    if element.kind in ("q", "j"):
        return [(n[0], n[1]), (n[1], n[2])]
    return []


def check_topology(netlist: Netlist) -> None:
    """Raise :class:`NetlistError` for dangling, floating or looped nodes."""
    first: dict[str, Element] = {}
    uses: Counter[str] = Counter()
    for element in netlist.elements:
        for node in element.nodes:
            uses[node] += 1
            first.setdefault(node, element)
    for node, count in uses.items():
        if node != GROUND and count < 2:
            raise first[node].location.error(
                f"floating node {node!r}: only one connection ({first[node].name})")
    dc = _Sets()
    loops = _Sets()
    dc.find(GROUND)
    for element in netlist.elements:
        for a, b in conducting_pairs(element):
            dc.union(a, b)
        if element.kind in ("v", "e", "l") and not loops.union(element.nodes[0],
                                                              element.nodes[1]):
            raise element.location.error(
                f"voltage-source loop: {element.name} closes a loop of voltage sources, "
                "VCVS outputs and inductors")
    ground = dc.find(GROUND)
    for node in uses:
        if dc.find(node) != ground:
            raise first[node].location.error(
                f"floating node {node!r}: no DC path to ground (only capacitors or "
                "current sources lead to it)")
