"""Score new applicants with the generated Python module (standard library only)."""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "out"))
import loan  # noqa: E402  (the module scorec generated)

with open(Path(__file__).parent / "applicants.csv", newline="") as f:
    for row in list(csv.DictReader(f))[:5]:
        features = {k: (v if v != "" else None) for k, v in row.items()}
        for k in ("age", "income", "credit_score", "loan_amount", "employment_years"):
            features[k] = None if features[k] is None else float(features[k])
        p_approve = loan.predict_proba(features)[loan.CLASSES.index("approve")]
        print(f"python: {loan.predict(features):8s} P(approve)={p_approve:.4f}")
