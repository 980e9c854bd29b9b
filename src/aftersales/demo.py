"""``aftersales demo``: a scripted day at a service desk.

Several customers and units, requests flowing through the remote and on-site flows (with an
emergency dispatch, a consultation and revisit, a reschedule, a hand-off to the depot and a
few refused actions), printed as tables a service manager can read.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
from rich.console import Console
from rich.table import Table

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.system import ManualClock
from aftersales.domain import (
    Actor,
    Address,
    Category,
    Channel,
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    Equipment,
    Exclusion,
    Impact,
    Money,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.domain.events import Event
from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair import (
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedRepair,
    RepairOrder,
    Vendor,
)
from aftersales.domain.request import RecordEntry
from aftersales.errors import AftersalesError, NotFound
from aftersales.ports import UnitOfWork
from aftersales.service import RepairDesk, ServiceDesk, enroll_first_supervisor

__all__ = ["run_demo"]

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 23, 8, 30, tzinfo=TZ)


@attrs.frozen
class _Cast:
    boss: Actor
    clerk: Actor
    rep: Actor
    wang: Actor
    zhang: Actor
    huaxin: Customer
    mingda: Customer
    liu: Customer
    liu_actor: Actor
    server: Equipment
    switch: Equipment
    printer: Equipment
    laptop: Equipment
    vendor_a: Vendor
    vendor_b: Vendor


class _DemoIds:
    """Fixed ids for the cast (so a later run finds it again), random ids for requests and
    jobs, and service numbers counted per day."""

    def __init__(self) -> None:
        self.fixed = itertools.count(1001)
        self.setting_up = True
        self.numbers: dict[str, itertools.count[int]] = {}

    def new_id(self) -> UUID:
        return UUID(int=next(self.fixed)) if self.setting_up else uuid.uuid4()

    def number(self, prefix: str, at: datetime) -> str:
        counter = self.numbers.setdefault(prefix, itertools.count(1))
        return f"{prefix}-{at:%Y%m%d}-{next(counter):04d}"


_CAST_FIELDS = [f.name for f in attrs.fields(_Cast)][1:]


def _load_cast(uow: UnitOfWork, boss: Actor) -> _Cast:
    found: dict[str, Any] = {}
    for offset, name in enumerate(_CAST_FIELDS, start=1001):
        key = UUID(int=offset)
        if name in ("huaxin", "mingda", "liu"):
            found[name] = uow.customers.get(key)
        elif name in ("server", "switch", "printer", "laptop"):
            found[name] = uow.equipment.get(key)
        elif name in ("vendor_a", "vendor_b"):
            found[name] = uow.vendors.get(key)
        else:
            found[name] = uow.actors.get(key)
    return _Cast(boss=boss, **found)


def _register_cast(desk: ServiceDesk, boss: Actor) -> _Cast:
    clerk = desk.register_actor(boss, name="Li 李 (clerk)", roles={Role.CLERK})
    rep = desk.register_actor(boss, name="Zhao 赵 (customer rep)", roles={Role.CUSTOMER_REP})
    wang = desk.register_actor(boss, name="Wang 王 (engineer)", roles={Role.ENGINEER})
    zhang = desk.register_actor(boss, name="Zhang 张 (engineer)", roles={Role.ENGINEER})

    huaxin = desk.register_customer(
        clerk,
        name="北京华信科技有限公司 Huaxin Tech",
        tier=CustomerTier.KEY_ACCOUNT,
        contacts=[Contact("周经理 Mr Zhou", phone="+86 10 6555 0101")],
        addresses=[Address("海淀区中关村大街 1 号", city="Beijing")],
    )
    mingda = desk.register_customer(
        rep,
        name="上海明达医院 Mingda Hospital",
        contacts=[Contact("IT 科 Ms Qian", email="it@mingda.example")],
        addresses=[Address("徐汇区 88 号", city="Shanghai")],
    )
    liu = desk.register_customer(
        clerk,
        name="刘女士 Ms Liu",
        kind=CustomerKind.PERSON,
        contacts=[Contact("刘女士 Ms Liu", phone="+86 139 0000 0000")],
    )
    liu_actor = desk.register_actor(
        boss, name="Ms Liu 刘 (customer)", roles={Role.CUSTOMER}, customer_id=liu.id
    )
    server = desk.register_equipment(
        clerk,
        serial="HX-SRV-0192",
        model="R740 server",
        owner_id=huaxin.id,
        installed_on=date(2026, 3, 2),
        invoice_ref="INV-2026-0311",
        purchased_on=date(2026, 2, 20),
        location="机房 A",
    )
    switch = desk.register_equipment(
        clerk,
        serial="HX-SW-7710",
        model="S5700 core switch",
        owner_id=huaxin.id,
        installed_on=date(2024, 6, 1),
        location="机房 A",
    )
    printer = desk.register_equipment(
        rep,
        serial="MD-PRN-0042",
        model="LaserJet M607",
        owner_id=mingda.id,
        produced_on=date(2026, 1, 10),
        location="门诊楼 2F",
    )
    laptop = desk.register_equipment(
        clerk,
        serial="LT-88123",
        model="ThinkPad T14",
        owner_id=liu.id,
        purchased_on=date(2025, 12, 1),
        invoice_ref="JD-5520011",
    )
    repairs = RepairDesk(desk)
    vendor_a = repairs.register_vendor(boss, name="华北维修站 North China repair station",
                                       contact="010-6000 1234", capabilities=("server",))
    vendor_b = repairs.register_vendor(boss, name="原厂深圳维修中心 Maker's Shenzhen centre",
                                       contact="0755-8000 5678",
                                       capabilities=("server", "laptop"))
    return _Cast(boss, clerk, rep, wang, zhang, huaxin, mingda, liu, liu_actor, server, switch,
                 printer, laptop, vendor_a, vendor_b)


def _cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def _day(
    desk: ServiceDesk, repairs: RepairDesk, clock: ManualClock, cast: _Cast, day: datetime,
    say: Callable[[str], None],
) -> tuple[list[UUID], list[UUID]]:
    """Play one day at the desk; return the ids of today's requests and repair orders."""
    policy = repairs.policy
    boss, clerk, rep, wang, zhang = cast.boss, cast.clerk, cast.rep, cast.wang, cast.zhang
    huaxin, mingda, liu, liu_actor = cast.huaxin, cast.mingda, cast.liu, cast.liu_actor
    server, switch, printer, laptop = cast.server, cast.switch, cast.printer, cast.laptop

    def at(hh: int, mm: int) -> None:
        clock.set(day.replace(hour=hh, minute=mm))


    # 08:40 Huaxin's server is slow: remote service, solved by phone and remote login (R11).
    at(8, 40)
    a = desk.register_request(
        clerk,
        customer_id=huaxin.id,
        equipment_id=server.id,
        channel=Channel.PHONE,
        impact=Impact.SIGNIFICANT,
        urgency=Urgency.HIGH,
        summary="数据库服务器响应缓慢 DB slow",
    )
    desk.route(clerk, a.id, department="Server support")
    desk.assign(clerk, a.id, engineer_id=wang.id)
    at(8, 55)
    desk.start_remote(wang, a.id)
    desk.record_contact(wang, a.id, channel=Channel.PHONE, summary="Symptoms taken from Mr Zhou")
    at(9, 20)
    desk.record_contact(
        wang, a.id, channel=Channel.WEB, summary="Remote login: full disk, logs rotated"
    )
    desk.resolve(wang, a.id, resolution="Log rotation fixed; disk at 41 %")
    at(9, 45)
    desk.confirm(clerk, a.id, note="Mr Zhou confirmed by phone")
    desk.close(clerk, a.id)

    # 09:05 the hospital printer jams: remote first, then on-site with approval (R11 → R12).
    at(9, 5)
    b = desk.register_request(
        rep,
        customer_id=mingda.id,
        equipment_id=printer.id,
        channel=Channel.WEB,
        impact=Impact.MODERATE,
        urgency=Urgency.MEDIUM,
        summary="打印机卡纸 paper jams",
    )
    desk.assign(clerk, b.id, engineer_id=zhang.id)
    desk.start_remote(zhang, b.id)
    at(9, 30)
    desk.record_contact(
        zhang, b.id, channel=Channel.PHONE, summary="Guided tray cleaning; still jams"
    )
    desk.escalate_onsite(
        zhang, b.id, reason="Fuser assembly suspected", promised_at=day.replace(hour=14)
    )
    desk.confirm_need(zhang, b.id, note="Ms Qian agrees to a visit at 14:00")
    try:
        desk.approve_dispatch(zhang, b.id)
    except AftersalesError as refused:
        say(f"[refused] {refused}")
    at(10, 0)
    desk.approve_dispatch(boss, b.id)
    desk.prepare(zhang, b.id, note="Fuser kit RM2-5425 from stock")
    at(13, 20)
    desk.depart(zhang, b.id)
    at(13, 58)
    desk.record_arrival(zhang, b.id)
    at(14, 40)
    desk.record_work(zhang, b.id, description="Replaced fuser, 50-page test print clean")
    desk.sign_off(
        zhang,
        b.id,
        found="Worn fuser",
        result="Replaced, tested",
        signed_by="钱女士 Ms Qian",
        rating=5,
        parts_replaced=("RM2-5425 fuser",),
        fee=Money(Decimal("0.00"), "CNY"),
    )
    desk.resolve(zhang, b.id, resolution="Fuser replaced on site")

    # 10:10 Huaxin's core switch is down: emergency dispatch, approval recorded afterwards (R12).
    at(10, 10)
    c = desk.register_request(
        clerk,
        customer_id=huaxin.id,
        equipment_id=switch.id,
        channel=Channel.PHONE,
        impact=Impact.EXTENSIVE,
        urgency=Urgency.HIGH,
        summary="核心交换机宕机 core switch down",
    )
    desk.assign(clerk, c.id, engineer_id=wang.id)
    desk.start_onsite(wang, c.id, promised_at=day.replace(hour=11))
    desk.confirm_need(wang, c.id, note="Whole office offline")
    desk.dispatch_emergency(wang, c.id, reason="Core network down, supervisor unreachable")
    at(10, 50)
    desk.record_arrival(wang, c.id)
    desk.record_work(wang, c.id, description="Supervisor engine fault found; reseated, unstable")
    desk.call_consultation(wang, c.id, reason="Needs vendor firmware advice")
    at(12, 0)
    desk.plan_revisit(
        wang,
        c.id,
        plan="Bring spare supervisor module; firmware 8.2 from vendor",
        promised_at=day.replace(hour=15, minute=30),
    )
    at(15, 0)
    desk.depart(wang, c.id)
    at(15, 25)
    desk.record_arrival(wang, c.id)
    desk.record_work(wang, c.id, description="Swapped supervisor module, upgraded firmware")
    desk.sign_off(
        wang,
        c.id,
        found="Failed supervisor module",
        result="Replaced; network up",
        signed_by="周经理 Mr Zhou",
        rating=4,
    )
    desk.resolve(wang, c.id, resolution="Module replaced, firmware upgraded")
    desk.confirm(clerk, c.id, note="Mr Zhou confirmed")
    try:
        desk.close(clerk, c.id)
    except AftersalesError as refused:
        say(f"[refused] {refused}")
    at(16, 5)
    desk.retro_approve(boss, c.id)
    desk.close(clerk, c.id)

    # 11:00 Ms Liu's laptop will not boot: remote triage, then the depot (R11 → R13).
    at(11, 0)
    d = desk.register_request(
        clerk,
        customer_id=liu.id,
        equipment_id=laptop.id,
        channel=Channel.WALK_IN,
        impact=Impact.MINOR,
        urgency=Urgency.HIGH,
        summary="笔记本无法开机 laptop won't boot",
    )
    desk.assign(clerk, d.id, engineer_id=zhang.id)
    desk.start_remote(zhang, d.id)
    desk.record_contact(zhang, d.id, channel=Channel.WALK_IN, summary="No POST; power LED blinks")
    desk.hand_to_depot(zhang, d.id, reason="Mainboard fault suspected; unit left at the depot")
    warranty = desk.warranty(clerk, laptop.id, on=day.date())
    say(f"[R20] {laptop.model} {laptop.serial}: {warranty.explain()}")
    damaged = desk.warranty(clerk, laptop.id, on=day.date(), findings=[Exclusion.HUMAN_DAMAGE])
    say(f"[R20] if liquid damage is found: {damaged.explain()}")
    try:
        desk.confirm(liu_actor, a.id)
    except AftersalesError as refused:
        say(f"[refused] {refused}")

    # 11:20 the laptop at the depot: liquid damage, so chargeable; more work found later (R13).
    at(11, 20)
    lo = repairs.receive_at_depot(
        clerk, d.id, promised_at=day.replace(hour=17),
        intake=Intake(appearance="Sticky keyboard, scratched lid",
                      configuration="i7 / 16 GB / 1 TB SSD", accessories=("charger",),
                      data_handling=DataHandling.KEEP_OLD_DISK,
                      damage_notes="Lid scratched before intake"),
    )
    repairs.sign_intake(clerk, lo.id, signed_by="刘女士 Ms Liu")
    at(12, 10)
    repairs.diagnose(zhang, lo.id, fault="No power", cause="Coffee spilled on the mainboard",
                     fault_class=FaultClass.CUSTOMER_CAUSED, fault_kind=FaultKind.HARDWARE,
                     findings=[Exclusion.HUMAN_DAMAGE], fault_code="HW-BOARD")
    repairs.send_estimate(zhang, lo.id, lines=[
        EstimateLine(EstimateBasis.ITEM, "mainboard", "Clean and reflow power circuit",
                     LineKind.LABOUR, _cny("380")),
        EstimateLine(EstimateBasis.ITEM, "mainboard", "Power IC", LineKind.PART, _cny("260"),
                     source=PartSource.OURS, origin=PartOrigin.OEM),
    ])
    at(12, 40)
    repairs.approve_estimate(liu_actor, lo.id)
    repairs.start_repair(zhang, lo.id)
    repairs.record_repair_work(zhang, lo.id, description="Board cleaned, power IC replaced")
    at(14, 0)
    repairs.propose_additional_work(
        zhang, lo.id, reason="Keyboard contacts corroded by the same spill",
        new_promised_at=day.replace(hour=18),
        lines=[EstimateLine(EstimateBasis.ITEM, "keyboard", "Replace keyboard",
                            LineKind.PART, _cny("420"), source=PartSource.OURS,
                            origin=PartOrigin.OEM)],
    )
    at(14, 30)
    repairs.approve_additional_work(liu_actor, lo.id)
    repairs.record_repair_work(zhang, lo.id, description="Keyboard replaced")
    repairs.finish_repair(zhang, lo.id, summary="Boots; keyboard and power tested")
    order = repairs.record_qc(zhang, lo.id, results={item: True for item in policy.qc_checklist})
    repairs.mark_ready(clerk, lo.id, pickup_at=day.replace(hour=17))
    at(17, 0)
    order = repairs.get_order(clerk, lo.id)
    repairs.settle(clerk, lo.id, amount=order.amount_due())
    repairs.deliver(clerk, lo.id, signed_by="刘女士 Ms Liu")
    repairs.close_order(clerk, lo.id)
    desk.confirm(liu_actor, d.id, note="Laptop collected, works")
    desk.close(clerk, d.id)

    # 11:40 Huaxin's server: a RAID controller only the maker's station repairs (R14);
    # the first station fails, the second one repairs it.
    at(11, 40)
    f = desk.register_request(
        clerk, customer_id=huaxin.id, equipment_id=server.id, channel=Channel.EMAIL,
        impact=Impact.MODERATE, urgency=Urgency.MEDIUM,
        summary="RAID 控制器报警 RAID controller alarm",
    )
    desk.assign(clerk, f.id, engineer_id=wang.id)
    desk.start_remote(wang, f.id)
    desk.record_contact(wang, f.id, channel=Channel.WEB, summary="Controller log: cache fault")
    desk.hand_to_depot(wang, f.id, reason="Controller to be replaced at the depot")
    so = repairs.receive_at_depot(
        clerk, f.id, promised_at=day + timedelta(days=5),
        intake=Intake(appearance="Rack server, no damage",
                      configuration="2 x Xeon, RAID 10, 8 disks",
                      accessories=("rails", "power cords x2"),
                      data_handling=DataHandling.CUSTOMER_KEEPS_DISK),
    )
    repairs.sign_intake(clerk, so.id, signed_by="周经理 Mr Zhou")
    repairs.diagnose(wang, so.id, fault="RAID cache module failure", cause="Component defect",
                     fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE,
                     fault_code="HW-STORAGE")
    out = repairs.send_to_vendor(wang, so.id, reason="Controller firmware locked to maker")
    repairs.choose_vendor(clerk, out.id, vendor_id=cast.vendor_a.id, capability="server")
    repairs.ship_to_vendor(clerk, out.id, carrier="SF Express", tracking_number="SF1402958817",
                           voucher="寄修单 BJ-0099", promised_by=day.replace(hour=16))
    at(15, 45)
    repairs.chase_vendor(clerk, out.id, response="Station cannot source the cache module")
    repairs.record_vendor_failure(clerk, out.id, reason="No spare module at the station")
    at(16, 30)
    repairs.failed_unit_returned(clerk, out.id, note="Courier brought the controller back")
    repairs.choose_vendor(clerk, out.id, vendor_id=cast.vendor_b.id, capability="server")
    repairs.ship_to_vendor(clerk, out.id, carrier="SF Express", tracking_number="SF1402958990",
                           voucher="寄修单 SZ-0107", promised_by=day.replace(hour=20))
    at(18, 0)
    for line in repairs.return_ledger(clerk):
        say(f"[R14 return ledger] {line.order_number}: {line.carrier} {line.tracking_number}, "
            f"out since {line.shipped_at.astimezone(TZ):%H:%M} ({line.out_for}), "
            f"overdue: {'yes' if line.overdue else 'no'}")
    at(19, 30)
    repairs.vendor_returned(clerk, out.id, vendor_report="Cache module and battery replaced")
    repairs.reinspect(wang, out.id, results={item: True for item in policy.qc_checklist})
    repairs.back_to_depot(wang, out.id)
    repairs.record_qc(wang, so.id, results={item: True for item in policy.qc_checklist})
    repairs.mark_ready(clerk, so.id, pickup_at=day.replace(hour=21))
    at(21, 0)
    server_order = repairs.settle(clerk, so.id, amount=repairs.get_order(clerk, so.id)
                                  .amount_due())  # in the maker's warranty: free
    repairs.deliver(clerk, server_order.id, signed_by="周经理 Mr Zhou")
    repairs.close_order(clerk, server_order.id)
    desk.confirm(clerk, f.id, note="Mr Zhou confirmed: array rebuilt")
    desk.close(clerk, f.id)

    # 15:10 a hospital visit that cannot be kept is rescheduled (R12).
    at(15, 10)
    e = desk.register_request(
        rep,
        customer_id=mingda.id,
        equipment_id=printer.id,
        channel=Channel.EMAIL,
        impact=Impact.MINOR,
        urgency=Urgency.LOW,
        category=Category.PRODUCT_INQUIRY,
        summary="Toner yield question and a preventive check",
    )
    desk.assign(clerk, e.id, engineer_id=zhang.id)
    desk.start_onsite(zhang, e.id, promised_at=day + timedelta(days=1, hours=1))
    desk.reschedule(
        clerk,
        e.id,
        new_time=day + timedelta(days=2, hours=1),
        reason="Engineer Zhang called to an urgent job; Ms Qian agreed to Wednesday",
    )

    # 16:30 Ms Liu confirms the printer report? No: the hospital confirms request B.
    at(16, 30)
    desk.confirm(rep, b.id, note="Ms Qian satisfied")
    desk.close(clerk, b.id)
    return [a.id, b.id, c.id, d.id, e.id, f.id], [lo.id, so.id]


def _tables(
    requests: list[ServiceRequest],
    orders: list[RepairOrder],
    outsourced: list[OutsourcedRepair],
    customers: dict[UUID, str],
    names: dict[UUID, str],
    console: Console,
) -> None:
    summary = Table(title="Service requests at the end of the day")
    for column in ("Number", "Customer", "Summary", "Pri", "State", "Engineer", "Steps"):
        summary.add_column(column, no_wrap=column in ("Number", "Pri", "State", "Steps"))
    for r in requests:
        summary.add_row(
            r.number,
            customers.get(r.customer_id, "?"),
            r.summary,
            r.priority.name,
            r.state,
            names.get(r.engineer_id, "-") if r.engineer_id else "-",
            str(len(r.record)),
        )
    console.print(summary)
    depot_table = Table(title="Depot repair orders (R13) and their trips to vendors (R14)")
    for column in ("Order", "Request", "State", "Warranty", "Estimate", "Settled", "Vendors"):
        depot_table.add_column(column, no_wrap=column in ("Order", "State", "Settled"))
    requests_by_id = {r.id: r.number for r in requests}
    for o in orders:
        trips = [x for x in outsourced if x.order_id == o.id]
        vendors = "; ".join(
            f"{names.get(a.vendor_id, '?')}: "
            + (f"failed ({a.failure})" if a.failure else "repaired" if a.returned_at else "out")
            for x in trips
            for a in x.attempts
        )
        depot_table.add_row(
            o.number, requests_by_id.get(o.request_id, "?"), o.state,
            o.warranty.explain() if o.warranty else "-",
            ", ".join(f"{e.status.value} {e.total}" for e in o.estimates) or "-",
            str(o.settlement.total) if o.settlement else "-", vendors or "-",
        )
    console.print(depot_table)
    log = Table(title="Who did what (the R9 record)")
    for column in ("Time", "Number", "Who", "Action", "From → to", "Note"):
        log.add_column(column, no_wrap=column in ("Time", "Number"))
    numbered: list[tuple[RecordEntry, str]] = [
        (e, r.number) for r in requests for e in r.record
    ]
    numbered += [(e, o.number) for o in orders for e in o.record]
    order_numbers = {o.id: o.number for o in orders}
    numbered += [
        (e, order_numbers.get(x.order_id, "?") + "/vendor") for x in outsourced for e in x.record
    ]
    entries = sorted(numbered, key=lambda p: (p[0].at, p[1]))
    for entry, number in entries:
        moved = (
            f"{entry.from_state} → {entry.to_state}"
            if entry.from_state
            else f"new {entry.workflow}: {entry.to_state}"
        )
        log.add_row(
            entry.at.astimezone(TZ).strftime("%H:%M"),
            number,
            names.get(entry.actor_id, "?"),
            entry.action.replace("_", " "),
            moved,
            _names_in(entry.note, names)[:70],
        )
    console.print(log)


def _names_in(note: str, names: dict[UUID, str]) -> str:
    try:
        return names.get(UUID(note), note)
    except ValueError:
        return note


class _Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


DEFAULT_DB = "aftersales-demo.sqlite3"


def run_demo(
    db: str | None = None, console: Console | None = None, *, memory: bool = False
) -> int:
    """Run the scripted day and print it; return the process exit code.

    The day persists to the SQLite file ``aftersales-demo.sqlite3`` in the current directory
    (or to ``db``: a file path or any database URL); a later run finds what is there, reports
    it, and plays the next day. ``memory=True`` keeps everything in memory.
    """
    if console is None:
        console = Console()
        if not console.is_terminal or console.width < 140:
            console = Console(width=140)
    boss = Actor(UUID(int=1), "Chen 陈 (supervisor)", {Role.SUPERVISOR})
    uow_factory: Callable[[], UnitOfWork]
    clock = ManualClock(DAY)
    if memory:
        store = InMemoryStore()
        uow_factory = store.unit_of_work
        where = "memory"
    else:
        from aftersales.adapters.sql import SqlStore, create_engine, upgrade

        target = db or DEFAULT_DB
        engine = create_engine(target)
        upgrade(engine)
        uow_factory = SqlStore(engine, clock=clock).unit_of_work
        where = engine.url.render_as_string(hide_password=True)
        if engine.url.get_backend_name() == "sqlite" and engine.url.database:
            where = os.path.abspath(engine.url.database)
    with uow_factory() as uow:
        try:
            uow.actors.get(boss.id)
            earlier = uow.requests.find()
        except NotFound:
            earlier = []
    if not earlier:
        enroll_first_supervisor(uow_factory, actor_id=boss.id, name=boss.name, at=DAY)
    console.print(f"Storage: {where}", markup=False)
    if earlier:
        states = Counter(r.state for r in earlier)
        console.print(
            f"Already there from earlier runs: {len(earlier)} requests ("
            + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
            + "); playing the next day.",
            markup=False,
        )
    day = DAY + timedelta(days=len({r.registered_at.astimezone(TZ).date() for r in earlier}))
    clock.set(day)
    ids = _DemoIds()
    publisher = _Collect()
    desk = ServiceDesk(uow_factory, clock=clock, ids=ids, publisher=publisher)
    if earlier:
        with uow_factory() as uow:
            cast = _load_cast(uow, boss)
    else:
        cast = _register_cast(desk, boss)
    ids.setting_up = False
    messages: list[str] = []
    today, order_ids = _day(desk, RepairDesk(desk), clock, cast, day, messages.append)
    names = {a.id: a.name for a in (cast.boss, cast.clerk, cast.rep, cast.wang, cast.zhang,
                                    cast.liu_actor)}
    names.update({v.id: v.name for v in (cast.vendor_a, cast.vendor_b)})
    customers = {c.id: c.name for c in (cast.huaxin, cast.mingda, cast.liu)}
    with uow_factory() as uow:
        requests = sorted((uow.requests.get(rid) for rid in today), key=lambda r: r.number)
        orders = [uow.repairs.get(oid) for oid in order_ids]
        trips = [x for oid in order_ids for x in uow.outsourced.find(order_id=oid)]
    numbers = {o.id: o.number for o in orders}
    names.update({x.id: f"vendor trip of {numbers[x.order_id]}" for x in trips})
    console.print(f"A day at the service desk: {day:%A %d %B %Y}, {day.tzinfo}", markup=False)
    _tables(requests, orders, trips, customers, names, console)
    for message in messages:
        console.print(message, markup=False)
    console.print(
        f"{len(requests)} requests and {len(orders)} repair orders today, "
        f"{sum(len(r.record) for r in requests) + sum(len(o.record) for o in orders)} record "
        f"entries, {len(publisher.events)} domain events published; "
        f"{len(earlier) + len(requests)} requests stored in all.",
        markup=False,
    )
    return 0
