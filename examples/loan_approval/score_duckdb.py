"""Score the applicants inside DuckDB with the generated SQL macros."""

from pathlib import Path

import duckdb

here = Path(__file__).parent
con = duckdb.connect()
con.execute((here / "out" / "loan.sql").read_text())
con.execute("CREATE TABLE applicants AS SELECT * FROM read_csv($p)",
            {"p": str(here / "applicants.csv")})
rows = con.sql("""
    SELECT loan_predict(age, income, credit_score, loan_amount, employment_years,
                        state, purpose) AS decision,
           loan_predict_proba(age, income, credit_score, loan_amount, employment_years,
                              state, purpose)[1] AS p_approve
    FROM applicants LIMIT 5
""").fetchall()
for decision, p in rows:
    print(f"duckdb: {decision:8s} P(approve)={p:.4f}")
