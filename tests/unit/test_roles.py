"""Roles are enforced in the services: every service a clerk must not use, called with a clerk's
identity, is refused — on SQLite and PostgreSQL — and writes nothing but the refusal's own audit
event (a clerk's password typed where a supervisor's is needed is recorded as `approve.refused`).

The table `FORBIDDEN` has one line per service; a new supervisor-only service is one more line.
Each line's call reaches its role check with everything else in order (a receipt to void, a
counted drawer, a blocking checklist item, a waiting request), so a refusal can only be the role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from clerk.domain import (
    approvals,
    auth,
    cashier,
    collection,
    dashboard,
    intake,
    queue,
    reports,
    scale,
)
from clerk.domain.cashier import TenderInput
from clerk.domain.clock import set_clock
from clerk.errors import Refused
from tests.unit.test_cashier import NOW, PASSWORD, World, build_world
from tests.unit.test_hostile_forms import db_state, last_audit_id, written_beyond_refusals


@dataclass
class Desk:
    """The world of the cashier tests with one of every thing a supervisor decides about."""

    world: World
    receipt: str  # ana's paid receipt of today
    app_claim: int  # a lodged application claiming an exemption
    draft: int  # ana's draft with a blocking item not satisfied
    request: int  # a void request of ana's waiting at the supervisor's desk
    counted: int  # joao's drawer session, counted with a variance

    @property
    def ctx(self):
        return self.world.ctx

    def actor(self, name: str):
        return self.world.actors[name]

    @property
    def ana(self):
        return self.actor("ana")


def _desk(ctx) -> Desk:
    world = build_world(ctx)
    ana, joao = world.actors["ana"], world.actors["joao"]
    world.open("ana")
    paid = world.pay_cash(world.lodge(service="express"))
    claim = world.lodge("5213377(0)", claim="poverty")
    draft = intake.start_draft(ctx, ana, world.people["1290456(8)"])
    draft = intake.save_case(ctx, ana, draft.id, "renewal")
    request = approvals.request_reversal(ctx, ana, paid.receipt_number, "void", "wrong-amount")
    world.open("joao", 10000)
    cashier.count_drawer(ctx, joao, {})  # MOP 100 short: waits for a supervisor
    session = cashier.last_session_id(ctx, joao)
    return Desk(world, paid.receipt_number, claim, draft.id, request.id, session)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def desk(request, tmp_path_factory):
    from tests.conftest import make_ctx

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'clerk.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        url = server.url(server.create_database())
    set_clock(lambda: NOW)
    ctx = make_ctx(url)
    try:
        yield _desk(ctx)
    finally:
        ctx.close()
        set_clock(None)


@dataclass(frozen=True)
class Forbidden:
    name: str
    call: Callable[[Desk], object]


def _clerk_password(d: Desk) -> tuple[str, str]:
    """A clerk (joao) typing their own password where a supervisor's is asked for."""
    return "joao", PASSWORD


FORBIDDEN = [
    # money: voids and refunds, exemptions, drawer variances
    Forbidden("void at the counter", lambda d: cashier.reverse_receipt(
        d.ctx, d.ana, d.receipt, "void", "wrong-amount", *_clerk_password(d))),
    Forbidden("refund at the counter", lambda d: cashier.reverse_receipt(
        d.ctx, d.ana, d.receipt, "refund", "overcharged", *_clerk_password(d))),
    Forbidden("reversal approved by a clerk", lambda d: cashier.reversal_approved(
        d.ctx, d.ana, d.actor("joao"), d.receipt, "void", "wrong-amount")),
    Forbidden("exemption approved at the counter", lambda d: cashier.decide_exemption(
        d.ctx, d.ana, d.app_claim, "poverty", *_clerk_password(d), approve=True)),
    Forbidden("exemption decided by a clerk", lambda d: cashier.exemption_decided(
        d.ctx, d.ana, d.actor("joao"), d.app_claim, "poverty", approve=True)),
    Forbidden("variance acknowledged at the counter", lambda d: cashier.acknowledge_variance(
        d.ctx, d.actor("joao"), "ana", PASSWORD, "counted twice")),
    Forbidden("variance acknowledged by a clerk", lambda d: cashier.variance_acknowledged(
        d.ctx, d.actor("joao"), d.ana, d.counted, "counted twice")),
    Forbidden("the day's drawers", lambda d: cashier.sessions_of_day(d.ctx, d.ana)),
    # the counter: checklist overrides, stale drafts
    Forbidden("override at the counter", lambda d: intake.override_with_password(
        d.ctx, d.ana, d.draft, "former-card", *_clerk_password(d), "seen it")),
    Forbidden("override by a clerk", lambda d: intake.override_item(
        d.ctx, d.ana, d.draft, "former-card", d.actor("joao"), "seen it")),
    Forbidden("stale drafts", lambda d: intake.stale_drafts(d.ctx, d.ana)),
    # the supervisor's desk
    Forbidden("approvals inbox", lambda d: approvals.inbox(d.ctx, d.ana)),
    Forbidden("approvals decided", lambda d: approvals.decided(d.ctx, d.ana)),
    Forbidden("approve a request", lambda d: approvals.approve(d.ctx, d.actor("joao"), d.request)),
    Forbidden("refuse a request", lambda d: approvals.refuse(
        d.ctx, d.actor("joao"), d.request, "no")),
    Forbidden("dashboard", lambda d: dashboard.snapshot(d.ctx, d.ana)),
    # reports and the audit trail
    *[Forbidden(f"report {name}", lambda d, name=name: reports.build(d.ctx, d.ana, name))
      for name in ("takings", "queue", "applications", "cards", "daily")],
    Forbidden("audit trail", lambda d: reports.audit_trail(d.ctx, d.ana)),
    Forbidden("audit verification", lambda d: reports.verify_audit(d.ctx, d.ana)),
    # applications: production batches, cancelling
    Forbidden("cards ready", lambda d: collection.mark_ready(d.ctx, d.ana, [d.receipt])),
    Forbidden("cards in production", lambda d: collection.mark_in_production(
        d.ctx, d.ana, [d.receipt])),
    Forbidden("cancel an application", lambda d: collection.cancel_application(
        d.ctx, d.ana, d.receipt, "asked to")),
    # user administration
    Forbidden("add a user", lambda d: auth.add_user(
        d.ctx, d.ana, "eve" + uuid.uuid4().hex[:6], "supervisor", "pass-word-9")),
    Forbidden("another user's password", lambda d: auth.set_password(
        d.ctx, d.ana, "sup", "pass-word-9")),
    Forbidden("supervisor confirmation", lambda d: auth.confirm_supervisor(
        d.ctx, *_clerk_password(d))),
    # the queue's configuration
    Forbidden("a counter's services", lambda d: queue.set_counter_services(
        d.ctx, d.ana, 1, "A")),
    # the year of generated history (administrators only)
    Forbidden("scale data", lambda d: scale.generate(d.ctx, d.ana, 10)),
]  # fmt: skip


@pytest.mark.parametrize("case", FORBIDDEN, ids=[case.name for case in FORBIDDEN])
def test_a_clerk_is_refused(desk, case):
    before, last = db_state(desk.ctx), last_audit_id(desk.ctx)
    with pytest.raises(Refused, match=r"\(clerk\)|\(supervisor\)|needs"):
        case.call(desk)
    wrote = written_beyond_refusals(desk.ctx, before, last)
    assert wrote == [], f"{case.name}: refused but wrote {wrote}"


def test_the_table_is_not_vacuous(desk):
    """The same calls with a supervisor go through (so the refusal above was the role)."""
    ctx, sup = desk.ctx, desk.actor("sup")
    assert cashier.sessions_of_day(ctx, sup)
    assert intake.stale_drafts(ctx, sup) == []
    assert desk.request in [r.id for r in approvals.inbox(ctx, sup)]
    assert reports.verify_audit(ctx, sup).ok
    assert dashboard.snapshot(ctx, sup) is not None
    with pytest.raises(Refused, match="needs admin"):
        auth.add_user(ctx, sup, "eve", "clerk", "pass-word-9")
    assert auth.add_user(ctx, auth.SYSTEM, "eve" + uuid.uuid4().hex[:6], "clerk", "pass-word-9")
    ana = desk.ana  # and a clerk still takes payments
    app = desk.world.lodge("1776543(0)")
    assert cashier.take_payment(ctx, ana, app, [TenderInput("cash")]).receipt_number
