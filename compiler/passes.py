"""Passes over the IR that every emitter shares: which nodes get a name, and in what order.

Targets print expressions; they do not decide evaluation order or sharing. A node that
is referenced more than once (and is not a leaf like a feature or a constant), every
tree, and every computed tree input (a tree reads it at many splits) is bound to a name
once and then referenced by it. That keeps the text of every target linear in the size
of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Const, Expr, Feature, Item, Program, Tree


@dataclass
class Schedule:
    """Named nodes in dependency order, with the let-level of each (for SQL nesting)."""

    bound: list[Expr]
    names: dict[int, str]
    level: dict[int, int]

    def name(self, node: Expr) -> str | None:
        return self.names.get(id(node))

    def levels(self) -> list[list[Expr]]:
        """Bound nodes grouped so that a level only depends on lower levels."""
        out: list[list[Expr]] = []
        for node in self.bound:
            lv = self.level[id(node)]
            while len(out) <= lv:
                out.append([])
            out[lv].append(node)
        return out


def _postorder(roots: list[Expr], into_trees: bool = True) -> list[Expr]:
    seen: set[int] = set()
    order: list[Expr] = []
    for root in roots:
        if id(root) in seen:
            continue
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            if isinstance(node, Tree) and not into_trees:
                continue
            for child in reversed(node.children()):
                if id(child) not in seen:
                    stack.append((child, False))
    return order


def schedule(roots: list[Expr], prefix: str = "v", into_trees: bool = True) -> Schedule:
    """Decide which nodes reachable from `roots` are bound to names. With `into_trees`
    false, trees are opaque: bound, but their inputs are someone else's to compute."""
    order = _postorder(roots, into_trees)
    refs: dict[int, int] = {}
    tree_inputs: set[int] = set()
    for node in order:
        if isinstance(node, Tree) and not into_trees:
            continue
        for child in node.children():
            refs[id(child)] = refs.get(id(child), 0) + 1
        if isinstance(node, Tree):
            tree_inputs.update(id(i) for i in node.inputs)
    bound: list[Expr] = []
    names: dict[int, str] = {}
    level: dict[int, int] = {}
    # depth[n] = the highest let-level among bound nodes that n's expression uses, + 1
    uses: dict[int, int] = {}
    for node in order:
        opaque = isinstance(node, Tree) and not into_trees
        below = 0 if opaque else max((uses[id(c)] for c in node.children()), default=0)
        is_leaf = isinstance(node, (Feature, Const))
        # an Item of a tree is a cheap lookup: name the tree, not the item
        shared = (refs.get(id(node), 0) > 1 or id(node) in tree_inputs) \
            and not isinstance(node, Item)
        if isinstance(node, Tree) or (shared and not is_leaf):
            names[id(node)] = f"{prefix}{len(bound)}"
            level[id(node)] = below
            bound.append(node)
            uses[id(node)] = below + 1
        else:
            uses[id(node)] = below
    return Schedule(bound, names, level)


def output_roots(program: Program, output: str) -> list[Expr]:
    """Every expression one scoring function evaluates: the checks, then the values."""
    return [c.fails for c in program.checks] + list(program.outputs[output].values)


def all_roots(program: Program) -> list[Expr]:
    roots = [c.fails for c in program.checks]
    for out in program.outputs.values():
        roots.extend(out.values)
    return roots


def features_of(roots: list[Expr], into_trees: bool = True) -> list[Feature]:
    """The input features these expressions read, in first-use order."""
    return [n for n in _postorder(roots, into_trees) if isinstance(n, Feature)]


def trees_of(roots: list[Expr]) -> list[Tree]:
    """Every tree these expressions use, once, in the order they use them."""
    return [n for n in _postorder(roots) if isinstance(n, Tree)]


def collect_trees(program: Program) -> list[Tree]:
    """Every tree of the program once, in the order the outputs use them."""
    return trees_of(all_roots(program))


def forests(trees: list[Tree]) -> list[list[Tree]]:
    """The trees grouped by the inputs they read (one group per ensemble), in order."""
    groups: dict[int, list[Tree]] = {}
    for tree in trees:
        groups.setdefault(id(tree.inputs), []).append(tree)
    return list(groups.values())


def tree_depth(tree: Tree) -> int:
    depth = [0] * len(tree.left)
    for i in range(len(tree.left)):  # sklearn numbers children after their parent
        if tree.left[i] != -1:
            depth[tree.left[i]] = depth[tree.right[i]] = depth[i] + 1
    return max(depth)
