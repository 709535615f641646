"""The CLI contract: compile / verify / inspect, exit codes, and no partial output."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import NMF
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from scorec.compiler.cli import main
from scorec.compiler.load import sha256_file


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(40, 9, 80), "income level": rng.normal(5, 2, 80)})
    y = np.where(X["age"] > 40, "approve", "decline")
    path = tmp_path_factory.mktemp("m") / "loan model.joblib"
    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "scorec.compiler.cli", *args],
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_compile_writes_every_file_and_the_manifest(model_file, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(model_file), "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "loan_model"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["loan_model.py", "loan_model.h", "loan_model.c", "loan_model.sql",
         "loan_model.spark.sql", "loan_model.postgres.sql", "manifest.json"])
    assert manifest["files"] == {"python": ["loan_model.py"],
                                 "c": ["loan_model.h", "loan_model.c"],
                                 "sql": ["loan_model.sql"],
                                 "spark": ["loan_model.spark.sql"],
                                 "postgres": ["loan_model.postgres.sql"]}
    assert manifest["model_sha256"] == sha256_file(model_file)
    assert manifest["task"] == "classification"
    assert manifest["classes"] == ["approve", "decline"]
    assert manifest["outputs"] == ["predict", "predict_proba", "decision_function"]
    assert [f["name"] for f in manifest["features"]] == ["age", "income level"]
    assert [f["c_name"] for f in manifest["features"]] == ["age", "income_level"]
    assert all(f["kind"] == "number" for f in manifest["features"])
    import hashlib

    for fn, digest in manifest["sha256"].items():
        assert hashlib.sha256((out / fn).read_bytes()).hexdigest() == digest


def test_compile_one_target_and_a_name(model_file, tmp_path):
    out = tmp_path / "py"
    assert main(["compile", str(model_file), "-o", str(out), "--target", "python",
                 "--name", "scorer"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "scorer.py"]


def test_verify_passes_then_catches_a_tampered_artifact(model_file, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(model_file), "-o", str(out)]) == 0
    code, stdout, _ = run("verify", str(model_file), str(out), "--examples", "100")
    assert code == 0, stdout
    assert "0 mismatches" in stdout
    src = out / "loan_model.py"
    src.write_text(src.read_text().replace("CLASSES = ('approve', 'decline')",
                                           "CLASSES = ('decline', 'approve')"))
    code, stdout, _ = run("verify", str(model_file), str(out))
    assert code == 1 and "modified" in stdout


def test_verify_rejects_artifacts_of_another_model(model_file, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(model_file), "-o", str(out)]) == 0
    other = tmp_path / "other.joblib"
    X = np.random.default_rng(1).normal(size=(30, 2))
    joblib.dump(LogisticRegression().fit(X, X[:, 0] > 0), other)
    code, _, err = run("verify", str(other), str(out))
    assert code == 2 and "different model" in err


def _fails_cleanly(args: list[str], needle: str, tmp_path, out_name: str = "out") -> None:
    code, stdout, err = run(*args)
    assert code == 2, (stdout, err)
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / out_name).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scorec")]


def test_missing_model_file(tmp_path):
    _fails_cleanly(["compile", str(tmp_path / "nope.joblib"), "-o", str(tmp_path / "out")],
                   "not found", tmp_path)


def test_not_a_joblib_file(tmp_path):
    bad = tmp_path / "bad.joblib"
    bad.write_text("definitely not a pickle")
    _fails_cleanly(["compile", str(bad), "-o", str(tmp_path / "out")], "joblib", tmp_path)


def test_not_an_estimator(tmp_path):
    path = tmp_path / "dict.joblib"
    joblib.dump({"a": 1}, path)
    _fails_cleanly(["compile", str(path), "-o", str(tmp_path / "out")], "not a scikit-learn",
                   tmp_path)


def test_unfitted_model(tmp_path):
    path = tmp_path / "unfitted.joblib"
    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression()), path)
    _fails_cleanly(["compile", str(path), "-o", str(tmp_path / "out")], "unfitted", tmp_path)


def test_unsupported_step_is_named_with_its_place(tmp_path):
    X = np.abs(np.random.default_rng(0).normal(size=(40, 3)))
    path = tmp_path / "nmf.joblib"  # NMF's transform solves an optimisation per row
    joblib.dump(make_pipeline(MinMaxScaler(), NMF(2, max_iter=50), LogisticRegression())
                .fit(X, X[:, 0] > 0.5), path)
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 2
    assert "unsupported component NMF" in err and "nmf (NMF)" in err
    assert "Supported:" in err and "OneHotEncoder" in err
    assert not (tmp_path / "out").exists()
    code, stdout, _ = run("inspect", str(path))
    assert code == 0
    assert "NMF  [NOT SUPPORTED]" in stdout and "compiles: no" in stdout


def test_output_path_that_is_a_file(model_file, tmp_path):
    target = tmp_path / "out"
    target.write_text("keep me")
    code, _, err = run("compile", str(model_file), "-o", str(target))
    assert code == 2 and "not a directory" in err
    assert target.read_text() == "keep me"


def test_output_dir_with_foreign_files_is_not_clobbered(model_file, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    code, _, err = run("compile", str(model_file), "-o", str(target))
    assert code == 2 and "refusing to overwrite" in err
    assert (target / "notes.txt").read_text() == "mine"


def test_float_c_build_is_refused_until_supported(model_file, tmp_path):
    _fails_cleanly(["compile", str(model_file), "-o", str(tmp_path / "out"), "--c-float",
                    "float"], "--c-float float", tmp_path)


def test_debug_shows_the_traceback(tmp_path):
    code, _, err = run("--debug", "compile", str(tmp_path / "x.joblib"), "-o",
                       str(tmp_path / "out"))
    assert code != 0 and "Traceback" in err


def test_inspect_prints_schema_and_steps(model_file):
    code, stdout, _ = run("inspect", str(model_file))
    assert code == 0
    assert "'age': number" in stdout and "'income level': number" in stdout
    assert "StandardScaler  [supported]" in stdout
    assert "compiles: yes" in stdout


def test_verify_with_a_data_file(model_file, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(model_file), "-o", str(out)]) == 0
    data = tmp_path / "rows.csv"
    pd.DataFrame({"age": [20.0, None, 61.5], "income level": [1.0, 2.0, None]}).to_csv(
        data, index=False)
    code, stdout, _ = run("verify", str(model_file), str(out), "--data", str(data),
                          "--examples", "20")
    assert code == 0, stdout
    pd.DataFrame({"age": [1.0]}).to_csv(data, index=False)
    code, _, err = run("verify", str(model_file), str(out), "--data", str(data))
    assert code == 2 and "income level" in err


def test_catboost_is_refused_with_its_reason() -> None:
    from scorec.compiler.lower import lower_model
    from scorec.compiler.registry import UnsupportedError

    fake = type("CatBoostClassifier", (), {"__module__": "catboost.core",
                                           "n_features_in_": 2})()
    with pytest.raises(UnsupportedError, match="CatBoostClassifier.*CTR statistics"):
        lower_model(fake)
