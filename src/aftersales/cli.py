"""The ``aftersales`` command: ``demo``, ``diagram NAME``, ``workflows``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "workflows_markdown"]


def _diagram(name: str) -> int:
    from aftersales.workflows import WORKFLOWS

    workflow = WORKFLOWS.get(name)
    if workflow is None:
        print(f"unknown workflow {name!r}; known: {', '.join(sorted(WORKFLOWS))}",
              file=sys.stderr)
        return 2
    sys.stdout.write(workflow.definition.to_mermaid())
    return 0


def workflows_markdown() -> str:
    """The text of ``docs/workflows.md``: every shipped workflow, described and drawn."""
    from aftersales.workflows import WORKFLOWS

    parts = [
        "# Workflows\n",
        "Generated from the code by `aftersales workflows --markdown`; do not edit by hand "
        "(a test compares this file with the generator). Each workflow is one module-level "
        "`transitions.Machine`; guards are shown in brackets.\n",
    ]
    for name, workflow in WORKFLOWS.items():
        d = workflow.definition
        parts.append(f"## `{name}`\n")
        parts.append(d.description + "\n")
        parts.append(f"Initial state `{d.initial}`; final states "
                     + ", ".join(f"`{f}`" for f in sorted(d.finals)) + ".\n")
        if d.guarantees:
            parts.append("Guarantees checked by `check_workflow`:\n")
            for g in d.guarantees:
                if hasattr(g, "via"):
                    text = f"every path to `{g.target}` passes " + " or ".join(
                        f"`{v}`" for v in g.via)
                else:
                    text = f"every transition into `{g.target}` is guarded by `{g.condition}`"
                parts.append(f"- {text} ({g.rule})")
            parts.append("")
        parts.append("```mermaid\n" + d.to_mermaid() + "```\n")
    return "\n".join(parts)


def _workflows(markdown: bool = False) -> int:
    from aftersales.workflows import WORKFLOWS, check_workflow

    if markdown:
        sys.stdout.write(workflows_markdown())
        return 0
    for name, workflow in sorted(WORKFLOWS.items()):
        problems = check_workflow(workflow.definition)
        verdict = "sound" if not problems else f"{len(problems)} problem(s)"
        print(f"{name}: {len(workflow.definition.states)} states, "
              f"{len(workflow.definition.transitions)} transitions, {verdict}")
        for trigger, source, dest, conditions in workflow.definition.to_table():
            guard = f"  [{conditions}]" if conditions else ""
            print(f"    {trigger:<20} {source:>18} -> {dest}{guard}")
    return 0


def _db(action: str, url: str, revision: str) -> int:
    import sqlalchemy.exc

    from aftersales.adapters.sql import current_revision, head_revision, upgrade
    from aftersales.errors import AftersalesError

    try:
        if action == "upgrade":
            before = current_revision(url)
            upgrade(url, revision)
            after = current_revision(url)
            print(f"database schema: {before or 'empty'} -> {after} (head {head_revision()})")
        else:
            print(f"database schema: {current_revision(url) or 'empty'} "
                  f"(head {head_revision()})")
    except (AftersalesError, sqlalchemy.exc.SQLAlchemyError) as error:
        print(f"aftersales db {action}: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aftersales`` console script."""
    parser = argparse.ArgumentParser(prog="aftersales", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a scripted day at a service desk")
    demo.add_argument(
        "--db", help="database URL or SQLite file to persist to (default: aftersales-demo.sqlite3)"
    )
    demo.add_argument("--memory", action="store_true", help="keep everything in memory")
    diagram = sub.add_parser("diagram", help="print a workflow as a Mermaid state diagram")
    diagram.add_argument("name", help="workflow name, e.g. remote, onsite, request")
    listing = sub.add_parser("workflows", help="list every workflow, its transitions and check")
    listing.add_argument("--markdown", action="store_true", help="print docs/workflows.md")
    db = sub.add_parser("db", help="database schema migrations (SQL adapter)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="bring a database to the current schema")
    up.add_argument("url", help="database URL (e.g. postgresql+psycopg://...) or SQLite path")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    cur = db_sub.add_parser("current", help="print the schema revision of a database")
    cur.add_argument("url", help="database URL or SQLite path")
    args = parser.parse_args(argv)
    if args.command == "db":
        return _db(args.db_command, args.url, getattr(args, "revision", "head"))
    if args.command == "diagram":
        return _diagram(args.name)
    if args.command == "workflows":
        return _workflows(args.markdown)
    from aftersales.demo import run_demo

    code: int = run_demo(db=args.db, memory=args.memory)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
