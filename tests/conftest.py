"""Shared fixtures: the bundled packs are loaded once per session (loading compiles them)."""
from __future__ import annotations

import json
import pathlib

import pytest

import rulekit

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "yuxi" / "examples" / "household.json"


@pytest.fixture(scope="session")
def yuxi() -> rulekit.Pack:
    return rulekit.load_pack("yuxi")


@pytest.fixture()
def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))
