"""The command line: the demo a newcomer runs first, and the generated workflow docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from aftersales.cli import main, workflows_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "workflows.md"


def test_demo_prints_requests_states_and_who_did_what(capsys: object) -> None:
    assert main(["demo", "--memory"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "Service requests at the end of the day" in out
    assert "Who did what" in out
    for state in ("closed", "in_progress"):
        assert state in out
    assert "[refused]" in out and "R12" in out
    assert "approve additional work" in out  # R13: the depot job's extra work was consented
    assert "vendor failed" in out and "back to depot" in out  # R14: second vendor repaired it
    assert "RO-20261123-" in out


def test_demo_persists_to_sqlite_and_a_second_run_reports_what_is_there(tmp_path: Path) -> None:
    exe = shutil.which("aftersales") or str(Path(sys.executable).parent / "aftersales")

    def run() -> str:
        done = subprocess.run(
            [exe, "demo"], capture_output=True, text=True, timeout=300, check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = run()
    database = tmp_path / "aftersales-demo.sqlite3"
    assert database.exists()
    assert str(database) in first
    assert "SR-20261123-0001" in first and "Already there" not in first
    second = run()
    assert "Already there from earlier runs: 6 requests" in second
    assert "SR-20261124-0001" in second
    assert "12 requests stored in all" in second


def test_docs_workflows_md_is_generated_from_the_code() -> None:
    assert DOCS.read_text(encoding="utf-8") == workflows_markdown(), (
        "docs/workflows.md is stale: run `aftersales workflows --markdown > docs/workflows.md`"
    )


def test_workflows_listing_reports_every_workflow_sound(capsys: object) -> None:
    from aftersales.workflows import WORKFLOWS

    assert main(["workflows"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.count("sound") == len(WORKFLOWS) == 7


def test_docs_repairs_md_embeds_the_generated_repair_diagrams() -> None:
    from aftersales.workflows import WORKFLOWS

    text = (DOCS.parent / "repairs.md").read_text(encoding="utf-8")
    for name in ("depot", "outsourced"):
        assert "```mermaid\n" + WORKFLOWS[name].definition.to_mermaid() + "```" in text, (
            f"docs/repairs.md shows a stale {name} diagram"
        )
