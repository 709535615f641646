"""The product's promise: every supported component x every target equals sklearn.

For each component, hypothesis draws a random fitted pipeline that contains it (see
builders.py), compiles it for one target, and checks random rows drawn around the
model's own split bounds, categories and clip limits, plus NaN/None, infinities, huge
and tiny magnitudes, unseen and hostile text, against the real model's outputs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from builders import BUILDERS
from conftest import ENGINE_EXAMPLES, ENGINES, TARGETS, build_scorer, rows_for
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from scorec.compiler.lower import lower_model
from scorec.compiler.registry import RULES, rule_of
from scorec.runtime.verify import compare


def _components(obj: object) -> set[str]:
    """Names (rule titles, else class names) of every component inside a fitted model."""
    rule = rule_of(obj)
    found = {type(obj).__name__ if rule is None else rule.name}
    for step in getattr(obj, "steps", []):
        found |= _components(step[1])
    parts = [t for _, t, _ in getattr(obj, "transformers_", [])]
    parts += [t for _, t in getattr(obj, "transformer_list", [])]  # FeatureUnion
    parts += [e for e in getattr(obj, "estimators_", []) if isinstance(e, BaseEstimator)]
    for trans in parts:
        if isinstance(trans, BaseEstimator):
            found |= _components(trans)
    return found


def test_every_registered_component_has_a_property_test():
    assert {r.name for r in RULES.values()} == set(BUILDERS)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("component", sorted(BUILDERS))
@given(data=st.data())
def test_target_equals_model(component: str, target: str, data: st.DataObject) -> None:
    _check(component, target, data)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("component", sorted(BUILDERS))
def test_engine_equals_model(component: str, engine: str) -> None:
    """The same on Spark and PostgreSQL, with fewer examples (a query round trip)."""

    @settings(max_examples=ENGINE_EXAMPLES[engine])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        _check(component, engine, data)

    check()


def _check(component: str, target: str, data: st.DataObject) -> None:
    model = data.draw(BUILDERS[component](), label="model")
    assert component in _components(model)
    program = lower_model(model)
    rows = data.draw(rows_for(program), label="rows")
    with tempfile.TemporaryDirectory() as tmp:
        scorer, manifest = build_scorer(program, target, Path(tmp))
        report = compare(model, program, [scorer], manifest["outputs"], rows)
    assert report.ok, report.format(program.features)
