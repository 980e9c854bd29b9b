"""The ``aftersales`` command: ``demo``, ``diagram NAME``, ``workflows``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _diagram(name: str) -> int:
    from aftersales.workflows import WORKFLOWS

    workflow = WORKFLOWS.get(name)
    if workflow is None:
        print(f"unknown workflow {name!r}; known: {', '.join(sorted(WORKFLOWS))}",
              file=sys.stderr)
        return 2
    sys.stdout.write(workflow.definition.to_mermaid())
    return 0


def _workflows() -> int:
    from aftersales.workflows import WORKFLOWS, check_workflow

    for name, workflow in sorted(WORKFLOWS.items()):
        problems = check_workflow(workflow.definition)
        verdict = "sound" if not problems else f"{len(problems)} problem(s)"
        print(f"{name}: {len(workflow.definition.states)} states, "
              f"{len(workflow.definition.transitions)} transitions, {verdict}")
        for trigger, source, dest, conditions in workflow.definition.to_table():
            guard = f"  [{conditions}]" if conditions else ""
            print(f"    {trigger:<20} {source:>18} -> {dest}{guard}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aftersales`` console script."""
    parser = argparse.ArgumentParser(prog="aftersales", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a scripted day at a service desk")
    demo.add_argument("--db", help="database URL or SQLite file to persist to")
    diagram = sub.add_parser("diagram", help="print a workflow as a Mermaid state diagram")
    diagram.add_argument("name", help="workflow name, e.g. remote, onsite, request")
    sub.add_parser("workflows", help="list every workflow with its transitions and check")
    args = parser.parse_args(argv)
    if args.command == "diagram":
        return _diagram(args.name)
    if args.command == "workflows":
        return _workflows()
    from aftersales.demo import run_demo

    return run_demo(db=args.db)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
