"""Passes over the IR that every emitter shares: which nodes get a name, and in what order.

Targets print expressions; they do not decide evaluation order or sharing. A node that
is referenced more than once (and is not a leaf like a feature or a constant), every
tree, and every computed tree input (a tree reads it at many splits) is bound to a name
once and then referenced by it. That keeps the text of every target linear in the size
of the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from .ir import (
    Arith,
    Compare,
    Const,
    Expr,
    Feature,
    Func,
    InSet,
    IsMissing,
    Item,
    Max,
    Neg,
    Or,
    Program,
    Select,
    Sum,
    Text,
    Tree,
)


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


def _postorder(roots: list[Expr], into_trees: bool = True,
               given: frozenset[int] = frozenset()) -> list[Expr]:
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
            if (isinstance(node, Tree) and not into_trees) or id(node) in given:
                continue
            for child in reversed(node.children()):
                if id(child) not in seen:
                    stack.append((child, False))
    return order


def nodes(roots: list[Expr], into_trees: bool = True) -> list[Expr]:
    """Every node reachable from `roots`, once, children before parents."""
    return _postorder(roots, into_trees)


def schedule(roots: list[Expr], prefix: str = "v", into_trees: bool = True,
             force: frozenset[int] = frozenset(), inline: frozenset[int] = frozenset(),
             given: frozenset[int] = frozenset()) -> Schedule:
    """Decide which nodes reachable from `roots` are bound to names. With `into_trees`
    false, trees are opaque: bound, but their inputs are someone else's to compute. The
    nodes in `force` are bound too; the trees in `inline` are not when one Item read once
    reads them (a target prints such a tree where it is read). The nodes in `given` are
    the caller's to name and compute: neither they nor what only they read is bound."""
    order = _postorder(roots, into_trees, given)
    refs: dict[int, int] = {id(root): 0 for root in roots}
    for root in roots:  # a root is used once per time it is listed (predict_proba's p1)
        refs[id(root)] += 1
    tree_inputs: set[int] = set()
    reader: dict[int, Expr] = {}  # tree -> an Item reading it
    for node in order:
        if isinstance(node, Item):
            reader[id(node.vec)] = node
        if (isinstance(node, Tree) and not into_trees) or id(node) in given:
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
        if id(node) in given:
            uses[id(node)] = 0
            continue
        opaque = isinstance(node, Tree) and not into_trees
        below = 0 if opaque else max((uses[id(c)] for c in node.children()), default=0)
        is_leaf = isinstance(node, (Feature, Const, Text))
        # an Item of a tree is a cheap lookup: name the tree, not the item
        shared = (refs.get(id(node), 0) > 1 or id(node) in tree_inputs) \
            and not isinstance(node, Item)
        read_once = id(node) in inline and id(node) not in force \
            and refs.get(id(node), 0) == 1 and refs.get(id(reader.get(id(node))), 0) == 1
        # a vector (a tree's leaf, a matrix product, a map) is always computed into a name
        if (isinstance(node, Tree) and not read_once) \
                or (node.type == "vector" and not isinstance(node, Tree)) \
                or ((shared or id(node) in force) and not is_leaf):
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


def features_of(roots: list[Expr], into_trees: bool = True,
                given: frozenset[int] = frozenset()) -> list[Feature]:
    """The input features these expressions read (not through `given`), in first-use order."""
    return [n for n in _postorder(roots, into_trees, given) if isinstance(n, Feature)]


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


def breadth_first(tree: Tree) -> list[int]:
    """The tree's nodes breadth-first: the two children of a split are neighbours, as a
    table walk that steps to `left + (go right)` needs."""
    order = [0]
    for node in order:  # grows while iterating
        if tree.left[node] != -1:
            order += (tree.left[node], tree.right[node])
    return order


def tree_depth(tree: Tree) -> int:
    depth = [0] * len(tree.left)
    for i in range(len(tree.left)):  # sklearn numbers children after their parent
        if tree.left[i] != -1:
            depth[tree.left[i]] = depth[tree.right[i]] = depth[i] + 1
    return max(depth)


@dataclass(frozen=True)
class Range:
    """What a number node can be: NaN or not, bounds on its magnitude otherwise, whether it
    can be zero, and its sign (a target whose engine raises on an overflow, an underflow to
    zero or a division by zero asks for the last three)."""

    nan: bool
    mag: float  # |x| <= mag for every non-NaN value x (inf: no bound)
    low: float = 0.0  # |x| >= low for every non-NaN, non-zero value x (0.0: no bound)
    zero: bool = True  # may x be zero
    sign: int = 0  # 1: never below zero, -1: never above, 0: either


_ANY = Range(True, math.inf)


def _up(x: float) -> float:
    """x rounded up to the next double: a safe bound on a rounded result."""
    return math.inf if x >= _DBL_MAX else math.nextafter(x, math.inf)


def _down(x: float) -> float:
    """x rounded down toward zero: a safe lower bound on a rounded result."""
    return math.nextafter(x, 0.0) if 0.0 < x < math.inf else x


def _grain(low: float) -> float:
    """A power of two that divides every double of magnitude at least `low`."""
    if low <= 0.0:
        return 2.0 ** -1074
    if low >= _DBL_MAX:
        return 2.0 ** 971
    return max(2.0 ** (math.frexp(low)[1] - 54), 2.0 ** -1074)


class Ranges:
    """Ranges of number nodes, given what the checks that already passed rule out
    (`learn`) or what a caller assumes of the features (`assume`)."""

    def __init__(self, roots: list[Expr] | None = None) -> None:
        self.not_nan: set[object] = set()
        self.below: dict[object, float] = {}  # _key(node) -> a bound on its magnitude
        self.above: dict[object, float] = {}  # _key(node) -> a bound below its non-zero |x|
        self.memo: dict[int, Range] = {}
        self.sums: dict[int, list[Range]] = {}  # Sum -> partial_sums
        # with `roots`: _key(feature) -> the nodes computed from it, which an assumption
        # about it changes (the others keep their ranges)
        self.readers: dict[object, list[int]] | None = None
        if roots is not None:
            reads: dict[int, set[object]] = {}
            for node in _postorder(roots):  # a tree's leaf values do not depend on its inputs
                reads[id(node)] = {_key(node)} if isinstance(node, Feature) else set() \
                    if isinstance(node, Tree) else \
                    set().union(*(reads[id(c)] for c in node.children()))
            self.readers = {}
            for node, keys in reads.items():
                for key in keys:
                    self.readers.setdefault(key, []).append(node)

    def reading(self, feature: int) -> list[int]:
        """The ids of the nodes computed from this feature (given `roots`)."""
        return self.readers.get(("feature", feature), []) if self.readers is not None else []

    def learn(self, item: Expr) -> None:
        """The check item is known false for the row."""
        if isinstance(item, Or):
            pair = _inf_pair(item)
            if pair is not None:  # not (x >= T or x <= -T): |x| < T
                x, limit = pair
                self.below[_key(x)] = min(self.below.get(_key(x), math.inf),
                                          math.nextafter(limit, 0.0))
            else:
                for sub in item.items:
                    self.learn(sub)
        elif isinstance(item, IsMissing) and item.a.type == "number":
            self.not_nan.add(_key(item.a))
        self.memo.clear()
        self.sums.clear()

    def assume(self, node: Expr, mag: float, low: float = 0.0, nan: bool = False) -> None:
        """|node| <= mag, |node| >= low unless it is zero, and NaN only if `nan`."""
        key = _key(node)
        self.not_nan.discard(key)
        if not nan:
            self.not_nan.add(key)
        self.below[key], self.above[key] = mag, low
        if self.readers is None:
            self.memo.clear()
            self.sums.clear()
        for i in self.readers.get(key, ()) if self.readers is not None else ():
            self.memo.pop(i, None)
            self.sums.pop(i, None)

    def can_hold(self, item: Expr) -> bool:
        """Can the check item be true for some row?"""
        if isinstance(item, Or):
            return any(self.can_hold(sub) for sub in item.items)
        if isinstance(item, IsMissing) and item.a.type == "number":
            return self.of(item.a).nan
        if isinstance(item, Compare) and item.op in (">=", "<="):
            bound = item.bound if item.op == ">=" else -item.bound
            return bound <= 0 or self.of(item.a).mag >= bound
        return True

    def of(self, node: Expr) -> Range:
        if id(node) not in self.memo:
            r = self._compute(node)
            key = _key(node)
            self.memo[id(node)] = replace(r, nan=r.nan and key not in self.not_nan,
                                          mag=min(r.mag, self.below.get(key, math.inf)),
                                          low=max(r.low, self.above.get(key, 0.0)))
        return self.memo[id(node)]

    def partial_sums(self, node: Sum) -> list[Range]:
        """The ranges of the left fold's partial sums, the first term's included."""
        if id(node) not in self.sums:
            out = [self.of(node.terms[0])]
            for t in node.terms[1:]:
                out.append(self._arith("+", out[-1], self.of(t)))
            self.sums[id(node)] = out
        return self.sums[id(node)]

    def _compute(self, node: Expr) -> Range:
        if isinstance(node, Const):
            v = abs(node.value)
            return Range(True, 0.0, math.inf, False) if math.isnan(v) else \
                Range(False, v, v if v else math.inf, v == 0.0,
                       1 if math.copysign(1.0, node.value) > 0 else -1)
        if isinstance(node, Select):
            a, b = self.of(node.then), self.of(node.other)
            other_nan = b.nan and not (isinstance(node.cond, IsMissing)
                                       and node.cond.a is node.other)  # the imputer's shape
            return Range(a.nan or other_nan, max(a.mag, b.mag), min(a.low, b.low),
                          a.zero or b.zero, a.sign if a.sign == b.sign else 0)
        if isinstance(node, Neg):
            return replace(self.of(node.a), sign=-self.of(node.a).sign)
        if isinstance(node, Sum):
            return self.partial_sums(node)[-1]
        if isinstance(node, Max):
            parts = [self.of(t) for t in node.terms]
            return Range(any(p.nan for p in parts), max(p.mag for p in parts))
        if isinstance(node, Item) and isinstance(node.vec, Tree):
            leaf = [v[node.k] for v in node.vec.values if v]
            numbers = [v for v in leaf if not math.isnan(v)]
            signs = {1 if math.copysign(1.0, v) > 0 else -1 for v in numbers}
            return Range(len(numbers) < len(leaf), max(map(abs, numbers), default=0.0),
                          min((abs(v) for v in numbers if v), default=math.inf),
                          0.0 in numbers, signs.pop() if len(signs) == 1 else 0)
        if isinstance(node, Arith):
            return self._arith(node.op, self.of(node.a), self.of(node.b))
        if isinstance(node, Func) and node.fn == "exp":
            a = self.of(node.a)
            if a.mag > 700.0:
                return Range(a.nan, math.inf, 0.0, True, 1)
            # libm's exp is within an ulp: a relative margin of 2^-50 covers it
            return Range(a.nan, math.exp(a.mag) * (1 + 2.0 ** -50),
                          math.exp(-a.mag) * (1 - 2.0 ** -50), False, 1)
        return _ANY

    @staticmethod
    def _arith(op: str, a: Range, b: Range) -> Range:
        if op in "+-":
            return _sum_range(op, a, b)
        if op == "*":
            infinite = math.inf in (a.mag, b.mag)
            low = _down(a.low * b.low) if a.low and b.low else 0.0
            return Range(a.nan or b.nan or infinite, math.inf if infinite else _up(a.mag * b.mag),
                         low, a.zero or b.zero or not low,  # low 0: a product may underflow
                         a.sign * b.sign)
        if b.zero:  # x / 0
            return _ANY
        mag = _up(a.mag / b.low) if b.low else math.inf
        low = _down(a.low / b.mag) if b.mag < math.inf else 0.0  # low 0: may underflow
        return Range(a.nan or b.nan or a.mag == b.mag == math.inf, mag, low,
                     a.zero or not low, a.sign * b.sign)


def _sum_range(op: str, a: Range, b: Range) -> Range:
    """a + b or a - b. A non-zero result is at least a grain of the larger operand's lower
    bound (where it nearly cancels, both operands are about that large, and so multiples of
    its grain), or an operand itself where the other is zero. Terms of one sign add up to
    at least each of them."""
    nan = a.nan or b.nan or (a.mag == b.mag == math.inf)
    mag = _up(a.mag + b.mag)
    bs = b.sign if op == "+" else -b.sign
    if a.sign and a.sign == bs:  # no cancelling: |a + b| >= |a| and >= |b|
        firm = [r.low for r in (a, b) if not r.zero]
        low = max(firm) if firm else min(a.low, b.low)
        return Range(nan, mag, low, a.zero and b.zero, a.sign)
    low = _grain(max(a.low, b.low))
    if a.zero:
        low = min(low, b.low)
    if b.zero:
        low = min(low, a.low)
    return Range(nan, mag, low, True, 0)


_DBL_MAX = 1.7976931348623157e308


def _key(node: Expr) -> object:
    """Identity for facts: lowering makes a new Feature node per use of a column."""
    return ("feature", node.index) if isinstance(node, Feature) else id(node)


def _inf_pair(item: Or) -> tuple[Expr, float] | None:
    """(x, T) when item is `x >= T or x <= -T` (T > 0): the shape of an infinity check."""
    if len(item.items) != 2 or not all(isinstance(c, Compare) for c in item.items):
        return None
    hi, lo = item.items
    if hi.op == ">=" and lo.op == "<=" and hi.a is lo.a and hi.bound == -lo.bound > 0:
        return hi.a, hi.bound
    return None


def _prune(item: Expr, ranges: Ranges) -> Expr | None:
    """The item without the parts that cannot hold (None: it cannot hold at all)."""
    if isinstance(item, Or) and _inf_pair(item) is None:
        kept = [k for k in (_prune(sub, ranges) for sub in item.items) if k is not None]
        return None if not kept else kept[0] if len(kept) == 1 else Or(tuple(kept))
    return item if ranges.can_hold(item) else None


def passed_checks(program: Program) -> Ranges:
    """What a row that passed every check of the program is known to be (for guards)."""
    ranges = Ranges()
    for check in program.checks:
        ranges.learn(check.fails)
    return ranges


def prune_checks(program: Program) -> Program:
    """Drop the refusal tests that cannot fail once the earlier checks have passed: a
    mean-imputed column is never NaN, a one-hot column never infinite, a column checked
    finite stays finite through an imputer. Checks run in order and the first failing
    one is the refusal, so removing tests that can never be true changes nothing but
    speed; a check left with no test is dropped."""
    ranges, checks = Ranges(), []
    for check in program.checks:
        fails = _prune(check.fails, ranges)
        if fails is not None:
            checks.append(replace(check, fails=fails))
        ranges.learn(check.fails)
    return replace(program, checks=tuple(checks))


def rewrite(roots: list[Expr], change: Callable[[Expr], Expr]) -> list[Expr]:
    """The roots with `change` applied to every node, bottom up (a node whose children
    changed is rebuilt first). Nodes and node tuples are rebuilt once each, so what was
    shared stays shared (the trees of a forest keep one inputs tuple)."""
    memo: dict[int, object] = {}

    def new(value: object) -> object:
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, tuple):
            items = tuple(new(v) for v in value)
            out: object = items if any(a is not b for a, b in zip(items, value)) else value
        elif isinstance(value, Expr):
            changes = {}
            for f in fields(value):
                old = getattr(value, f.name)
                if f.init and isinstance(old, (Expr, tuple)):
                    got = new(old)
                    if got is not old:
                        changes[f.name] = got
            out = change(replace(value, **changes) if changes else value)
        else:
            return value
        memo[id(value)] = out
        return out

    return [new(r) for r in roots]


def map_program(program: Program, change: Callable[[Expr], Expr]) -> Program:
    """The program with `rewrite` applied to its checks and outputs together."""
    outs = list(program.outputs.values())
    roots = [c.fails for c in program.checks] + [v for o in outs for v in o.values]
    done = iter(rewrite(roots, change))
    checks = tuple(replace(c, fails=next(done)) for c in program.checks)
    outputs = {o.name: replace(o, values=tuple(next(done) for _ in o.values)) for o in outs}
    return replace(program, checks=checks, outputs=outputs)


def numeric_splits(program: Program) -> Program:
    """Category-set splits become numeric ones, so a target walks one kind of split: each
    distinct (input, set, missing side) of a forest becomes one more tree input, 0.0 where
    the split sends the row left (a member of the set, or a missing value that goes left)
    and 1.0 otherwise, split at 0.5."""
    extra: dict[int, tuple[tuple[Expr, ...], dict]] = {}  # id(inputs) -> (new, key -> slot)
    for forest in forests(collect_trees(program)):
        if all(t.categories is None for t in forest):
            continue
        inputs = forest[0].inputs
        slots: dict[tuple, int] = {}
        added: list[Expr] = []
        for t in forest:
            if t.categories is None:
                continue
            for i, cats in enumerate(t.categories):
                key = (t.feature[i], cats, t.missing_left[i])
                if cats is not None and key not in slots:
                    slots[key] = len(inputs) + len(added)
                    added.append(Select(InSet(inputs[t.feature[i]], cats, t.missing_left[i]),
                                        Const(0.0), Const(1.0)))
        extra[id(inputs)] = (inputs + tuple(added), slots)

    def change(node: Expr) -> Expr:
        if not isinstance(node, Tree) or node.categories is None:
            return node
        inputs, slots = extra[id(node.inputs)]
        split = [c is not None for c in node.categories]
        return replace(
            node, inputs=inputs, categories=None,
            feature=tuple(slots[(f, c, m)] if s else f for f, c, m, s in zip(
                node.feature, node.categories, node.missing_left, split)),
            bound=tuple(0.5 if s else b for b, s in zip(node.bound, split)),
            missing_left=tuple(False if s else m for m, s in zip(node.missing_left, split)))

    return map_program(program, change) if extra else program
