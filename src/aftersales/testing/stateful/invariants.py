"""The invariants the service desk machine checks after every step: R9 (the record and
the events), R10 (confirmation before closing), R12 (dispatch approvals) and yours.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from uuid import UUID

from hypothesis.stateful import invariant

from aftersales.domain.request import DispatchApproval, OnSiteJob, RequestState
from aftersales.domain.values import Role
from aftersales.testing.stateful.base import DeskMachineBase
from aftersales.workflows import verify_record

__all__ = ["DeskInvariants"]


class DeskInvariants(DeskMachineBase):
    """The invariants checked after every step."""

    @invariant()
    def r9_record_is_append_only_and_replays(self) -> None:
        """R9: the old record is a prefix of the new one, versions never go back, and the
        record replays to the request's state and its jobs' states."""
        for rid, request in self.store.requests.items():
            record = tuple(request.record)
            old = self.records.get(rid, ())
            assert record[: len(old)] == old, f"R9: the record of {request.number} was rewritten"
            assert request.version >= self.versions.get(rid, 0), "version went backwards"
            if record != old:
                problems = verify_record(request)
                assert not problems, (
                    f"R9: the record of {request.number} does not replay: {problems}"
                )
            self.records[rid] = record
            self.versions[rid] = request.version

    @invariant()
    def r9_events_are_numbered_without_gaps(self) -> None:
        """Each aggregate's committed events carry sequence 1, 2, 3 ... in order."""
        seen: dict[UUID, int] = {}
        for event in self.store.events:
            expected = seen.get(event.aggregate_id, 0) + 1
            assert event.sequence == expected, (
                f"event {event.name} of {event.aggregate_id} has sequence {event.sequence}, "
                f"expected {expected}"
            )
            seen[event.aggregate_id] = expected
        for kind in self.store.kinds:
            for key, item in self.store.committed(kind).items():
                assert seen.get(key, 0) == item.event_sequence, "events and aggregate disagree"

    @invariant()
    def r10_nothing_closes_without_customer_confirmation(self) -> None:
        """R10: a closed request has a ``confirm`` entry after its last ``reopen`` and before
        ``close``, and its confirmation time."""
        for request in self.store.requests.values():
            if request.state != RequestState.CLOSED:
                continue
            actions = [e.action for e in request.record if e.subject_id == request.id]
            assert "close" in actions, "R10: closed without a close entry"
            before_close = actions[: actions.index("close")]
            assert "confirm" in before_close, f"R10: {request.number} closed unconfirmed"
            last_confirm = len(before_close) - before_close[::-1].index("confirm") - 1
            assert "reopen" not in before_close[last_confirm:], (
                f"R10: {request.number} was reopened after its confirmation, then closed"
            )
            assert request.customer_confirmed_at is not None

    @invariant()
    def r12_nothing_closes_with_an_unapproved_dispatch(self) -> None:
        """R12: no closed request has an EMERGENCY_PENDING on-site job, and every on-site job
        that travelled carries a supervisor's approval (before or afterwards)."""
        for request in self.store.requests.values():
            if request.state != RequestState.CLOSED:
                continue
            for job in request.jobs:
                if not isinstance(job, OnSiteJob):
                    continue
                assert job.approval != DispatchApproval.EMERGENCY_PENDING, (
                    f"R12: {request.number} closed with an emergency dispatch unapproved"
                )
                travelled = any(
                    e.subject_id == job.id and e.to_state == "travelling" for e in request.record
                )
                if travelled:
                    assert job.approval in (
                        DispatchApproval.APPROVED, DispatchApproval.RETRO_APPROVED
                    ), f"R12: {request.number} closed; job {job.id} travelled as {job.approval}"
                    approver = self.store.actors[job.approved_by] if job.approved_by else None
                    assert approver is not None and approver.has(Role.SUPERVISOR), (
                        f"R12: job {job.id} of {request.number} approved by {approver}"
                    )

    @invariant()
    def extra_invariants_hold(self) -> None:
        """Runs :meth:`check_extra_invariants` on every committed request."""
        for request in self.store.requests.values():
            self.check_extra_invariants(request)
