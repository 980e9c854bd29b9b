"""docs/architecture.md's examples run as tests: every ```python block, in order, in one
namespace (the second half defines a new aggregate kind without touching the package)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_architecture_examples_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"__name__": "architecture_md"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/architecture.md block {number}", "exec"), namespace)
    assert namespace["lent"].state == "lent"  # type: ignore[attr-defined]
