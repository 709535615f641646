"""Readers of libraries' own model files (XGBoost JSON/UBJSON, LightGBM text), which parse
the file themselves: no unpickling, and the library need not be installed."""
