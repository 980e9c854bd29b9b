"""The SQL hot path (aftersales.adapters.sql.driver): statements run at driver level, or
through SQLAlchemy's exec_driver_sql with the same SQL when someone listens to cursor events,
and a command's outcome is the same either way (SQLite, no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from aftersales import Actor, ManualClock, Role, SequentialIds, sql_desk
from aftersales.adapters.sql.driver import uses_driver
from aftersales.errors import ValidationError

BOSS = Actor(UUID(int=1), "boss", frozenset({Role.SUPERVISOR, Role.CLERK}))


def _run(path: Path, listen: bool) -> tuple[list[str], Any]:
    clock = ManualClock(datetime(2026, 11, 1, tzinfo=UTC), step=timedelta(seconds=1))
    desk, store = sql_desk(path, supervisor=BOSS, clock=clock, ids=SequentialIds(start=10))
    engine = store.engine
    seen: list[str] = []
    if listen:
        @event.listens_for(engine, "after_cursor_execute")
        def _seen(conn: Any, cursor: Any, sql: str, params: Any, ctx: Any, many: bool) -> None:
            seen.append(sql)
    customer = desk.register_customer(BOSS, name="ACME")
    request = desk.register_request(BOSS, customer_id=customer.id, summary="noise")
    with pytest.raises(ValidationError):
        desk.register_request(BOSS, customer_id=customer.id, summary="")
    with engine.connect() as conn:
        assert uses_driver(conn) is not listen
    with store.unit_of_work() as uow:
        loaded = uow.requests.get(request.id)
    engine.dispose()
    return seen, (loaded.number, loaded.state, loaded.version, len(loaded.record))


def test_listeners_see_every_statement_and_the_outcome_is_the_same(tmp_path: Path) -> None:
    quiet, outcome = _run(tmp_path / "driver.db", listen=False)
    heard, same = _run(tmp_path / "listened.db", listen=True)
    assert quiet == [] and outcome == same
    assert any(sql.startswith("INSERT INTO service_requests") for sql in heard)
    assert any("FROM service_requests" in sql for sql in heard)
