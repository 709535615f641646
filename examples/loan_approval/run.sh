#!/usr/bin/env bash
# The example end to end: train, compile (Python, C, DuckDB; Spark and PostgreSQL need
# Java / a server: see README), verify, then score from Python, C and DuckDB.
set -euo pipefail
cd "$(dirname "$0")"
python train.py
scorec compile loan.joblib -o out --target python --target c --target sql
scorec verify loan.joblib out --data applicants.csv --examples 300
python score.py
cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -I out main.c out/loan.c -o out/main -lm
./out/main
python score_duckdb.py
