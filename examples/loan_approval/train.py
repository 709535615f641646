"""Train the example loan-approval pipeline and save it with joblib.

Writes loan.joblib (the model) and applicants.csv (new applicants to score) next to
this file. The data are synthetic, made from a fixed seed, so every run is the same.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).parent
NUMBERS = ["age", "income", "credit_score", "loan_amount", "employment_years"]
TEXT = ["state", "purpose"]


def applicants(n: int, rng: np.random.Generator) -> pd.DataFrame:
    df = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "income": rng.lognormal(10.8, 0.5, n).round(2),
        "credit_score": rng.normal(680, 60, n).clip(300, 850).round(),
        "loan_amount": rng.lognormal(9.5, 0.8, n).round(2),
        "employment_years": rng.exponential(6, n).round(1),
        "state": pd.Series(rng.choice(["CA", "NY", "TX", "WA", "FL"], n), dtype=object),
        "purpose": pd.Series(rng.choice(["home", "car", "education", "business"], n),
                             dtype=object),
    })
    for col in ["income", "employment_years", "state"]:  # some applicants leave fields out
        df.loc[rng.random(n) < 0.05, col] = np.nan if col != "state" else None
    return df


def main() -> None:
    rng = np.random.default_rng(7)
    X = applicants(2000, rng)
    score = (X["credit_score"] - 650) / 50 + np.log(X["income"].fillna(40000) /
                                                    X["loan_amount"]) - 1.5
    y = np.where(score + rng.normal(0, 0.7, len(X)) > 0, "approve", "decline")
    model = make_pipeline(
        ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             NUMBERS),
            ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                   OneHotEncoder(handle_unknown="ignore")), TEXT),
        ]),
        RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0),
    )
    model.fit(X, y)
    joblib.dump(model, HERE / "loan.joblib")
    applicants(20, np.random.default_rng(8)).to_csv(HERE / "applicants.csv", index=False)
    print(f"trained on {len(X)} applicants; accuracy on them {model.score(X, y):.3f}")


if __name__ == "__main__":
    main()
