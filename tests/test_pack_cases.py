"""Every bundled pack's own YAML test cases (policies/<pack>/tests/*.yaml), one pytest item each."""
from __future__ import annotations

import pytest

import rulekit
from rulekit.pack.spec import bundled_packs, policies_root
from rulekit.testing import iter_pack_cases, run_case

CASES = [(pack_id, case) for pack_id in bundled_packs()
         for case in iter_pack_cases(policies_root() / pack_id)]
_PACKS: dict[str, rulekit.Pack] = {}


@pytest.mark.parametrize("pack_id, case", CASES, ids=[f"{p}:{c.id}" for p, c in CASES])
def test_pack_case(pack_id: str, case) -> None:
    pack = _PACKS.get(pack_id) or _PACKS.setdefault(pack_id, rulekit.load_pack(pack_id))
    problems = run_case(pack, case)
    assert not problems, f"{case.file}:{case.line} {case.id}\n  " + "\n  ".join(problems)


def test_every_pack_with_rules_has_cases() -> None:
    with_cases = {p for p, _ in CASES}
    for pack_id in bundled_packs():
        if rulekit.load_pack(pack_id).spec.rules:
            assert pack_id in with_cases, f"pack {pack_id} has rules but no test cases"
