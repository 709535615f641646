"""Builders for the anomaly family (see builders.py): one per supported component."""

from __future__ import annotations

BUILDERS: dict = {}
