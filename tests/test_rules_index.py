"""docs/rules.md is the project's own index of the rule book: every rule number the code or the
tests cite must be defined there, and it defines exactly R1-R31."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "docs" / "rules.md"
CITED = re.compile(r"\bR(\d{1,2})\b")


def defined_rules() -> set[int]:
    return {int(n) for n in re.findall(r"^### R(\d+) ", RULES.read_text("utf-8"), re.M)}


def cited_rules(*folders: str) -> dict[int, list[str]]:
    cited: dict[int, list[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number in CITED.findall(path.read_text("utf-8")):
                cited.setdefault(int(number), []).append(str(path.relative_to(ROOT)))
    return cited


def test_rules_md_defines_exactly_r1_to_r31() -> None:
    assert defined_rules() == set(range(1, 32))


def test_every_rule_cited_in_the_code_resolves_in_rules_md() -> None:
    missing = {n: files[:3] for n, files in cited_rules("src").items() if n not in defined_rules()}
    assert not missing, f"rule numbers cited in src/ but not in docs/rules.md: {missing}"


def test_every_rule_cited_in_the_tests_and_benchmarks_resolves_in_rules_md() -> None:
    cited = cited_rules("tests", "benchmarks")
    missing = {n: files[:3] for n, files in cited.items() if n not in defined_rules()}
    assert not missing, f"rule numbers cited in tests but not in docs/rules.md: {missing}"


def test_the_code_cites_every_built_rule() -> None:
    text = RULES.read_text("utf-8")
    built = {int(n) for n in re.findall(r"^### R(\d+) .* — (?:built|partial)$", text, re.M)}
    cited = cited_rules("src")
    assert built <= set(cited), f"built rules never cited in src/: {sorted(built - set(cited))}"


def _test_files_naming(number: int) -> set[str]:
    pattern = re.compile(rf"def test_(?:r\d+_)*r{number}_")
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if pattern.search(path.read_text("utf-8"))
    }


def test_every_built_rule_lists_exactly_the_test_files_named_after_it() -> None:
    text = RULES.read_text("utf-8")
    sections = re.split(r"^(?=### R\d+ )", text, flags=re.M)
    for section in sections:
        head = re.match(r"### R(\d+) .* — (built|partial)$", section, re.M)
        if head is None:
            continue
        number = int(head.group(1))
        listed = re.search(rf"^Tests \(`test_r{number}_\*`\): (.*)\.$", section, re.M)
        assert listed is not None, f"R{number} is {head.group(2)} but lists no tests"
        files = set(re.findall(r"`([^`]+)`", listed.group(1)))
        assert files == _test_files_naming(number), f"R{number}: tests listed are out of date"
