"""The README's examples run as tests: every ```python block, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_examples_run_in_order(capsys: object) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"README.md block {number}", "exec"), namespace)


def test_readme_names_exactly_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    setup = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert len(setup) == 2
    assert setup[0].strip().endswith("aftersales demo")
    assert setup[1].strip().endswith("python -m pytest")
