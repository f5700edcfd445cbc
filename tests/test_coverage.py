"""Catalogue coverage: finished packs cite and test every requirement of their section, and the
catalogue shipped in the package is the shared one."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FINISHED = ("yuxi", "national")     # sections whose packs are complete

needs_shared = pytest.mark.skipif(not (SHARED / "tools" / "coverage.py").is_file(),
                                  reason="../shared is not beside this checkout")


@needs_shared
def test_shipped_catalogue_is_the_shared_one() -> None:
    assert (ROOT / "policies" / "catalogue.yaml").read_bytes() == \
        (SHARED / "requirements" / "catalogue.yaml").read_bytes()


@needs_shared
@pytest.mark.parametrize("section", FINISHED)
def test_section_fully_cited_and_tested(section: str) -> None:
    out = subprocess.run([sys.executable, str(SHARED / "tools" / "coverage.py"), str(ROOT / "policies")],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith(section))
    m = re.search(r"cited\+tested\s+(\d+)/(\d+)", line)
    assert m and m.group(1) == m.group(2), out
