"""Builders for the linear family (see builders.py): one per supported component."""

from __future__ import annotations

BUILDERS: dict = {}
