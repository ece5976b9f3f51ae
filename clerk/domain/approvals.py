"""The supervisor's inbox: everything that waits for a supervisor, in one list, one action each.

An `Approval` row is a request and, once decided, the record of the decision. Its life:
`pending` → `approved` | `refused` | `withdrawn`. Where requests come from:

- exemption: lodging an application whose facts claim a fee exemption opens one
  (`clerk.domain.intake.lodge`); the supervisor decides it at the counter (their password,
  `cashier.decide_exemption`) or from the desk;
- variance: a blind count beyond the threshold opens one (`cashier.count_drawer`); the drawer
  stays "counted" until a supervisor acknowledges it;
- checklist-override: a clerk asks the desk to let one blocking item go (`request_override`)
  instead of calling the supervisor to the counter;
- void / refund: a clerk asks the desk to reverse a receipt (`request_reversal`); once approved
  the reversal goes into the requesting clerk's open drawer (they hand the money back).

The one-action-only rule: a decision decides exactly one request, by id, and closes it in the
same transaction as the thing it allows (the reversal, the override, the exemption's fee
decision, the closed drawer). The close is an UPDATE guarded by `status = 'pending'`, so two
supervisors cannot both act on it and nothing stays "approved and open" for a next action. The
rules of each kind stay in their services (`clerk.domain.cashier`, `clerk.domain.intake`): this
module only finds the request and calls them with the supervisor as approver.

Choices made where the issue is silent:
- Nobody decides their own request (four eyes), supervisors included.
- A drawer variance is acknowledged, never refused: the count is final (no recount), so the
  supervisor acknowledges it with what they found, and the reason is kept.
- Refusing an override, a void or a refund changes nothing but the request.
- A request whose subject moved on is withdrawn by the service that moved it (a paid application's
  exemption request, a lodged draft's override requests, a receipt reversed at the counter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, update
from sqlalchemy import select as sa_select
from sqlmodel import select

from clerk.domain import audit
from clerk.domain.auth import require_role
from clerk.domain.clock import to_local, utcnow
from clerk.domain.codes import SUPERVISORS
from clerk.domain.models import (
    Application,
    Approval,
    DrawerSession,
    Receipt,
    User,
)
from clerk.errors import NotFound, Refused, UsageError
from clerk.i18n import N_, _

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context
    from clerk.domain.auth import Actor

KINDS = ("exemption", "checklist-override", "void", "refund", "variance")
STATUSES = ("pending", "approved", "refused", "withdrawn")
KIND_LABELS = {
    "exemption": N_("Fee exemption"),
    "checklist-override": N_("Checklist override"),
    "void": N_("Void"),
    "refund": N_("Refund"),
    "variance": N_("Drawer variance"),
}
STATUS_LABELS = {
    "pending": N_("waiting"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
}
MAX_REASON = 300
MAX_LIST = 500


# --- the rows, inside a caller's transaction (used by the services that own each kind) ----------


def open_request(
    s: Session,
    kind: str,
    subject_type: str,
    subject_id: int,
    detail: dict[str, Any],
    requested_by: int | None,
    reason: str = "",
) -> Approval:
    """A pending request, added in the caller's transaction."""
    approval = Approval(
        kind=kind,
        status="pending",
        subject_type=subject_type,
        subject_id=subject_id,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False),
        reason=reason,
        requested_by=requested_by,
        requested_at=utcnow(),
    )
    s.add(approval)
    s.flush()
    return approval


def pending_request(
    s: Session,
    kinds: tuple[str, ...],
    subject_type: str,
    subject_id: int,
    *,
    code: str | None = None,
) -> Approval | None:
    """The oldest pending request of these kinds about this subject (for an override: about
    this checklist item `code`), locked for the caller's transaction."""
    rows = s.exec(
        select(Approval)
        .where(
            Approval.status == "pending",
            Approval.kind.in_(kinds),
            Approval.subject_type == subject_type,
            Approval.subject_id == subject_id,
        )
        .order_by(Approval.id)
        .with_for_update()
    ).all()
    for row in rows:
        if code is None or json.loads(row.detail or "{}").get("code") == code:
            return row
    return None


def check_four_eyes(requested_by: int | None, approver: Actor) -> None:
    if requested_by is not None and approver.user_id == requested_by:
        raise Refused(_("Another supervisor must approve: nobody approves their own request."))


def close_request(
    s: Session,
    approval: Approval,
    status: str,
    decided_by: int | None,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> Approval:
    """Decide one pending request, once: the UPDATE is guarded by its status, so a second
    decision (another supervisor at the same moment, a double key press) is refused."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "decided_by": decided_by, "decided_at": now}
    if reason:
        values["reason"] = reason
    if detail is not None:
        values["detail"] = json.dumps(detail, sort_keys=True, ensure_ascii=False)
    done = s.execute(
        update(Approval)
        .where(Approval.id == approval.id, Approval.status == "pending")
        .values(**values)
    )
    if done.rowcount != 1:
        raise Refused(
            _("Request {id} was decided already: refresh the list.").format(id=approval.id)
        )
    for name, value in values.items():
        setattr(approval, name, value)
    return approval


def withdraw_requests(
    s: Session, kinds: tuple[str, ...], subject_type: str, subject_id: int, why: str
) -> list[int]:
    """Close the pending requests a change made moot (in the caller's transaction)."""
    ids = list(
        s.exec(
            select(Approval.id).where(
                Approval.status == "pending",
                Approval.kind.in_(kinds),
                Approval.subject_type == subject_type,
                Approval.subject_id == subject_id,
            )
        ).all()
    )
    if ids:
        s.execute(
            update(Approval)
            .where(Approval.id.in_(ids), Approval.status == "pending")
            .values(status="withdrawn", decided_at=utcnow(), reason=why)
        )
    return ids


# --- the inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One line of the inbox (or of the decided list)."""

    id: int
    kind: str
    status: str
    subject: str  # the application or receipt number, or the drawer (clerk and day)
    detail: str  # the exemption's kind, the checklist item, the receipt's reason code…
    amount_avos: int | None  # the receipt's total, the drawer's variance
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


_AP = Approval.__table__.c


def _listing():
    requester = User.__table__.alias("requester")
    decider = User.__table__.alias("decider")
    clerk = User.__table__.alias("drawer_clerk")
    app, receipt, drawer = (
        Application.__table__.c,
        Receipt.__table__.c,
        DrawerSession.__table__.c,
    )
    return (
        sa_select(
            _AP.id,
            _AP.kind,
            _AP.status,
            _AP.subject_type,
            _AP.detail,
            _AP.reason,
            _AP.requested_at,
            _AP.decided_at,
            app.number,
            receipt.number,
            receipt.total_avos,
            drawer.day,
            drawer.variance_avos,
            clerk.c.username,
            requester.c.username,
            decider.c.username,
            _AP.subject_id,
        )
        .select_from(Approval.__table__)
        .outerjoin(
            Application.__table__,
            and_(_AP.subject_type == "application", app.id == _AP.subject_id),
        )
        .outerjoin(
            Receipt.__table__, and_(_AP.subject_type == "receipt", receipt.id == _AP.subject_id)
        )
        .outerjoin(
            DrawerSession.__table__,
            and_(_AP.subject_type == "drawersession", drawer.id == _AP.subject_id),
        )
        .outerjoin(clerk, clerk.c.id == drawer.user_id)
        .outerjoin(requester, requester.c.id == _AP.requested_by)
        .outerjoin(decider, decider.c.id == _AP.decided_by)
    )


def _request_of(row, tz: str) -> Request:
    (rid, kind, status, subject_type, detail, reason, requested_at, decided_at, app_number,
     receipt_number, receipt_total, drawer_day, variance, drawer_clerk, requester,
     decider, subject_id) = row  # fmt: skip
    data = json.loads(detail or "{}")
    amount: int | None = None
    if subject_type == "application":
        # a checklist override is asked before lodging: the draft has no number yet
        subject = app_number or _("draft {id}").format(id=subject_id)
        what = data.get("exemption") or data.get("code") or ""
    elif subject_type == "receipt":
        subject, amount = receipt_number or "", receipt_total
        what = reason
    elif subject_type == "drawersession":
        subject = f"{drawer_clerk or '?'} {drawer_day.isoformat() if drawer_day else ''}".strip()
        amount, what = variance, ""
    else:
        subject, what = f"{subject_type} {subject_id}", ""
    return Request(
        rid,
        kind,
        status,
        subject,
        what,
        amount,
        reason or "",
        requester or "",
        to_local(requested_at, tz),
        decider or "",
        to_local(decided_at, tz) if decided_at else None,
    )


def _requests(ctx: Context, query) -> list[Request]:
    with ctx.db.read() as s:
        rows = s.connection().execute(query).all()
    return [_request_of(row, ctx.tz) for row in rows]


def inbox(ctx: Context, actor: Actor, *, limit: int = 200) -> list[Request]:
    """Everything that waits for a supervisor, oldest first."""
    require_role(actor, *SUPERVISORS)
    return _requests(
        ctx,
        _listing()
        .where(_AP.status == "pending")
        .order_by(_AP.requested_at, _AP.id)
        .limit(max(1, min(limit, MAX_LIST))),
    )


def decided(ctx: Context, actor: Actor, *, limit: int = 50) -> list[Request]:
    """The latest decisions (approved, refused, withdrawn), newest first."""
    require_role(actor, *SUPERVISORS)
    return _requests(
        ctx,
        _listing()
        .where(_AP.status != "pending", _AP.decided_at.is_not(None))
        .order_by(_AP.decided_at.desc(), _AP.id.desc())
        .limit(max(1, min(limit, MAX_LIST))),
    )


def waiting_counts(s: Session) -> dict[str, int]:
    """Pending requests by kind (inside the caller's read)."""
    return dict(
        s.connection()
        .execute(
            sa_select(_AP.kind, func.count()).where(_AP.status == "pending").group_by(_AP.kind)
        )
        .all()
    )


def get_request(ctx: Context, actor: Actor, approval_id: int) -> Request:
    require_role(actor, *SUPERVISORS)
    return _read_request(ctx, approval_id)


def _read_request(ctx: Context, approval_id: int) -> Request:
    found = _requests(ctx, _listing().where(_AP.id == approval_id))
    if not found:
        raise NotFound(_("There is no request {id}.").format(id=approval_id))
    return found[0]


@dataclass(frozen=True)
class Asked:
    """The latest request to the supervisor's desk about one checklist item of a draft."""

    id: int
    code: str
    status: str  # pending | approved | refused | withdrawn
    reason: str  # the clerk's reason; once decided, the supervisor's when they gave one
    decided_by: str


def override_requests(ctx: Context, actor: Actor, app_id: int) -> dict[str, Asked]:
    """What the desk was asked about the checklist items of one application (read only; its
    clerk or a supervisor): for each item asked about, the latest request."""
    from clerk.domain import intake

    decider = User.__table__.alias("decider")
    with ctx.db.read() as s:
        intake._application(s, actor, app_id, lock=False)  # its clerk, or a supervisor
        rows = (
            s.connection()
            .execute(
                sa_select(_AP.id, _AP.status, _AP.detail, _AP.reason, decider.c.username)
                .select_from(Approval.__table__)
                .outerjoin(decider, decider.c.id == _AP.decided_by)
                .where(
                    _AP.kind == "checklist-override",
                    _AP.subject_type == "application",
                    _AP.subject_id == app_id,
                )
                .order_by(_AP.id)
            )
            .all()
        )
    found: dict[str, Asked] = {}
    for rid, status, detail, reason, decided_by in rows:
        code = json.loads(detail or "{}").get("code") or ""
        found[code] = Asked(rid, code, status, reason or "", decided_by or "")  # latest wins
    return found


# --- asking -------------------------------------------------------------------------------------


def _clean_reason(text: str, *, required: bool) -> str:
    reason = " ".join((text or "").split())[:MAX_REASON]
    if required and len(reason) < 3:
        raise UsageError(_("Type the reason (kept with the request)."))
    return reason


def request_override(ctx: Context, clerk: Actor, app_id: int, code: str, reason: str) -> Request:
    """The clerk asks the supervisor's desk to let one blocking checklist item of their draft
    be lodged without its document (instead of calling the supervisor to the counter)."""
    from clerk.domain import intake

    reason = _clean_reason(reason, required=True)
    draft = intake.load_draft(ctx, clerk, app_id)  # the clerk's own draft (or a supervisor's)
    if draft.status != "draft":
        raise Refused(
            _("Application {number} is already {status}.").format(
                number=draft.number or draft.id, status=draft.status
            )
        )
    item = next((item for item in draft.items if item.code == code), None)
    if item is None:
        raise NotFound(_("This application's checklist has no item {code}.").format(code=code))
    if not item.blocking:
        raise Refused(_("This item does not block lodging: nothing to override."))
    if item.satisfied:
        raise Refused(_("This item is already satisfied."))
    with ctx.db.write() as s:
        if pending_request(s, ("checklist-override",), "application", app_id, code=code):
            raise Refused(_("The supervisor's desk was already asked about this item."))
        approval = open_request(
            s,
            "checklist-override",
            "application",
            app_id,
            {"code": code, "state": item.state},
            clerk.user_id,
            reason,
        )
        _audit_request(s, ctx, clerk, approval)
    return _read_request(ctx, approval.id)


def request_reversal(
    ctx: Context,
    clerk: Actor,
    number: str,
    kind: str,
    reason: str,
    terminal_reference: str = "",
) -> Request:
    """The clerk asks the supervisor's desk to void (today's) or refund a receipt; once
    approved the reversal goes into this clerk's open drawer (they hand the money back)."""
    from clerk.domain import cashier

    reason, reference = cashier.check_reversal_request(ctx, kind, reason, terminal_reference)
    receipt_id, receipt_number = cashier.check_reversible(ctx, clerk, number, kind)
    with ctx.db.write() as s:
        if pending_request(s, cashier.REVERSALS, "receipt", receipt_id):
            raise Refused(_("The supervisor's desk was already asked about this receipt."))
        approval = open_request(
            s,
            kind,
            "receipt",
            receipt_id,
            {"receipt": receipt_number, "reference": reference, "counter": clerk.counter},
            clerk.user_id,
            reason,
        )
        _audit_request(s, ctx, clerk, approval)
    return _read_request(ctx, approval.id)


def _audit_request(
    s: Session, ctx: Context, actor: Actor, approval: Approval, action: str = "approval.request"
) -> None:
    audit.append(
        s,
        ctx.audit_key,
        actor,
        action,
        subject_type=approval.subject_type,
        subject_id=approval.subject_id,
        after={"approval": approval.id, "kind": approval.kind, "reason": approval.reason},
    )


# --- deciding -----------------------------------------------------------------------------------


def _pending(ctx: Context, approval_id: int) -> Approval:
    with ctx.db.read() as s:
        row = s.get(Approval, approval_id)
    if row is None:
        raise NotFound(_("There is no request {id}.").format(id=approval_id))
    if row.status != "pending":
        raise Refused(
            _("Request {id} was decided already: refresh the list.").format(id=approval_id)
        )
    return row


def _requester(ctx: Context, row: Approval, supervisor: Actor, counter: int | None) -> Actor:
    """The clerk who asked, acting now at the supervisor's terminal (their drawer, their
    draft)."""
    from clerk.domain.auth import Actor

    with ctx.db.read() as s:
        user = s.get(User, row.requested_by) if row.requested_by else None
    if user is None:
        raise Refused(_("Request {id} has no clerk to act for.").format(id=row.id))
    return Actor(
        user.id,
        user.username,
        user.role,
        user.full_name,
        user.language,
        counter=counter,
        terminal=supervisor.terminal,
    )


def approve(ctx: Context, supervisor: Actor, approval_id: int, reason: str = "") -> Request:
    """Approve one waiting request: the service that owns its kind does the thing it allows
    and closes the request in the same transaction."""
    from clerk.domain import cashier, intake

    require_role(supervisor, *SUPERVISORS)
    row = _pending(ctx, approval_id)
    check_four_eyes(row.requested_by, supervisor)
    detail = json.loads(row.detail or "{}")
    reason = _clean_reason(reason, required=row.kind == "variance")
    if row.kind == "exemption":
        cashier.exemption_decided(
            ctx,
            supervisor,
            supervisor,
            row.subject_id,
            detail.get("exemption", ""),
            approve=True,
            reason=reason or row.reason,
            request=row.id,
        )
    elif row.kind == "variance":
        cashier.variance_acknowledged(
            ctx, supervisor, supervisor, row.subject_id, reason, request=row.id
        )
    elif row.kind == "checklist-override":
        clerk = _requester(ctx, row, supervisor, None)
        intake.override_item(
            ctx,
            clerk,
            row.subject_id,
            detail.get("code", ""),
            supervisor,
            reason or row.reason,
            request=row.id,
        )
    elif row.kind in ("void", "refund"):
        clerk = _requester(ctx, row, supervisor, detail.get("counter"))
        cashier.reversal_approved(
            ctx,
            clerk,
            supervisor,
            detail.get("receipt", ""),
            row.kind,
            row.reason,
            detail.get("reference", ""),
            request=row.id,
            audit_as=supervisor,
        )
    else:
        raise Refused(_("Request {id} is of an unknown kind.").format(id=row.id))
    return get_request(ctx, supervisor, row.id)


def refuse(ctx: Context, supervisor: Actor, approval_id: int, reason: str) -> Request:
    """Refuse one waiting request (a reason is required). An exemption's refusal is the
    cashier's decision (the fee stays); a drawer variance is acknowledged, never refused."""
    from clerk.domain import cashier

    require_role(supervisor, *SUPERVISORS)
    reason = _clean_reason(reason, required=True)
    row = _pending(ctx, approval_id)
    check_four_eyes(row.requested_by, supervisor)
    if row.kind == "variance":
        raise Refused(
            _(
                "A drawer variance is acknowledged, not refused: the count is final. "
                "Acknowledge it with what you found."
            )
        )
    if row.kind == "exemption":
        detail = json.loads(row.detail or "{}")
        cashier.exemption_decided(
            ctx,
            supervisor,
            supervisor,
            row.subject_id,
            detail.get("exemption", ""),
            approve=False,
            reason=reason,
            request=row.id,
        )
        return get_request(ctx, supervisor, row.id)
    with ctx.db.write() as s:
        locked = s.exec(select(Approval).where(Approval.id == row.id).with_for_update()).one()
        close_request(s, locked, "refused", supervisor.user_id, reason)
        _audit_request(s, ctx, supervisor, locked, "approval.refused")
    return get_request(ctx, supervisor, row.id)
