"""XGBoost's own model files (`Booster.save_model` to .json or .ubj) and raw
`xgboost.Booster` objects, parsed here without xgboost and without unpickling anything, as
XGBoost's loader reads them (src/learner.cc `LearnerIO::LoadModel`, src/gbm/gbtree_model.cc,
src/tree/tree_model.cc `RegTree::LoadModel`, src/gbm/gblinear_model.cc, src/common/json.cc
`JsonReader` / `UBJReader`).

An `XGBoostModel` is one parsed model: the objective, the intercept (`base_score`, the
float32 vector the file stores before the objective's link), the trees (`split_conditions`
hold a split's threshold or a leaf's value, both float32), which output each tree adds to
(`tree_info`), the trees of each boosting round (`iteration_indptr`), dart's
`weight_drop`, gblinear's weights, the feature names and types, and the categories the
model was trained with (`cats`, XGBoost >= 3.1). Numbers are read as XGBoost reads them:
JSON text is parsed to the nearest float32 (XGBoost's `from_chars` for float is correctly
rounded; going through the nearest double first is exact except when that double is a
float32 rounding tie, which is settled on the decimal text), UBJSON floats are float32.

What the scoring functions of a model file or a raw Booster mean (XGBoost has no estimator
API for them, so scorec defines them as the sklearn wrapper that would hold the booster
does, `XGBClassifier` / `XGBRegressor` in xgboost/sklearn.py):

- classification objectives (binary:logistic, binary:logitraw, binary:hinge,
  multi:softprob, multi:softmax): classes are the label indices 0 .. k-1 (the file holds
  no label encoder). `predict_proba` is the booster's prediction: `[1 - p, p]` in float32
  for one output (as `XGBClassifier.predict_proba`, even for logitraw, whose p is the
  margin), the softmax probabilities for multi:softprob; multi:softmax has none (the
  wrapper computes it with scipy in float32 with numpy's SIMD `exp`, whose rounding
  depends on the CPU). `predict` is the wrapper's label rule: `p > 0.5` for one output,
  numpy's argmax of the probabilities for softprob, the booster's own class for softmax.
  `decision_function` is the margin (`output_margin=True`): one value, or one per class;
- every other objective (reg:*, count:poisson, survival:*, rank:*): a regression whose
  `predict` is the booster's prediction (the objective's transform applied; one value per
  target) and whose `decision_function` is the margin;
- the booster predicts as the wrapper asks it to: `inplace_predict` (NaN is missing,
  infinities are scored) for tree boosters, `predict(DMatrix)` for gblinear (which cannot
  predict in place; a DMatrix refuses infinity and float32 overflow), with every boosting
  round: a raw Booster's `predict` ignores `best_iteration` (only the wrapper applies it);
- pandas categorical columns (`enable_categorical`): the prediction methods receive text
  (or numbers) and build each categorical column as `pandas.Categorical` with the training
  categories, as a user would; a value outside them becomes missing.

Every output is float32, as XGBoost returns it: the targets return the same float32 values
as doubles. The prediction methods import xgboost when first called (it is needed only to
ask the model for reference outputs, e.g. by `scorec verify`), and raise RuntimeError
without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..registry import CompileError

CLASSIFICATION_OBJECTIVES = ("binary:logistic", "binary:logitraw", "binary:hinge",
                             "multi:softprob", "multi:softmax")
REGRESSION_OBJECTIVES = ("reg:squarederror", "reg:linear", "reg:squaredlogerror",
                         "reg:logistic", "reg:pseudohubererror", "reg:absoluteerror",
                         "reg:quantileerror", "count:poisson", "reg:gamma", "reg:tweedie",
                         "survival:cox", "survival:aft", "rank:pairwise", "rank:ndcg",
                         "rank:map")
BOOSTERS = ("gbtree", "dart", "gblinear")


# ---- numbers as XGBoost reads them ----------------------------------------------------------

def float32s(values: object) -> np.ndarray:
    """Numbers of a parsed model as XGBoost holds them: float32, a decimal text rounded to
    the nearest float32 once (ties to even), as `from_chars(float)` does."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float32)
    items = list(values)
    texts = [v if isinstance(v, str) else repr(float(v)) for v in items]
    with np.errstate(over="ignore"):
        d = np.array([float(t) for t in texts], dtype=np.float64)
        f = d.astype(np.float32)
        lo = np.where(f.astype(np.float64) > d, np.nextafter(f, np.float32(-np.inf)), f)
        hi = np.nextafter(lo, np.float32(np.inf))
        mid = (lo.astype(np.float64) + hi.astype(np.float64)) / 2.0
    # the nearest double is a float32 tie: the decimal itself says which side it is on
    for i in np.flatnonzero(np.isfinite(mid) & (d == mid) & (f.astype(np.float64) != d)):
        exact = Fraction(texts[i])
        if exact != Fraction(float(mid[i])):
            f[i] = lo[i] if exact < Fraction(float(mid[i])) else hi[i]
    return f


def _ints(values: object) -> list[int]:
    return [int(v) for v in values]


# ---- UBJSON (XGBoost's writer: src/common/json.cc UBJWriter; big-endian, draft 12) ----------

_UBJ_NUMBERS = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4",
                b"D": ">f8"}


class _UBJReader:
    """A small UBJSON decoder: objects, arrays (typed and counted ones too), numbers,
    strings; typed numeric arrays become numpy arrays."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated UBJSON")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def marker(self) -> bytes:
        m = self.take(1)
        while m == b"N":  # no-op
            m = self.take(1)
        return m

    def number(self, m: bytes) -> int | float:
        dtype = _UBJ_NUMBERS[m]
        value = np.frombuffer(self.take(np.dtype(dtype).itemsize), dtype=dtype)[0]
        return float(value) if m in (b"d", b"D") else int(value)

    def length(self) -> int:
        m = self.marker()
        if m not in (b"i", b"U", b"I", b"l", b"L"):
            raise ValueError(f"UBJSON: a length must be an integer, not {m!r}")
        n = int(self.number(m))
        if n < 0:
            raise ValueError("UBJSON: negative length")
        return n

    def value(self, m: bytes | None = None) -> object:
        m = self.marker() if m is None else m
        if m in _UBJ_NUMBERS:
            return self.number(m)
        if m == b"Z":
            return None
        if m in (b"T", b"F"):
            return m == b"T"
        if m == b"S":
            return self.take(self.length()).decode("utf-8")
        if m == b"H":  # a high-precision number, as its decimal text
            return self.take(self.length()).decode("ascii")
        if m == b"C":
            return self.take(1).decode("latin-1")
        if m == b"[":
            return self.array()
        if m == b"{":
            return self.object()
        raise ValueError(f"UBJSON: unknown marker {m!r} at byte {self.pos - 1}")

    def container(self) -> tuple[bytes | None, int | None]:
        """The optional `$type` and `#count` of a container."""
        typ = count = None
        if self.data[self.pos:self.pos + 1] == b"$":
            self.pos += 1
            typ = self.take(1)
            if self.take(1) != b"#":
                raise ValueError("UBJSON: a typed container needs a count")
            count = self.length()
        elif self.data[self.pos:self.pos + 1] == b"#":
            self.pos += 1
            count = self.length()
        return typ, count

    def array(self) -> object:
        typ, count = self.container()
        if typ is not None and typ in _UBJ_NUMBERS:
            dtype = np.dtype(_UBJ_NUMBERS[typ])
            raw = np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype)
            return raw.astype(dtype.newbyteorder("="))
        out = []
        if count is not None:
            for _ in range(count):
                out.append(self.value(typ))
            return out
        while True:
            m = self.marker()
            if m == b"]":
                return out
            out.append(self.value(m))

    def object(self) -> dict:
        typ, count = self.container()
        out = {}
        if count is not None:
            for _ in range(count):
                key = self.take(self.length()).decode("utf-8")
                out[key] = self.value(typ)
            return out
        while True:
            if self.data[self.pos:self.pos + 1] == b"}":
                self.pos += 1
                return out
            key = self.take(self.length()).decode("utf-8")
            out[key] = self.value()


def _decode(data: bytes, where: str) -> dict:
    """The document of a JSON or UBJSON model (told apart by content, as XGBoost's
    loader falls back to doing): floats of JSON text stay text until `float32s`."""
    text = data.lstrip()
    try:
        if text[:1] == b"{" and text[1:].lstrip()[:1] in (b'"', b"}"):
            doc = json.loads(text.decode("utf-8"), parse_float=str,
                             parse_constant=lambda c: float(c.replace("Infinity", "inf")))
        else:
            doc = _UBJReader(data).value()
    except (ValueError, UnicodeDecodeError, KeyError, RecursionError) as exc:
        raise CompileError(f"{where} is not a readable XGBoost model (JSON or UBJSON): "
                           f"{exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("learner"), dict):
        raise CompileError(f"{where} is not an XGBoost model: no 'learner' object (save it "
                           "with Booster.save_model('model.json') or '.ubj')")
    return doc


# ---- the model --------------------------------------------------------------------------------

@dataclass(frozen=True)
class XGBTree:
    """One regression tree as XGBoost stores it (src/tree/tree_model.cc): node i is a leaf
    when left[i] == -1; `value[i]` is a split's float32 threshold or a leaf's float32
    value; `categories[i]` the codes of a categorical split that go to the right child."""

    left: tuple[int, ...]
    right: tuple[int, ...]
    default_left: tuple[bool, ...]
    feature: tuple[int, ...]
    value: tuple[float, ...]
    categories: dict[int, tuple[int, ...]]


def _tree(j: dict, where: str) -> XGBTree:
    param = j.get("tree_param", {})
    if int(param.get("size_leaf_vector", 1) or 1) > 1:
        raise CompileError(f"{where}: a tree with vector leaves (multi_strategy="
                           "'multi_output_tree') is not supported")
    left, right = _ints(j["left_children"]), _ints(j["right_children"])
    n = len(left)
    value = tuple(float(v) for v in float32s(j["split_conditions"]))
    feature = _ints(j["split_indices"])
    default_left = [bool(int(v)) for v in j["default_left"]]
    if not (len(right) == len(value) == len(feature) == len(default_left) == n) or n == 0:
        raise CompileError(f"{where}: a tree's node arrays have different lengths")
    categories: dict[int, tuple[int, ...]] = {}
    types = _ints(j.get("split_type", []))
    if any(types):
        nodes, segments = _ints(j["categories_nodes"]), _ints(j["categories_segments"])
        sizes, cats = _ints(j["categories_sizes"]), _ints(j["categories"])
        for node, beg, size in zip(nodes, segments, sizes):
            categories[node] = tuple(sorted(set(cats[beg:beg + size])))
        if any(t and i not in categories for i, t in enumerate(types)):
            raise CompileError(f"{where}: a categorical split has no categories")
    return XGBTree(tuple(left), tuple(right), tuple(default_left), tuple(feature), value,
                   categories)


def _category_names(cats: dict | None, n_features: int, where: str) -> tuple[
        tuple | None, ...]:
    """The training categories of each feature (src/data/cat_container.cc `Save`): text
    (offsets into int8 bytes) or numbers; None for a numeric feature. Text that is not
    ASCII is refused: xgboost's pandas reader stores offsets counted in characters over
    UTF-8 bytes (python-package xgboost/_data_utils.py `pd_cat_inf`), so such names are
    stored cut at the wrong bytes and cannot be read back."""
    out: list[tuple | None] = [None] * n_features
    if not cats:
        return tuple(out)
    for f, col in enumerate(cats.get("enc", [])[:n_features]):
        values = col.get("values", [])
        if "offsets" in col:
            offsets = _ints(col["offsets"])
            if not offsets or len(values) == 0:
                continue
            raw = np.asarray(values, dtype=np.int64).astype(np.int8).tobytes()
            if any(b >= 0x80 for b in raw):
                raise CompileError(
                    f"{where}: the categories of feature {f} are not ASCII text; xgboost "
                    "stores such category names cut at the wrong bytes (its pandas reader "
                    "counts characters, not UTF-8 bytes), so they cannot be read back")
            out[f] = tuple(raw[a:b].decode("ascii") for a, b in zip(offsets, offsets[1:]))
        elif len(values):
            numbers = np.asarray(values)
            if numbers.dtype.kind == "f" or any(isinstance(v, str) for v in list(values)):
                out[f] = tuple(float(v) for v in float32s(values))
            else:
                out[f] = tuple(int(v) for v in numbers)
    return tuple(out)


class XGBoostModel:
    """A parsed XGBoost model (see the module docstring for what its outputs mean)."""

    def __init__(self, doc: dict, where: str, path: Path | None = None,
                 booster: object | None = None):
        self.where = where
        self._path = path
        self._booster = booster
        learner = doc["learner"]
        self.version = tuple(_ints(doc.get("version", [])))
        try:
            self._read(learner)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CompileError(f"{where} is not a valid XGBoost model: {exc!r}") from exc

    def _read(self, learner: dict) -> None:
        where = self.where
        param = learner["learner_model_param"]
        self.num_feature = int(param["num_feature"])
        self.num_class = int(param.get("num_class", 0))
        self.num_target = int(param.get("num_target", 1) or 1)
        self.n_groups = max(self.num_class, self.num_target, 1)
        text = str(param["base_score"]).strip()
        items = [t for t in text.strip("[]").split(",") if t.strip()]
        base = [float(v) for v in float32s([t.strip() for t in items])]
        if len(base) == 1 and self.n_groups > 1:  # before 3.1 the intercept was a scalar
            base = base * self.n_groups
        if len(base) != self.n_groups:
            raise CompileError(f"{where}: base_score has {len(base)} values for "
                               f"{self.n_groups} outputs")
        self.base_score = tuple(base)
        objective = learner["objective"]
        self.objective = str(objective["name"] if isinstance(objective, dict) else objective)
        names = list(learner.get("feature_names") or [])
        types = list(learner.get("feature_types") or [])
        self.feature_names = tuple(str(n) for n in names) if names else None
        self.feature_types = tuple(str(t) for t in types) if types else None
        for label, seq in (("feature_names", self.feature_names),
                           ("feature_types", self.feature_types)):
            if seq is not None and len(seq) != self.num_feature:
                raise CompileError(f"{where}: {len(seq)} {label} for {self.num_feature} "
                                   "features")
        if self.feature_names is not None:
            self.feature_names_in_ = np.array(self.feature_names, dtype=object)
        attributes = learner.get("attributes") or {}
        best = attributes.get("best_iteration")
        self.best_iteration = int(best) if best is not None else None

        gb = learner["gradient_booster"]
        self.booster = str(gb["name"])
        if self.booster not in BOOSTERS:
            raise CompileError(f"{where}: booster {self.booster!r} is not supported "
                               f"({', '.join(BOOSTERS)})")
        self.trees: tuple[XGBTree, ...] = ()
        self.tree_info: tuple[int, ...] = ()
        self.iteration_indptr: tuple[int, ...] = (0,)
        self.num_parallel_tree = 1
        self.weight_drop: tuple[float, ...] | None = None
        self.linear_weights: np.ndarray | None = None
        self.categories: tuple[tuple | None, ...] = (None,) * self.num_feature
        if self.booster == "gblinear":
            weights = float32s(gb["model"]["weights"])
            if weights.size != (self.num_feature + 1) * self.n_groups:
                raise CompileError(f"{where}: gblinear has {weights.size} weights for "
                                   f"{self.num_feature} features and {self.n_groups} outputs")
            self.linear_weights = weights.reshape(self.num_feature + 1, self.n_groups)
            return
        model = gb["gbtree"]["model"] if self.booster == "dart" else gb["model"]
        if self.booster == "dart":
            self.weight_drop = tuple(float(v) for v in float32s(gb["weight_drop"]))
        self.num_parallel_tree = int(model["gbtree_model_param"].get("num_parallel_tree", 1))
        self.trees = tuple(_tree(t, f"{where} (tree {i})") for i, t in enumerate(model["trees"]))
        self.tree_info = tuple(_ints(model["tree_info"]))
        n = len(self.trees)
        if len(self.tree_info) != n or any(not 0 <= g < self.n_groups for g in self.tree_info):
            raise CompileError(f"{where}: tree_info does not map {n} trees to "
                               f"{self.n_groups} outputs")
        if self.weight_drop is not None and len(self.weight_drop) != n:
            raise CompileError(f"{where}: dart has {len(self.weight_drop)} weights for {n} "
                               "trees")
        indptr = model.get("iteration_indptr")
        if indptr is None or len(indptr) == 0:  # older models: whole rounds of trees
            per_round = self.num_parallel_tree * (max(self.tree_info) + 1 if n else 1)
            indptr = [per_round * i for i in range(n // per_round + 1)] if n else [0]
        self.iteration_indptr = tuple(_ints(indptr))
        if self.iteration_indptr[0] != 0 or self.iteration_indptr[-1] != n or any(
                a > b for a, b in zip(self.iteration_indptr, self.iteration_indptr[1:])):
            raise CompileError(f"{where}: iteration_indptr does not cover the {n} trees")
        self.categories = _category_names(model.get("cats"), self.num_feature, where)

    # ---- what the model is, as scorec sees it ----

    @property
    def n_features_in_(self) -> int:
        return self.num_feature

    @property
    def is_classifier(self) -> bool:
        return self.objective in CLASSIFICATION_OBJECTIVES

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(2 if self.n_groups == 1 else self.n_groups)

    @property
    def rounds(self) -> int:
        return len(self.iteration_indptr) - 1

    def is_categorical(self, feature: int) -> bool:
        return self.feature_types is not None and self.feature_types[feature] == "c"

    # ---- the library's own answers (scorec verify, the tests) ----

    def library_booster(self) -> object:
        """The xgboost.Booster this model came from, or one loaded from its file."""
        if self._booster is None:
            try:
                import xgboost
            except ImportError:
                raise RuntimeError("scoring with the XGBoost model itself needs xgboost "
                                   "(pip install 'scorec[xgboost]'); compiling it does "
                                   "not") from None
            if self._path is None:
                raise RuntimeError(f"{self.where}: no model file to load into xgboost")
            self._booster = xgboost.Booster(model_file=str(self._path))
        return self._booster

    def library_input(self, X: object) -> object:
        """X as the booster reads it: numbers as float64; each categorical column with
        training categories as `pandas.Categorical` over them (other values missing)."""
        if not any(c is not None for c in self.categories):
            return np.asarray(X, dtype=np.float64) if not hasattr(X, "columns") else \
                X.astype({c: np.float64 for c in X.columns})
        import pandas as pd

        frame = X if hasattr(X, "columns") else pd.DataFrame(
            X, columns=list(self.feature_names or range(np.shape(X)[1])))
        out = {}
        for name, cats in zip(frame.columns, self.categories):
            col = frame[name]
            if cats is None:
                out[name] = col.astype(np.float64)
            else:
                known = col.where(col.isin(list(cats)), None).astype(object)
                out[name] = pd.Categorical(known, categories=list(cats))
        return pd.DataFrame(out)

    def _predict(self, X: object, margin: bool) -> np.ndarray:
        booster = self.library_booster()
        data = self.library_input(X)
        if self.booster == "gblinear":  # the wrapper's DMatrix path
            import xgboost

            dm = xgboost.DMatrix(data, missing=np.nan, enable_categorical=True)
            return booster.predict(dm, output_margin=margin)
        return booster.inplace_predict(data, predict_type="margin" if margin else "value",
                                       missing=np.nan)

    def predict(self, X: object) -> np.ndarray:
        values = self._predict(X, margin=False)
        if not self.is_classifier:
            return values
        return class_labels(values, self.objective)

    def predict_proba(self, X: object) -> np.ndarray:
        if self.objective == "multi:softmax" or not self.is_classifier:
            raise AttributeError(f"{self.objective} models have no predict_proba here")
        return class_probabilities(self._predict(X, margin=False), self.n_groups)

    def decision_function(self, X: object) -> np.ndarray:
        return self._predict(X, margin=True)


def class_labels(values: np.ndarray, objective: str) -> np.ndarray:
    """XGBClassifier.predict's label rule on the booster's prediction: numpy's argmax of
    class probabilities, softmax's own class, else `p > 0.5`."""
    values = np.asarray(values)
    if values.ndim > 1:
        return np.argmax(values, axis=1)
    if objective == "multi:softmax":
        return values.astype(np.int32)
    labels = np.repeat(0, values.shape[0])
    labels[values > 0.5] = 1
    return labels


def class_probabilities(values: np.ndarray, n_classes: int) -> np.ndarray:
    """XGBClassifier.predict_proba (`_cls_predict_proba`): a binary prediction p becomes
    the float32 columns [1 - p, p]."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == n_classes:
        return values
    return np.vstack((1.0 - values, values)).transpose()


def read(path: Path) -> XGBoostModel:
    """An XGBoost model file (.json or .ubj), parsed without xgboost."""
    path = Path(path)
    return XGBoostModel(_decode(path.read_bytes(), str(path)), str(path), path=path)


def from_booster(booster: object, path: Path | None = None) -> XGBoostModel:
    """A raw xgboost.Booster (from a joblib file at `path`), read through its own JSON
    (`save_raw('json')`) so that it is parsed exactly as a model file is."""
    where = f"{path} (xgboost.Booster)" if path is not None else "xgboost.Booster"
    try:
        raw = bytes(booster.save_raw(raw_format="json"))
    except Exception as exc:  # noqa: BLE001 - any library error: the booster is unusable
        raise CompileError(f"{where}: xgboost could not serialize the booster: {exc}") from exc
    return XGBoostModel(_decode(raw, where), where, booster=booster)


