"""Run what was compiled (Python, C via ctypes, DuckDB SQL) and check it against the model."""
