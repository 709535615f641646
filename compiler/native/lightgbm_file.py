"""LightGBM's text model format (`Booster.save_model`, `model_to_string`), parsed here
without lightgbm and without unpickling anything, as LightGBM's own loader reads it
(src/boosting/gbdt_model_text.cpp `LoadModelFromString`, src/io/tree.cpp
`Tree::Tree(const char*, size_t*)`).

A `LightGBMModel` is one parsed model: the header (num_class, num_tree_per_iteration,
max_feature_idx, objective, average_output, feature_names, feature_infos), every tree's
arrays, the training parameters and the `pandas_categorical` line that lightgbm's Python
package appends. Numbers are read as LightGBM reads them: thresholds, leaf values and
linear coefficients are printed with 17 significant digits and parsed correctly rounded
(`AtofPrecise` / `std::stod`), so Python's `float` gives the same doubles; the objective's
`sigmoid` is parsed with LightGBM's own inexact `Common::Atof`, reproduced by `atof`.

What the scoring functions of a native model file or a raw `lightgbm.Booster` mean
(LightGBM has no estimator API for them, so scorec defines it as the sklearn wrapper
does):

- classification objectives (binary, multiclass, multiclassova): classes are the label
  indices 0 .. k-1 (the file holds no label encoder). `predict_proba` is `Booster.predict`
  (binary: `[1 - p, p]`, as `LGBMClassifier.predict_proba`), `predict` is the index of its
  largest column (numpy's argmax, first maximum), and `decision_function` is
  `Booster.predict(raw_score=True)` (one column for binary, k for multiclass);
- every other objective (regression family, poisson, gamma, tweedie, cross_entropy,
  cross_entropy_lambda, lambdarank, rank_xendcg, none/custom): a regression whose
  `predict` is `Booster.predict` (the objective's output transform applied; raw for the
  ranking objectives and for a model without an objective);
- `Booster.predict` uses the booster's `best_iteration` when it has one (a raw Booster
  after early stopping) and every iteration otherwise (a model file);
- pandas categorical columns: the prediction methods receive text (or numbers) and turn
  each categorical column into `pandas.Categorical` with the training categories, as
  `lightgbm` does with a category-dtype column whose categories differ; an unseen value
  becomes code -1, which lightgbm scores as missing.

The prediction methods import lightgbm when first called (it is needed only to ask the
model for reference outputs, e.g. by `scorec verify`), and raise RuntimeError without it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..registry import CompileError

# LightGBM's kZeroThreshold (include/LightGBM/meta.h): `1e-35f`, a float literal, so the
# double is float32(1e-35) = 1.0000000180025095e-35
ZERO_THRESHOLD = float(np.float32(1e-35))
# decision_type bits (include/LightGBM/tree.h): categorical, default_left, missing type
CATEGORICAL_MASK = 1
DEFAULT_LEFT_MASK = 2
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2

# objectives whose outputs are class probabilities; the others are regressions
CLASSIFICATION_OBJECTIVES = ("binary", "multiclass", "multiclassova")
OBJECTIVES = ("regression", "regression_l1", "quantile", "huber", "fair", "poisson",
              "binary", "lambdarank", "rank_xendcg", "multiclass", "multiclassova",
              "cross_entropy", "cross_entropy_lambda", "mape", "gamma", "tweedie", "custom")
# include/LightGBM/config.h ParseObjectiveAlias: applied to the whole objective line
_ALIASES = {
    **dict.fromkeys(("regression", "regression_l2", "mean_squared_error", "mse", "l2",
                     "l2_root", "root_mean_squared_error", "rmse"), "regression"),
    **dict.fromkeys(("regression_l1", "mean_absolute_error", "l1", "mae"), "regression_l1"),
    **dict.fromkeys(("multiclass", "softmax"), "multiclass"),
    **dict.fromkeys(("multiclassova", "multiclass_ova", "ova", "ovr"), "multiclassova"),
    **dict.fromkeys(("xentropy", "cross_entropy"), "cross_entropy"),
    **dict.fromkeys(("xentlambda", "cross_entropy_lambda"), "cross_entropy_lambda"),
    **dict.fromkeys(("mean_absolute_percentage_error", "mape"), "mape"),
    **dict.fromkeys(("rank_xendcg", "xendcg", "xe_ndcg", "xe_ndcg_mart", "xendcg_mart"),
                    "rank_xendcg"),
    **dict.fromkeys(("none", "null", "custom", "na"), "custom"),
}


def _pow(base: float, power: int) -> float:
    """LightGBM's Common::Pow (the rounding of its recursion is part of Atof's result)."""
    if power < 0:
        return 1.0 / _pow(base, -power)
    if power == 0:
        return 1.0
    if power % 2 == 0:
        return _pow(base * base, power // 2)
    if power % 3 == 0:
        return _pow(base * base * base, power // 3)
    return base * _pow(base, power - 1)


def atof(text: str) -> float:
    """LightGBM's Common::Atof (include/LightGBM/utils/common.h), which parses parameters
    such as the objective's `sigmoid:` digit by digit: not always correctly rounded."""
    p, n = 0, len(text)
    while p < n and text[p] == " ":
        p += 1
    sign = 1.0
    if p < n and text[p] in "+-":
        sign = -1.0 if text[p] == "-" else 1.0
        p += 1
    if p < n and (text[p].isdigit() and text[p].isascii() or text[p] in ".eE"):
        value = 0.0
        while p < n and text[p] in "0123456789":
            value = value * 10.0 + (ord(text[p]) - 48)
            p += 1
        if p < n and text[p] == ".":
            right, digits = 0.0, 0
            p += 1
            while p < n and text[p] in "0123456789":
                right = (ord(text[p]) - 48) + right * 10.0
                digits += 1
                p += 1
            value += right / _pow(10.0, digits)
        negative, scale = False, 1.0
        if p < n and text[p] in "eE":
            p += 1
            if p < n and text[p] in "+-":
                negative = text[p] == "-"
                p += 1
            expon = 0
            while p < n and text[p] in "0123456789":
                expon = (expon * 10 + ord(text[p]) - 48) & 0xFFFFFFFF  # uint32_t
                p += 1
            expon = min(expon, 308)
            while expon >= 50:
                scale *= 1e50
                expon -= 50
            while expon >= 8:
                scale *= 1e8
                expon -= 8
            while expon > 0:
                scale *= 10.0
                expon -= 1
        return sign * (value / scale if negative else value * scale)
    word = text[p:].split(" ")[0].lower()
    if word in ("na", "nan", "null"):
        return math.nan
    if word in ("inf", "infinity"):
        return sign * 1e308
    raise ValueError(f"unknown number {text!r}")


@dataclass(frozen=True)
class LightGBMTree:
    """One tree as LightGBM stores it: split nodes 0 .. num_leaves-2, a child < 0 is leaf
    ~child; `threshold` of a categorical split is the index of its bitset in
    `cat_boundaries` / `cat_threshold`. Linear trees (`is_linear`) add per leaf a
    constant and coefficients of the listed features."""

    num_leaves: int
    split_feature: tuple[int, ...]
    threshold: tuple[float, ...]
    decision_type: tuple[int, ...]
    left_child: tuple[int, ...]
    right_child: tuple[int, ...]
    leaf_value: tuple[float, ...]
    cat_boundaries: tuple[int, ...] = ()
    cat_threshold: tuple[int, ...] = ()
    is_linear: bool = False
    leaf_const: tuple[float, ...] = ()
    leaf_features: tuple[tuple[int, ...], ...] = ()
    leaf_coeff: tuple[tuple[float, ...], ...] = ()

    def category_set(self, node: int) -> tuple[int, ...]:
        """The category codes a categorical split sends left (its bitset's members)."""
        k = int(self.threshold[node])  # static_cast<int>(threshold_[node])
        words = self.cat_threshold[self.cat_boundaries[k]:self.cat_boundaries[k + 1]]
        return tuple(32 * w + b for w, word in enumerate(words) for b in range(32)
                     if (word >> b) & 1)


class LightGBMModel:
    """A LightGBM model parsed from its text format (see the module docstring for what its
    prediction methods mean). `n_features_in_` and `feature_names_in_` name its inputs as
    the file does."""

    def __init__(self, text: str, source: str, booster: object | None = None,
                 best_iteration: int = -1) -> None:
        self.text = text
        self.source = source
        self.best_iteration = best_iteration
        self._booster = booster
        header, trees, parameters, pandas_categorical = _sections(text, source)
        self.num_class = _int(header, "num_class", source)
        self.num_tree_per_iteration = _int(header, "num_tree_per_iteration", source,
                                           self.num_class)
        self.max_feature_idx = _int(header, "max_feature_idx", source)
        if self.num_class < 1 or self.num_tree_per_iteration < 1 or self.max_feature_idx < 0:
            raise CompileError(f"{source}: num_class, num_tree_per_iteration or "
                               "max_feature_idx is out of range")
        self.average_output = "average_output" in header
        names = header.get("feature_names")
        if names is None or len(names.split(" ")) != self.max_feature_idx + 1:
            raise CompileError(f"{source}: feature_names is missing or has the wrong size")
        self.feature_names = tuple(names.split(" "))
        infos = header.get("feature_infos", "")
        self.feature_infos = tuple(infos.split(" "))
        if len(self.feature_infos) != self.max_feature_idx + 1:
            raise CompileError(f"{source}: feature_infos is missing or has the wrong size")
        self.objective, self.objective_args = _objective(header.get("objective"), source)
        self.parameters = parameters
        self.pandas_categorical = pandas_categorical
        self.trees = tuple(_tree(block, f"{source}: Tree={i}", self.max_feature_idx + 1)
                           for i, block in enumerate(trees))
        if len(self.trees) % self.num_tree_per_iteration:
            raise CompileError(f"{source}: {len(self.trees)} trees is not a whole number of "
                               f"iterations of {self.num_tree_per_iteration} trees")
        width = self.num_class if self.objective in ("multiclass", "multiclassova") else 1
        if self.objective != "custom" and self.num_tree_per_iteration != width:
            raise CompileError(f"{source}: objective {self.objective} with "
                               f"{self.num_tree_per_iteration} trees per iteration")

    # ---- what the model is -------------------------------------------------------------

    @property
    def n_features_in_(self) -> int:
        return self.max_feature_idx + 1

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.array(self.feature_names, dtype=object)

    @property
    def is_classifier(self) -> bool:
        return self.objective in CLASSIFICATION_OBJECTIVES

    @property
    def classes_(self) -> np.ndarray:
        if not self.is_classifier:
            raise AttributeError("a regression model has no classes_")
        return np.arange(max(self.num_class, 2))

    @property
    def num_iteration(self) -> int:
        """How many iterations predict uses (GBDT::InitPredict with Booster.predict's
        num_iteration: the best iteration when there is one, else all)."""
        total = len(self.trees) // self.num_tree_per_iteration
        return min(self.best_iteration, total) if self.best_iteration > 0 else total

    def sigmoid(self) -> float:
        """The objective's `sigmoid:` parameter as LightGBM parses it (binary and
        multiclassova)."""
        value = self.objective_args.get("sigmoid")
        if value is None:  # LightGBM's loader refuses these models (Log::Fatal)
            raise CompileError(f"{self.source}: objective {self.objective} without sigmoid")
        return atof(value)

    def categorical_features(self) -> tuple[int, ...]:
        """The features LightGBM was told are categorical: the `categorical_feature`
        parameter (indices, or `name:` names), else the features whose feature_infos
        lists categories rather than a `[min:max]` range."""
        given = self.parameters.get("categorical_feature", "").strip()
        if given.startswith("name:"):
            names = [n for n in given[5:].split(",") if n]
            if any(n not in self.feature_names for n in names):
                raise CompileError(f"{self.source}: categorical_feature names {names} are not "
                                   "all features")
            return tuple(sorted(self.feature_names.index(n) for n in names))
        if given:
            try:
                return tuple(sorted({int(v) for v in given.split(",") if v.strip()}))
            except ValueError:
                raise CompileError(f"{self.source}: categorical_feature {given!r} is not a "
                                   "list of indices") from None
        return tuple(j for j, info in enumerate(self.feature_infos)
                     if info != "none" and not info.startswith("["))

    def pandas_categories(self) -> dict[int, list]:
        """Feature index -> the training categories of a pandas categorical column (its
        codes are positions in that list). lightgbm records the categories of every
        category-dtype column in column order, but not which columns they were: they are
        the categorical features when the counts agree (an ordered categorical column,
        which lightgbm splits numerically on its codes, makes them disagree)."""
        lists = self.pandas_categorical or []
        if not lists:
            return {}
        features = self.categorical_features()
        if len(features) != len(lists):
            raise CompileError(
                f"{self.source}: the model has {len(lists)} pandas categorical column(s) but "
                f"{len(features)} categorical feature(s): which columns were categorical is "
                "not recorded (an ordered pandas categorical, or an integer column declared "
                "categorical beside category-dtype ones); train on category-dtype columns "
                "only, all unordered")
        return dict(zip(features, lists))

    # ---- asking lightgbm ---------------------------------------------------------------

    def _lightgbm_booster(self) -> object:
        if self._booster is None:
            try:
                import lightgbm
            except ImportError:
                raise RuntimeError(
                    f"{self.source}: asking the model for its own predictions needs "
                    "lightgbm: pip install 'scorec[lightgbm]'") from None
            self._booster = lightgbm.Booster(model_str=self.text)
        return self._booster

    def with_training_categories(self, X: object) -> object:
        """X with every pandas categorical column made `pandas.Categorical` with the
        training categories (values outside them become missing, code -1)."""
        categories = self.pandas_categories()
        if not categories:
            return X
        import pandas as pd

        frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(
            np.asarray(X, dtype=object), columns=list(self.feature_names))
        for j, cats in categories.items():
            col = frame.columns[j]
            values = [None if v is None or (isinstance(v, float) and v != v) else v
                      for v in frame[col].tolist()]
            frame[col] = pd.Categorical(values, categories=cats)
        for j, col in enumerate(frame.columns):
            if j not in categories and frame[col].dtype == object:
                frame[col] = frame[col].astype(float)
        return frame

    def _predict(self, X: object, raw_score: bool) -> np.ndarray:
        booster = self._lightgbm_booster()
        return np.asarray(booster.predict(self.with_training_categories(X), raw_score=raw_score,
                                          num_threads=1))

    def predict(self, X: object) -> np.ndarray:
        """Classification: the index of the largest probability; else Booster.predict."""
        if self.is_classifier:
            return np.argmax(self.predict_proba(X), axis=1)
        return self._predict(X, raw_score=False)

    def predict_proba(self, X: object) -> np.ndarray:
        """Booster.predict, as two columns [1 - p, p] for a binary objective."""
        if not self.is_classifier:
            raise AttributeError(f"objective {self.objective} gives no class probabilities")
        p = self._predict(X, raw_score=False)
        return np.vstack((1.0 - p, p)).transpose() if p.ndim == 1 else p

    def decision_function(self, X: object) -> np.ndarray:
        """Booster.predict(raw_score=True): the summed trees before the output transform."""
        if not self.is_classifier:
            raise AttributeError(f"objective {self.objective}: no decision_function")
        return self._predict(X, raw_score=True)


# ---- parsing ---------------------------------------------------------------------------

def read(path: Path) -> LightGBMModel:
    """The model in LightGBM's text file `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CompileError(f"{path} is not a LightGBM text model (not UTF-8 text)") from exc
    return LightGBMModel(text, str(path))


def from_booster(booster: object, path: Path | str) -> LightGBMModel:
    """A raw `lightgbm.Booster` (e.g. from a joblib file), read through its text form; its
    own predict (with its best_iteration) is the reference."""
    text = booster.model_to_string(num_iteration=-1)
    return LightGBMModel(text, str(path), booster=booster,
                         best_iteration=int(getattr(booster, "best_iteration", -1) or -1))


def _sections(text: str, source: str) -> tuple[dict[str, str], list[dict[str, str]],
                                               dict[str, str], list | None]:
    """(header key/values, one key/value dict per tree, parameters, pandas_categorical)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or lines[0].strip() != "tree":
        raise CompileError(f"{source} is not a LightGBM text model (it does not start with "
                           "'tree')")
    header: dict[str, str] = {}
    i = 1
    while i < len(lines) and not lines[i].startswith("Tree="):
        line = lines[i]
        i += 1
        if not line:
            continue
        key, sep, value = line.partition("=")
        if sep and "=" in value and key not in ("feature_names", "monotone_constraints"):
            raise CompileError(f"{source}: wrong line in the model file: {line[:128]!r}")
        header[key] = value
    trees: list[dict[str, str]] = []
    while i < len(lines) and lines[i].startswith("Tree="):
        block: dict[str, str] = {}
        i += 1
        while i < len(lines) and lines[i] and not lines[i].startswith("Tree="):
            key, _, value = lines[i].partition("=")
            block[key] = value
            i += 1
        while i < len(lines) and not lines[i]:
            i += 1
        trees.append(block)
    if i >= len(lines) or lines[i] != "end of trees":
        raise CompileError(f"{source}: the model file is truncated (no 'end of trees')")
    parameters: dict[str, str] = {}
    pandas_categorical = None
    for line in lines[i + 1:]:
        if line.startswith("[") and line.endswith("]") and ": " in line:
            key, _, value = line[1:-1].partition(": ")
            parameters[key] = value
        elif line.startswith("pandas_categorical:"):
            try:
                pandas_categorical = json.loads(line[len("pandas_categorical:"):])
            except json.JSONDecodeError as exc:
                raise CompileError(f"{source}: unreadable pandas_categorical line") from exc
    if pandas_categorical is not None and not (
            isinstance(pandas_categorical, list)
            and all(isinstance(c, list) for c in pandas_categorical)):
        raise CompileError(f"{source}: pandas_categorical is not a list of category lists")
    return header, trees, parameters, pandas_categorical


def _int(fields: dict[str, str], key: str, source: str, default: int | None = None) -> int:
    if key not in fields:
        if default is None:
            raise CompileError(f"{source}: the model file has no {key}")
        return default
    try:
        return int(fields[key])
    except ValueError:
        raise CompileError(f"{source}: {key}={fields[key]!r} is not an integer") from None


def _objective(line: str | None, source: str) -> tuple[str, dict[str, str]]:
    """(objective name, its key:value arguments, plus 'sqrt' for reg_sqrt), as
    ObjectiveFunction::CreateObjectiveFunction reads the line after ParseObjectiveAlias."""
    if line is None:
        return "custom", {}
    words = _ALIASES.get(line, line).split(" ")
    if words[0] not in OBJECTIVES:
        raise CompileError(f"{source}: unknown objective {words[0]!r}")
    args: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition(":")
        if sep:
            args[key] = value
        elif word == "sqrt":
            args["sqrt"] = ""
    return words[0], args


def _numbers(block: dict[str, str], key: str, n: int, where: str, kind: type = float,
             default: tuple | None = None) -> tuple:
    if n == 0:
        return ()
    if key not in block:
        if default is not None:
            return default
        raise CompileError(f"{where}: the tree has no {key}")
    words = block[key].split()
    if len(words) != n:
        raise CompileError(f"{where}: {key} has {len(words)} values, expected {n}")
    try:
        if kind is float:
            if any("_" in w for w in words):  # Python reads 1_0; LightGBM does not
                raise ValueError(words)
            return tuple(float(w) for w in words)
        return tuple(int(w) for w in words)
    except ValueError:
        raise CompileError(f"{where}: {key} holds a value that is not a number") from None


def _tree(block: dict[str, str], where: str, n_features: int) -> LightGBMTree:
    """One tree, checked: every node reachable once from the root, children and features
    in range, category bitsets present."""
    num_leaves = _numbers(block, "num_leaves", 1, where, int)[0]
    num_cat = _numbers(block, "num_cat", 1, where, int)[0]
    if num_leaves < 1 or num_cat < 0:
        raise CompileError(f"{where}: num_leaves or num_cat is out of range")
    leaf_value = _numbers(block, "leaf_value", num_leaves, where)
    is_linear = _numbers(block, "is_linear", 1, where, int, (0,))[0] != 0
    linear = _linear(block, num_leaves, where, n_features) if is_linear else {}
    if num_leaves == 1:
        return LightGBMTree(1, (), (), (), (), (), leaf_value, is_linear=is_linear, **linear)
    m = num_leaves - 1
    tree = LightGBMTree(
        num_leaves=num_leaves,
        split_feature=_numbers(block, "split_feature", m, where, int),
        threshold=_numbers(block, "threshold", m, where),
        decision_type=_numbers(block, "decision_type", m, where, int, (0,) * m),
        left_child=_numbers(block, "left_child", m, where, int),
        right_child=_numbers(block, "right_child", m, where, int),
        leaf_value=leaf_value,
        cat_boundaries=_numbers(block, "cat_boundaries", num_cat + 1, where, int)
        if num_cat else (),
        is_linear=is_linear,
        **linear,
    )
    if num_cat:
        tree = replace(tree, cat_threshold=_numbers(block, "cat_threshold",
                                                    tree.cat_boundaries[-1], where, int))
        if list(tree.cat_boundaries) != sorted(tree.cat_boundaries) or tree.cat_boundaries[0]:
            raise CompileError(f"{where}: cat_boundaries are not ascending from 0")
        if any(not 0 <= w < 2**32 for w in tree.cat_threshold):
            raise CompileError(f"{where}: cat_threshold holds a value beyond 32 bits")
    seen = [False] * m
    leaves = [False] * num_leaves
    stack = [0]
    while stack:
        node = stack.pop()
        if seen[node]:
            raise CompileError(f"{where}: node {node} is reached twice")
        seen[node] = True
        if not 0 <= tree.split_feature[node] < n_features:
            raise CompileError(f"{where}: node {node} splits on feature "
                               f"{tree.split_feature[node]}, beyond max_feature_idx")
        if tree.decision_type[node] & CATEGORICAL_MASK:
            k = tree.threshold[node]
            if not (k == k and 0 <= int(k) < num_cat):
                raise CompileError(f"{where}: node {node} names category set {k}, which "
                                   "the tree does not have")
        elif tree.threshold[node] != tree.threshold[node]:
            raise CompileError(f"{where}: node {node} has a NaN threshold")
        for child in (tree.left_child[node], tree.right_child[node]):
            if child >= 0:
                if child >= m:
                    raise CompileError(f"{where}: node {node} has child {child}, beyond "
                                       "the tree")
                stack.append(child)
            elif ~child >= num_leaves or leaves[~child]:
                raise CompileError(f"{where}: leaf {~child} is out of range or reached twice")
            else:
                leaves[~child] = True
    if not all(seen) or not all(leaves):
        raise CompileError(f"{where}: some nodes are not reachable from the root")
    return tree


def _linear(block: dict[str, str], num_leaves: int, where: str, n_features: int) -> dict:
    """leaf_const, leaf_features and leaf_coeff of a linear tree (absent lists are empty,
    as LightGBM's loader leaves them)."""
    const = _numbers(block, "leaf_const", num_leaves, where, float, (0.0,) * num_leaves)
    counts = _numbers(block, "num_features", num_leaves, where, int, (0,) * num_leaves)
    total = sum(counts)
    if any(c < 0 for c in counts):
        raise CompileError(f"{where}: num_features is negative")
    if total and ("leaf_features" not in block or "leaf_coeff" not in block):
        raise CompileError(f"{where}: a linear tree lists leaf features without their "
                           "coefficients, or coefficients without features")
    feats = _numbers(block, "leaf_features", total, where, int)
    coeffs = _numbers(block, "leaf_coeff", total, where, float)
    if any(not 0 <= f < n_features for f in feats):
        raise CompileError(f"{where}: a linear leaf reads a feature beyond max_feature_idx")
    starts = np.cumsum((0, *counts)).tolist()
    return {"leaf_const": const,
            "leaf_features": tuple(feats[a:b] for a, b in zip(starts, starts[1:])),
            "leaf_coeff": tuple(coeffs[a:b] for a, b in zip(starts, starts[1:]))}
