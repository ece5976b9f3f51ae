"""The supervisor's reports: takings, queue, applications, cards, and the daily report.

Every figure is aggregated by the database (GROUP BY over Core column expressions; no ORM
objects, no row lists in Python beyond the groups), so a month of a large office — ~40,000
applications, ~100,000 tags — takes the same few queries as a quiet day. `bench/reports.py` times
each report against hand-written SQL for the same numbers (`bench/reports_sql.py`).

A report is plain data (`Report`: titled tables of raw values, charts, key figures) that the
screen, the PDF (`clerk.documents.report_pdf`), CSV and JSON all render; money stays integer
avos and durations whole seconds until the edge formats them.

Definitions (where the issue is silent, what an office manager expects):
- Takings belong to the business day of the drawer session the money went through (the Z
  report's day), so a refund counts on the day it was paid out, not on the receipt's day.
  "Gross" is payments, "returned" the reversals (voids and refunds, negative), "net" their sum.
- An exemption granted is an approved exemption decided in the period, by type and approving
  supervisor; the amount waived is the waiver lines of the period's payments that applied one.
- Surcharges are the fee lines whose code is a surcharge (non-presentation, at lodging or at
  collection), net of reversals.
- A wait runs from a tag's issue to its first call (a recall does not restart it; a transferred
  tag counts its wait until its first call). A service time runs from serving (or the call, when
  serving was not marked) to finished. Percentiles are nearest-rank over whole seconds.
- Hours are the office's local hours (the time zone of the config, daylight saving included).
- Ageing is as of the report's last day: lodged and in-production applications by days since
  lodging ("late" = past their promised collection date), ready ones by days since the card came
  back ("uncollected" = ready for more than `uncollected_days`).
- A personalisation is "retried" when the same application had an earlier attempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from clerk.domain.auth import require_role
from clerk.domain.clock import to_local, utcnow, zone
from clerk.domain.codes import REPORTS, SUPERVISORS
from clerk.domain.models import (
    Application,
    Appointment,
    Approval,
    AuditEvent,
    AuditHead,
    CardPersonalisation,
    Counter,
    DrawerSession,
    Office,
    Payment,
    PaymentLine,
    Receipt,
    Service,
    Tag,
    TagEvent,
    Tender,
    User,
)
from clerk.errors import Failure, UsageError
from clerk.fastsql import Prepared
from clerk.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ColumnElement

    from clerk.context import Context
    from clerk.domain.auth import Actor

Tri = tuple[str, str, str]  # (Traditional Chinese, Portuguese, English)
LANG_INDEX = {"zh_Hant": 0, "pt": 1, "en": 2}
MAX_DAYS = 366
LIST_LIMIT = 500  # rows of a listing table (overrides, reversals); the counts stay complete
BUCKETS_MIN = (5, 10, 15, 20, 30, 45, 60)  # wait and service-time histogram bounds (minutes)
AGE_BOUNDS = (7, 14, 30, 60)  # ageing columns (days)
SURCHARGE_CODES = ("non-presentation-surcharge", "former-card-non-presentation-surcharge")
WAIVER_CODE = "exemption-waiver"
DEFAULT_UNCOLLECTED_DAYS = 30

_T, _E, _A = Tag.__table__.c, TagEvent.__table__.c, Application.__table__.c
_P, _PL, _TD = Payment.__table__.c, PaymentLine.__table__.c, Tender.__table__.c
_DS, _AP, _R = DrawerSession.__table__.c, Approval.__table__.c, Receipt.__table__.c
_CP, _AO, _AE = CardPersonalisation.__table__.c, Appointment.__table__.c, AuditEvent.__table__.c

TITLES: dict[str, Tri] = {
    "takings": ("收費報告", "Relatório de receitas", "Takings"),
    "queue": ("輪候報告", "Relatório de filas", "Queue"),
    "applications": ("申請報告", "Relatório de pedidos", "Applications"),
    "cards": ("製證報告", "Relatório de personalização", "Cards"),
    "daily": ("每日報告", "Relatório diário", "Daily report"),
    "by_day": ("按日及付款方式", "Por dia e meio de pagamento", "By day and tender"),
    "by_tender": ("按付款方式", "Por meio de pagamento", "By tender"),
    "by_clerk": ("按職員及櫃檯", "Por funcionário e balcão", "By clerk and counter"),
    "exemptions": ("豁免（類別及批准主管）", "Isenções (tipo e supervisor)", "Exemptions granted"),
    "surcharges": ("附加費", "Sobretaxas", "Surcharges"),
    "reversals": ("作廢及退款（原因）", "Anulações e reembolsos (motivo)", "Voids and refunds"),
    "reversal_list": (
        "作廢及退款明細",
        "Lista de anulações e reembolsos",
        "Voids and refunds, list",
    ),
    "variances": ("收銀差額", "Diferenças de caixa", "Drawer variances"),
    "takings_chart": ("每日淨收入", "Receita líquida por dia", "Net takings by day"),
    "by_hour": ("按服務及時段", "Por serviço e hora", "By service and hour"),
    "by_service": ("按服務：輪候及服務時間", "Por serviço: espera e atendimento", "By service"),
    "waits": ("輪候時間分佈（分鐘）", "Distribuição da espera (min)", "Wait distribution (min)"),
    "service_times": (
        "服務時間分佈（分鐘）",
        "Distribuição do atendimento (min)",
        "Service time distribution (min)",
    ),
    "appointments": ("預約", "Marcações", "Appointments"),
    "issued_chart": ("每小時發出籌號", "Senhas emitidas por hora", "Tags issued by hour"),
    "served_chart": ("每小時完成服務", "Atendidos por hora", "Tags served by hour"),
    "lodged": (
        "按個案及服務類別遞交",
        "Entregues por caso e serviço",
        "Lodged by case and service",
    ),
    "ageing": ("狀態時長", "Antiguidade por estado", "Status ageing"),
    "override_codes": ("清單豁免（項目）", "Dispensas da lista (item)", "Checklist overrides"),
    "overrides": ("清單豁免明細", "Lista de dispensas", "Checklist overrides, list"),
    "lodged_chart": ("每日遞交申請", "Pedidos entregues por dia", "Applications lodged by day"),
    "by_counter": ("按櫃檯", "Por balcão", "By counter"),
    "cards_chart": ("每日完成製證", "Cartões personalizados por dia", "Cards done by day"),
    "approvals": ("已決定的審批", "Aprovações decididas", "Approvals decided"),
    "audit": ("審計鏈最新雜湊值", "Último hash da auditoria", "Audit chain head"),
    "period": ("期間", "Período", "Period"),
    "generated": ("製作時間", "Gerado em", "Generated"),
    "total": ("合計", "Total", "Total"),
    "page": ("頁", "Página", "Page"),
}

COLUMNS: dict[str, Tri] = {
    "day": ("日期", "Dia", "Day"),
    "tender": ("付款方式", "Meio", "Tender"),
    "count": ("數目", "N.º", "Count"),
    "amount": ("金額", "Montante", "Amount"),
    "clerk": ("職員", "Funcionário", "Clerk"),
    "counter": ("櫃檯", "Balcão", "Counter"),
    "payments": ("付款", "Pagamentos", "Payments"),
    "reversals": ("沖銷", "Estornos", "Reversals"),
    "gross": ("收入", "Bruto", "Gross"),
    "returned": ("退回", "Devolvido", "Returned"),
    "net": ("淨額", "Líquido", "Net"),
    "type": ("類別", "Tipo", "Type"),
    "supervisor": ("主管", "Supervisor", "Supervisor"),
    "granted": ("批准", "Concedidas", "Granted"),
    "waived": ("豁免金額", "Isento", "Waived"),
    "code": ("項目", "Código", "Code"),
    "lines": ("行數", "Linhas", "Lines"),
    "kind": ("種類", "Tipo", "Kind"),
    "reason": ("原因", "Motivo", "Reason"),
    "receipt": ("收據", "Recibo", "Receipt"),
    "variance": ("差額", "Diferença", "Variance"),
    "status": ("狀態", "Estado", "Status"),
    "service": ("服務", "Serviço", "Service"),
    "hour": ("時段", "Hora", "Hour"),
    "issued": ("發出", "Emitidas", "Issued"),
    "served": ("完成", "Atendidas", "Served"),
    "no_show": ("缺席", "Faltas", "No-show"),
    "wait_mean": ("平均輪候", "Espera média", "Wait mean"),
    "wait_p50": ("輪候中位數", "Espera mediana", "Wait p50"),
    "wait_p90": ("輪候90%", "Espera p90", "Wait p90"),
    "wait_max": ("最長輪候", "Espera máx.", "Wait max"),
    "service_mean": ("平均服務", "Atendimento médio", "Service mean"),
    "service_p90": ("服務90%", "Atendimento p90", "Service p90"),
    "booked": ("已預約", "Marcadas", "Booked"),
    "checked_in": ("已報到", "Chegadas", "Checked in"),
    "kept": ("已出席", "Cumpridas", "Kept"),
    "missed": ("未出席", "Faltadas", "Missed"),
    "cancelled": ("已取消", "Canceladas", "Cancelled"),
    "case": ("個案", "Caso", "Case"),
    "level": ("服務類別", "Serviço", "Service level"),
    "late": ("逾期", "Atrasados", "Late"),
    "uncollected": ("未領取", "Por levantar", "Uncollected"),
    "application": ("申請編號", "Pedido", "Application"),
    "item": ("項目", "Item", "Item"),
    "attempts": ("嘗試", "Tentativas", "Attempts"),
    "done": ("完成", "Feitos", "Done"),
    "failed": ("失敗", "Falhados", "Failed"),
    "retried": ("重試", "Repetidos", "Retried"),
    "decided": ("決定", "Decididas", "Decided"),
    "approved": ("批准", "Aprovadas", "Approved"),
    "refused": ("拒絕", "Recusadas", "Refused"),
    "withdrawn": ("撤回", "Retiradas", "Withdrawn"),
    "when": ("時間", "Quando", "When"),
}


def pick(text: Tri, lang: str) -> str:
    """One language of a trilingual text (English when the language is unknown)."""
    return text[LANG_INDEX.get(lang, 2)] or text[2]


# --- plain results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    kind: str = "text"  # text | int | money (avos) | seconds | date | hour

    @property
    def title(self) -> Tri:
        if self.key in COLUMNS:
            return COLUMNS[self.key]
        return (self.key, self.key, self.key)  # histogram ranges: "0–5", "60+"


@dataclass(frozen=True)
class Table:
    key: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: tuple[Any, ...] | None = None
    truncated: bool = False  # a listing cut at LIST_LIMIT rows

    @property
    def title(self) -> Tri:
        return TITLES[self.key]


@dataclass(frozen=True)
class Chart:
    key: str
    labels: tuple[str, ...]
    values: tuple[int, ...]
    kind: str = "int"  # int | money

    @property
    def title(self) -> Tri:
        return TITLES[self.key]


@dataclass(frozen=True)
class Report:
    name: str
    office: Tri  # the office's names
    start: date
    end: date
    generated_at: datetime  # office local time
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...] = ()
    figures: dict[str, int] = field(default_factory=dict)  # key totals, machine-readable
    audit_seq: int | None = None  # the daily report: the newest audit event …
    audit_hash: str = ""  # … and its hash (compare with `clerk audit verify --expect`)

    @property
    def title(self) -> Tri:
        return TITLES[self.name]

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


@dataclass(frozen=True)
class Spread:
    """A distribution of whole seconds: count, mean, median, 90th percentile, maximum."""

    count: int = 0
    mean: int = 0
    p50: int = 0
    p90: int = 0
    max: int = 0
    buckets: tuple[int, ...] = (0,) * (len(BUCKETS_MIN) + 1)


def spread(pairs: Iterable[tuple[int, int]]) -> Spread:
    """The spread of (value, how many) pairs (nearest-rank percentiles, integer mean)."""
    groups = sorted((int(v), int(n)) for v, n in pairs if v is not None and n)
    total = sum(n for _v, n in groups)
    if total == 0:
        return Spread()
    weighted = sum(v * n for v, n in groups)
    ranks = {"p50": (total + 1) // 2, "p90": (9 * total + 9) // 10}
    found: dict[str, int] = {}
    buckets = [0] * (len(BUCKETS_MIN) + 1)
    seen = 0
    for value, n in groups:
        seen += n
        for name, rank in ranks.items():
            if name not in found and seen >= rank:
                found[name] = value
        buckets[_bucket(value)] += n
    return Spread(
        total, (2 * weighted + total) // (2 * total), found["p50"], found["p90"],
        groups[-1][0], tuple(buckets),
    )  # fmt: skip


def _bucket(seconds: int) -> int:
    for i, bound in enumerate(BUCKETS_MIN):
        if seconds < bound * 60:
            return i
    return len(BUCKETS_MIN)


def bucket_labels() -> tuple[str, ...]:
    lows = (0, *BUCKETS_MIN)
    return (*(f"{a}–{b}" for a, b in zip(lows, BUCKETS_MIN, strict=False)), f"{BUCKETS_MIN[-1]}+")


# --- formatting at the edge ---------------------------------------------------------------------


def format_seconds(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    if minutes >= 60:
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def money_text(avos: int) -> str:
    """`123456789` → `1,234,567.89` (a report's totals are large: the separator helps)."""
    sign = "-" if avos < 0 else ""
    patacas, cents = divmod(abs(avos), 100)
    return f"{sign}{patacas:,}.{cents:02d}"


def cell_text(column: Column, value: Any) -> str:
    """A cell as a person reads it (screen and PDF): money with two decimals, durations m:ss."""
    if value is None or value == "":
        return ""
    if column.kind == "money":
        return money_text(int(value))
    if column.kind == "seconds":
        return format_seconds(value)
    if column.kind == "hour":
        return f"{int(value):02d}:00"
    if column.kind == "int":
        return f"{int(value):,}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def cell_data(column: Column, value: Any) -> Any:
    """A cell for CSV and JSON: money as a string with two decimals (the CLI contract), seconds
    and counts as numbers, dates in ISO form."""
    from clerk.domain.policy import format_avos

    if value is None or value == "":
        return None
    if column.kind == "money":
        return format_avos(int(value)).replace(",", "")
    if column.kind in ("int", "seconds", "hour"):
        return int(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# --- the report as data for scripts, and as files ------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    """The report for `--format json` (the CLI contract: money as strings with two decimals)."""

    def row(table: Table, values: tuple) -> list:
        return [cell_data(c, v) for c, v in zip(table.columns, values, strict=True)]

    return {
        "report": report.name,
        "office": report.office[2] or report.office[0],
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "figures": report.figures,
        "tables": {
            t.key: {
                "columns": [c.key for c in t.columns],
                "rows": [row(t, r) for r in t.rows],
                "total": row(t, t.total) if t.total is not None else None,
                "truncated": t.truncated,
            }
            for t in report.tables
        },
        "audit": {"seq": report.audit_seq, "hash": report.audit_hash}
        if report.audit_seq is not None
        else None,
    }


def as_csv(report: Report) -> str:
    """Every table as a block: its key, its header line, its rows, its total, an empty line."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")

    def row(table: Table, values: tuple) -> list:
        cells = [cell_data(c, v) for c, v in zip(table.columns, values, strict=True)]
        return ["" if v is None else v for v in cells]

    for table in report.tables:
        writer.writerow([table.key])
        writer.writerow([c.key for c in table.columns])
        for values in table.rows:
            writer.writerow(row(table, values))
        if table.total is not None:
            total = row(table, table.total)
            total[0] = total[0] or "total"
            writer.writerow(total)
        writer.writerow([])
    if report.audit_seq is not None:
        writer.writerows([["audit"], ["seq", "hash"], [report.audit_seq, report.audit_hash]])
    return out.getvalue()


FORMATS = ("pdf", "csv", "json")


def render(report: Report, fmt: str) -> bytes:
    if fmt == "pdf":
        from clerk.documents.report_pdf import render_report

        return render_report(report)
    if fmt == "csv":
        return as_csv(report).encode("utf-8")
    if fmt == "json":
        return json.dumps(as_json(report), ensure_ascii=False, indent=1).encode("utf-8")
    raise UsageError(f"unknown format {fmt!r} (valid: {', '.join(FORMATS)})")


def reports_folder() -> Path:
    from clerk.paths import user_data_dir

    return user_data_dir() / "reports"


def save(report: Report, fmt: str, folder: Path | None = None) -> Path:
    """Write the report into the reports folder (NAME-FROM-TO.FMT); returns the file."""
    import os

    folder = folder or reports_folder()
    span = f"{report.start:%Y%m%d}" + (
        f"-{report.end:%Y%m%d}" if report.end != report.start else ""
    )
    path = folder / f"{report.name}-{span}.{fmt}"
    content = render(report, fmt)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror}") from None
    return path


def print_report(ctx: Context, report: Report) -> str:
    """Send the report's PDF to the configured printer (A4); returns where it went."""
    from clerk.devices.printer import print_pdf

    done = print_pdf(
        render(report, "pdf"), ctx.config.printer, title=f"{report.name}-{report.end}", media="A4"
    )
    return done.where


# --- the period ---------------------------------------------------------------------------------


def parse_day(text: str | date | None, what: str) -> date | None:
    if text is None or text == "":
        return None
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            _("{what}: {text} is not a date (YYYY-MM-DD).").format(what=what, text=text.strip())
        ) from None


def period(start: str | date | None, end: str | date | None, today: date) -> tuple[date, date]:
    """The report's days: --from and --to (default: this month up to today), at most a year."""
    last = parse_day(end, "--to") or today
    first = parse_day(start, "--from") or last.replace(day=1)
    if first > last:
        raise UsageError(_("The period starts after it ends."))
    if (last - first).days >= MAX_DAYS:
        raise UsageError(_("A report covers at most {n} days.").format(n=MAX_DAYS))
    return first, last


def day_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days first..last."""
    start = datetime.combine(first, time(0), zone(tz)).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone(tz)).astimezone(UTC)
    return start, end


# --- SQL helpers (SQLite and PostgreSQL) --------------------------------------------------------


class _Sql:
    """Expressions that differ between SQLite and PostgreSQL, for one period and time zone."""

    def __init__(self, conn: Connection, tz: str, start: datetime, end: datetime):
        self.pg = conn.dialect.name == "postgresql"
        self.tz = tz
        self.segments = [] if self.pg else offset_segments(tz, start, end)

    def seconds(self, a, b) -> ColumnElement:
        """Whole seconds from instant a to instant b."""
        if self.pg:
            return cast(func.round(extract("epoch", b - a)), Integer)
        return cast(func.round((func.julianday(b) - func.julianday(a)) * 86400), Integer)

    def hour(self, instant) -> ColumnElement:
        if self.pg:
            return cast(extract("hour", func.timezone(self.tz, instant)), Integer)
        return cast(self._shifted("%H", instant), Integer)

    def day(self, instant) -> ColumnElement:
        """The local date (a date on PostgreSQL, 'YYYY-MM-DD' text on SQLite: see `as_date`)."""
        if self.pg:
            return cast(func.timezone(self.tz, instant), Date)
        return self._shifted(None, instant)

    def _shifted(self, fmt: str | None, instant) -> ColumnElement:
        """strftime(fmt) of the instant moved to local time (date() when fmt is None: faster)."""
        exprs = [
            (
                until,
                func.date(instant, f"{minutes:+d} minutes")
                if fmt is None
                else func.strftime(fmt, instant, f"{minutes:+d} minutes"),
            )
            for until, minutes in self.segments
        ]
        if len(exprs) == 1:
            return exprs[0][1]
        return case(*[(instant < until, e) for until, e in exprs[:-1]], else_=exprs[-1][1])

    def json_text(self, column, key: str) -> ColumnElement:
        if self.pg:
            return cast(column, JSONB).op("->>")(key)
        return func.json_extract(column, f"$.{key}")


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def offset_segments(tz: str, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """[(until, UTC offset in minutes)] covering [start, end): one segment unless the zone
    changes its offset (daylight saving) inside the period; the last `until` is None."""
    z = zone(tz)

    def offset(at: datetime) -> int:
        return int(at.astimezone(z).utcoffset().total_seconds() // 60)

    segments: list[tuple[datetime | None, int]] = []
    current, t = offset(start), start
    while t < end:
        step = min(t + timedelta(hours=1), end)
        if offset(step) != current:
            lo, hi = t, step  # the change lies in (lo, hi]: to the second
            while (hi - lo) > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == current else (lo, mid)
            segments.append((hi, current))
            current = offset(hi)
        t = step
    segments.append((None, current))
    return segments


def _rows(conn: Connection, stmt) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(stmt).all()]


def count_if(condition) -> ColumnElement:
    """How many rows meet `condition` (a boolean summed as 0/1: SQLite and PostgreSQL)."""
    return func.sum(cast(condition, Integer))


def group_key(expr, name: str):
    """(the expression labelled `name`, `name` for GROUP BY): a computed key with bound
    parameters is grouped by its output name (PostgreSQL refuses a GROUP BY expression whose
    parameters are not the SELECT list's own)."""
    return expr.label(name), literal_column(name)


def _names(conn: Connection, office_id: int) -> tuple[dict, dict, dict]:
    """(user id → username, counter id → number, service id → code): small tables."""
    users = dict(_rows(conn, select(User.id, User.username)))
    counters = dict(
        _rows(conn, select(Counter.id, Counter.number).where(Counter.office_id == office_id))
    )
    services = dict(
        _rows(conn, select(Service.id, Service.code).where(Service.office_id == office_id))
    )
    return users, counters, services


@dataclass
class Scope:
    conn: Connection
    office_id: int
    tz: str
    first: date
    last: date
    start: datetime
    end: datetime
    sql: _Sql
    users: dict[int, str]
    counters: dict[int, int]
    services: dict[int, str]
    uncollected_days: int

    def user(self, user_id: int | None) -> str:
        return self.users.get(user_id, "") if user_id is not None else ""

    def counter(self, counter_id: int | None) -> int | str:
        return self.counters.get(counter_id, "") if counter_id is not None else ""

    def sessions(self):
        """The drawer sessions of the period (the business days of the money)."""
        return and_(_DS.office_id == self.office_id, _DS.day >= self.first, _DS.day <= self.last)


# --- takings ------------------------------------------------------------------------------------


def _money_flow(sc: Scope):
    return (
        select()
        .select_from(DrawerSession.__table__)
        .join(Payment.__table__, _P.drawer_session_id == _DS.id)
        .where(sc.sessions())
    )


def _takings(sc: Scope) -> tuple[list[Table], list[Chart], dict[str, int]]:
    flow = _money_flow(sc)
    by_day = _rows(
        sc.conn,
        flow.join(Tender.__table__, _TD.payment_id == _P.id)
        .add_columns(_DS.day, _TD.method, func.count(), func.sum(_TD.amount_avos))
        .group_by(_DS.day, _TD.method)
        .order_by(_DS.day, _TD.method),
    )
    is_pay = _P.kind == "payment"
    by_clerk = _rows(
        sc.conn,
        flow.add_columns(
            _P.user_id,
            _P.counter_id,
            count_if(is_pay),
            count_if(_P.kind != "payment"),
            func.sum(case((is_pay, _P.total_avos), else_=0)),
            func.sum(case((is_pay, 0), else_=_P.total_avos)),
        ).group_by(_P.user_id, _P.counter_id),
    )
    exemption_type, by_type = group_key(sc.sql.json_text(_AP.detail, "exemption"), "g_type")
    granted = _rows(
        sc.conn,
        select(exemption_type, _AP.decided_by, func.count())
        .where(
            _AP.status == "approved",
            _AP.kind == "exemption",
            _AP.decided_at >= sc.start,
            _AP.decided_at < sc.end,
        )
        .group_by(by_type, _AP.decided_by),
    )
    waived = _rows(
        sc.conn,
        flow.join(Approval.__table__, _AP.id == _P.approval_id)
        .join(PaymentLine.__table__, _PL.payment_id == _P.id)
        .add_columns(exemption_type, _AP.decided_by, func.count(), func.sum(_PL.amount_avos))
        .where(_P.kind == "payment", _AP.kind == "exemption", _PL.code == WAIVER_CODE)
        .group_by(by_type, _AP.decided_by),
    )
    surcharges = _rows(
        sc.conn,
        flow.join(PaymentLine.__table__, _PL.payment_id == _P.id)
        .add_columns(
            _PL.code,
            func.sum(case((_PL.amount_avos > 0, 1), (_PL.amount_avos < 0, -1), else_=0)),
            func.sum(_PL.amount_avos),
        )
        .where(_PL.code.in_(SURCHARGE_CODES))
        .group_by(_PL.code)
        .order_by(_PL.code),
    )
    reversal_flow = flow.join(Approval.__table__, _AP.id == _P.approval_id).where(
        _P.kind == "reversal"
    )
    reversals = _rows(
        sc.conn,
        reversal_flow.add_columns(_AP.kind, _P.reason, func.count(), func.sum(_P.total_avos))
        .group_by(_AP.kind, _P.reason)
        .order_by(_AP.kind, _P.reason),
    )
    reversal_list = _rows(
        sc.conn,
        reversal_flow.join(Receipt.__table__, _R.id == _P.receipt_id)
        .add_columns(
            _DS.day, _R.number, _AP.kind, _P.reason, _P.total_avos, _P.user_id, _AP.decided_by
        )
        .order_by(_P.id)
        .limit(LIST_LIMIT + 1),
    )
    variances = _rows(
        sc.conn,
        select(
            _DS.day,
            _DS.user_id,
            _DS.counter_id,
            _DS.variance_avos,
            _DS.status,
            _AP.decided_by,
            _AP.reason,
        )
        .select_from(DrawerSession.__table__)
        .outerjoin(Approval.__table__, _AP.id == _DS.approval_id)
        .where(sc.sessions(), _DS.variance_avos.is_not(None), _DS.variance_avos != 0)
        .order_by(_DS.day, _DS.id),
    )
    return _takings_tables(
        sc, by_day, by_clerk, granted, waived, surcharges, reversals, reversal_list, variances
    )


def _takings_tables(
    sc, by_day, by_clerk, granted, waived, surcharges, reversals, reversal_list, variances
) -> tuple[list[Table], list[Chart], dict[str, int]]:
    int_, money = "int", "money"
    tenders: dict[str, list[int]] = {}
    daily: dict[date, int] = {}
    for day, method, n, amount in by_day:
        tenders.setdefault(method, [0, 0])
        tenders[method][0] += n
        tenders[method][1] += int(amount or 0)
        daily[as_date(day)] = daily.get(as_date(day), 0) + int(amount or 0)
    clerk_rows = sorted(
        (sc.user(u), sc.counter(c), pays, revs, int(gross or 0), int(ret or 0),
         int(gross or 0) + int(ret or 0))
        for u, c, pays, revs, gross, ret in by_clerk
    )  # fmt: skip
    kinds: dict[tuple[str, str], list[int]] = {}
    for kind, by, n in granted:
        kinds.setdefault((kind or "", sc.user(by)), [0, 0, 0])[0] += n
    for kind, by, n, amount in waived:
        entry = kinds.setdefault((kind or "", sc.user(by)), [0, 0, 0])
        entry[1] += n
        entry[2] += -int(amount or 0)  # waiver lines are negative: the amount waived
    exemption_rows = sorted((k, who, *v) for (k, who), v in kinds.items())
    gross = sum(r[4] for r in clerk_rows)
    returned = sum(r[5] for r in clerk_rows)
    listing = reversal_list[:LIST_LIMIT]
    tables = [
        Table(
            "by_day",
            (Column("day", "date"), Column("tender"), Column("count", int_),
             Column("amount", money)),
            tuple((as_date(d), m, n, int(a or 0)) for d, m, n, a in by_day),
            ("", "", sum(r[2] for r in by_day), sum(int(r[3] or 0) for r in by_day)),
        ),
        Table(
            "by_tender",
            (Column("tender"), Column("count", int_), Column("amount", money)),
            tuple((m, v[0], v[1]) for m, v in sorted(tenders.items())),
            ("", sum(v[0] for v in tenders.values()), sum(v[1] for v in tenders.values())),
        ),
        Table(
            "by_clerk",
            (Column("clerk"), Column("counter"), Column("payments", int_),
             Column("reversals", int_), Column("gross", money), Column("returned", money),
             Column("net", money)),
            tuple(clerk_rows),
            ("", "", sum(r[2] for r in clerk_rows), sum(r[3] for r in clerk_rows), gross,
             returned, gross + returned),
        ),
        Table(
            "exemptions",
            (Column("type"), Column("supervisor"), Column("granted", int_),
             Column("payments", int_), Column("waived", money)),
            tuple(exemption_rows),
            ("", "", sum(r[2] for r in exemption_rows), sum(r[3] for r in exemption_rows),
             sum(r[4] for r in exemption_rows)),
        ),
        Table(
            "surcharges",
            (Column("code"), Column("lines", int_), Column("amount", money)),
            tuple((code, n, int(a or 0)) for code, n, a in surcharges),
            ("", sum(r[1] for r in surcharges), sum(int(r[2] or 0) for r in surcharges)),
        ),
        Table(
            "reversals",
            (Column("kind"), Column("reason"), Column("count", int_), Column("amount", money)),
            tuple((k, r, n, int(a or 0)) for k, r, n, a in reversals),
            ("", "", sum(r[2] for r in reversals), sum(int(r[3] or 0) for r in reversals)),
        ),
        Table(
            "reversal_list",
            (Column("day", "date"), Column("receipt"), Column("kind"), Column("reason"),
             Column("amount", money), Column("clerk"), Column("supervisor")),
            tuple((as_date(d), num, k, r, int(a), sc.user(u), sc.user(by))
                  for d, num, k, r, a, u, by in listing),
            truncated=len(reversal_list) > LIST_LIMIT,
        ),
        Table(
            "variances",
            (Column("day", "date"), Column("clerk"), Column("counter"),
             Column("variance", money), Column("status"), Column("supervisor"),
             Column("reason")),
            tuple((as_date(d), sc.user(u), sc.counter(c), int(v), st, sc.user(by), why or "")
                  for d, u, c, v, st, by, why in variances),
            ("", "", "", sum(int(r[3]) for r in variances), "", "", ""),
        ),
    ]  # fmt: skip
    days = _days(sc.first, sc.last)
    chart = Chart(
        "takings_chart",
        tuple(f"{d:%m-%d}" for d in days),
        tuple(daily.get(d, 0) for d in days),
        "money",
    )
    figures = {
        "gross_avos": gross,
        "returned_avos": returned,
        "net_avos": gross + returned,
        "payments": sum(r[2] for r in clerk_rows),
        "reversals": sum(r[3] for r in clerk_rows),
        "exemptions_granted": sum(r[2] for r in exemption_rows),
        "waived_avos": sum(r[4] for r in exemption_rows),
        "surcharges_avos": sum(int(r[2] or 0) for r in surcharges),
        "variance_avos": sum(int(r[3]) for r in variances),
    }
    return tables, [chart], figures


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- queue --------------------------------------------------------------------------------------


def first_call():
    """The instant of a tag's first call: `called_at` unless it was recalled (then its first
    'called' event)."""
    first = (
        select(func.min(_E.at))
        .where(_E.tag_id == _T.id, _E.kind == "called")
        .correlate(Tag.__table__)
        .scalar_subquery()
    )
    return case((_T.recalls == 0, _T.called_at), else_=first)


def tags_in(sc: Scope):
    return _T.office_id == sc.office_id, _T.day >= sc.first, _T.day <= sc.last


def wait_spreads(sc: Scope, where: Sequence) -> tuple[dict[int, Spread], Spread]:
    wait, by_wait = group_key(sc.sql.seconds(_T.issued_at, first_call()), "g_wait")
    pairs = _rows(
        sc.conn,
        select(_T.service_id, wait, func.count())
        .where(*where, _T.called_at.is_not(None))
        .group_by(_T.service_id, by_wait),
    )
    return _spreads(pairs)


def service_spreads(sc: Scope, where: Sequence, by=None) -> tuple[dict[Any, Spread], Spread]:
    took, by_took = group_key(
        sc.sql.seconds(func.coalesce(_T.serving_at, _T.called_at), _T.finished_at), "g_took"
    )
    key = _T.service_id if by is None else by
    pairs = _rows(
        sc.conn,
        select(key, took, func.count())
        .where(*where, _T.status == "finished", _T.finished_at.is_not(None))
        .group_by(key, by_took),
    )
    return _spreads(pairs)


def _spreads(pairs: list[tuple[Any, int, int]]) -> tuple[dict[Any, Spread], Spread]:
    by_key: dict[Any, list[tuple[int, int]]] = {}
    merged: dict[int, int] = {}
    for key, seconds, n in pairs:
        if seconds is None or seconds < 0:
            continue
        by_key.setdefault(key, []).append((seconds, n))
        merged[seconds] = merged.get(seconds, 0) + n
    return {k: spread(v) for k, v in by_key.items()}, spread(merged.items())


def _queue(sc: Scope) -> tuple[list[Table], list[Chart], dict[str, int]]:
    """One pass over the period's tags (the month of a large office: some 160,000), each
    turned into its service, local hour of issue, status, wait and service time, counted here.

    Grouping by each of the three in SQL read the tags three times; a single read with the
    rows counted in Python takes about half as long (docs/benchmarks.md). The rows go through
    a prepared statement: SQLAlchemy's result objects would cost more than the read itself.
    """
    tag = _T
    wait = sc.sql.seconds(tag.issued_at, first_call())
    took = sc.sql.seconds(func.coalesce(tag.serving_at, tag.called_at), tag.finished_at)
    done = and_(tag.status == "finished", tag.finished_at.is_not(None))
    statement = select(
        tag.service_id,
        sc.sql.hour(tag.issued_at),
        tag.status,
        case((tag.called_at.is_not(None), wait)),
        case((done, took)),
    ).where(*tags_in(sc))
    hours: dict[tuple[int, int], list[int]] = {}
    wait_counts: dict[tuple[int, int], int] = {}
    took_counts: dict[tuple[int, int], int] = {}
    for sid, hour, status, waited, served in Prepared(statement).run(sc.conn).all():
        counts = hours.get((sid, hour))
        if counts is None:
            counts = hours[(sid, hour)] = [0, 0, 0]
        counts[0] += 1
        if status == "finished":
            counts[1] += 1
        elif status == "no-show":
            counts[2] += 1
        if waited is not None:
            wait_counts[(sid, waited)] = wait_counts.get((sid, waited), 0) + 1
        if served is not None:
            took_counts[(sid, served)] = took_counts.get((sid, served), 0) + 1
    by_hour = [(sid, hour, *counts) for (sid, hour), counts in hours.items()]
    waits, all_waits = _spreads([(sid, sec, n) for (sid, sec), n in wait_counts.items()])
    services, all_services = _spreads([(sid, sec, n) for (sid, sec), n in took_counts.items()])
    appointments = _rows(
        sc.conn,
        select(_AO.service_id, _AO.status, func.count())
        .where(_AO.office_id == sc.office_id, _AO.day >= sc.first, _AO.day <= sc.last)
        .group_by(_AO.service_id, _AO.status),
    )
    return _queue_tables(sc, by_hour, waits, all_waits, services, all_services, appointments)


def _queue_tables(sc, by_hour, waits, all_waits, services, all_services, appointments):
    int_, secs = "int", "seconds"
    hour_rows = sorted(
        (sc.services.get(sid, "?"), h, n, done, ns) for sid, h, n, done, ns in by_hour
    )
    per_service: dict[str, list[int]] = {}
    issued_by_hour: dict[int, int] = {}
    served_by_hour: dict[int, int] = {}
    for code, h, n, done, ns in hour_rows:
        entry = per_service.setdefault(code, [0, 0, 0])
        entry[0] += n
        entry[1] += done
        entry[2] += ns
        issued_by_hour[h] = issued_by_hour.get(h, 0) + n
        served_by_hour[h] = served_by_hour.get(h, 0) + done
    codes = sorted(set(per_service) | {sc.services.get(k, "?") for k in (*waits, *services)})
    by_code_wait = {sc.services.get(k, "?"): v for k, v in waits.items()}
    by_code_service = {sc.services.get(k, "?"): v for k, v in services.items()}

    def summary(code: str, counts: list[int], w: Spread, t: Spread) -> tuple:
        return (code, *counts, w.mean, w.p50, w.p90, w.max, t.mean, t.p90)

    service_rows = tuple(
        summary(c, per_service.get(c, [0, 0, 0]), by_code_wait.get(c, Spread()),
                by_code_service.get(c, Spread()))
        for c in codes
    )  # fmt: skip
    totals = [sum(r[i] for r in service_rows) for i in (1, 2, 3)]
    labels = bucket_labels()
    booked = {}
    for sid, status, n in appointments:
        booked.setdefault(sc.services.get(sid, "?"), {})[status] = n
    statuses = ("booked", "checked-in", "kept", "missed", "cancelled")
    appointment_rows = tuple(
        (code, *(counts.get(st, 0) for st in statuses)) for code, counts in sorted(booked.items())
    )
    hours = sorted(set(issued_by_hour) | set(served_by_hour))
    span = list(range(min(hours), max(hours) + 1)) if hours else []
    tables = [
        Table(
            "by_service",
            (Column("service"), Column("issued", int_), Column("served", int_),
             Column("no_show", int_), Column("wait_mean", secs), Column("wait_p50", secs),
             Column("wait_p90", secs), Column("wait_max", secs), Column("service_mean", secs),
             Column("service_p90", secs)),
            service_rows,
            summary("", totals, all_waits, all_services),
        ),
        Table(
            "by_hour",
            (Column("service"), Column("hour", "hour"), Column("issued", int_),
             Column("served", int_), Column("no_show", int_)),
            tuple(hour_rows),
            ("", "", *totals),
        ),
        Table(
            "waits",
            (Column("service"), *(Column(label, int_) for label in labels)),
            tuple((c, *by_code_wait.get(c, Spread()).buckets) for c in codes),
            ("", *all_waits.buckets),
        ),
        Table(
            "service_times",
            (Column("service"), *(Column(label, int_) for label in labels)),
            tuple((c, *by_code_service.get(c, Spread()).buckets) for c in codes),
            ("", *all_services.buckets),
        ),
        Table(
            "appointments",
            (Column("service"), Column("booked", int_), Column("checked_in", int_),
             Column("kept", int_), Column("missed", int_), Column("cancelled", int_)),
            appointment_rows,
            ("", *(sum(r[i] for r in appointment_rows) for i in range(1, 6))),
        ),
    ]  # fmt: skip
    charts = [
        Chart("issued_chart", tuple(f"{h:02d}" for h in span),
              tuple(issued_by_hour.get(h, 0) for h in span)),
        Chart("served_chart", tuple(f"{h:02d}" for h in span),
              tuple(served_by_hour.get(h, 0) for h in span)),
    ]  # fmt: skip
    figures = {
        "issued": totals[0],
        "served": totals[1],
        "no_show": totals[2],
        "wait_mean_s": all_waits.mean,
        "wait_p90_s": all_waits.p90,
        "service_mean_s": all_services.mean,
        "appointments_kept": sum(r[3] for r in appointment_rows),
        "appointments_missed": sum(r[4] for r in appointment_rows),
    }
    return tables, charts, figures


# --- applications -------------------------------------------------------------------------------


def _applications(sc: Scope) -> tuple[list[Table], list[Chart], dict[str, int]]:
    in_period = (
        _A.office_id == sc.office_id,
        _A.lodged_on >= sc.first,
        _A.lodged_on <= sc.last,
    )
    lodged = _rows(
        sc.conn,
        select(_A.case, _A.service_level, func.count())
        .where(*in_period)
        .group_by(_A.case, _A.service_level)
        .order_by(_A.case, _A.service_level),
    )
    per_day = _rows(
        sc.conn, select(_A.lodged_on, func.count()).where(*in_period).group_by(_A.lodged_on)
    )
    asof = sc.last
    since_lodged, by_lodged = group_key(
        case(
            *((_A.lodged_on >= asof - timedelta(days=b), i) for i, b in enumerate(AGE_BOUNDS)),
            else_=len(AGE_BOUNDS),
        ),
        "g_age",
    )
    waiting = _rows(
        sc.conn,
        select(
            _A.status,
            since_lodged,
            func.count(),
            count_if(_A.promised_on < asof),
        )
        .where(
            _A.office_id == sc.office_id,
            _A.status.in_(("lodged", "in-production")),
            _A.lodged_on <= asof,
        )
        .group_by(_A.status, by_lodged),
    )
    end_of_day = sc.end

    def day_start(days_before: int) -> datetime:
        return day_bounds(asof - timedelta(days=days_before), asof, sc.tz)[0]

    since_ready, by_ready = group_key(
        case(
            *((_A.ready_at >= day_start(b), i) for i, b in enumerate(AGE_BOUNDS)),
            else_=len(AGE_BOUNDS),
        ),
        "g_age",
    )
    uncollected_since = day_start(sc.uncollected_days)
    ready = _rows(
        sc.conn,
        select(
            _A.status,
            since_ready,
            func.count(),
            count_if(_A.ready_at < uncollected_since),
        )
        .where(_A.office_id == sc.office_id, _A.status == "ready", _A.ready_at < end_of_day)
        .group_by(_A.status, by_ready),
    )
    code, by_code = group_key(sc.sql.json_text(_AP.detail, "code"), "g_code")
    override_where = (
        _AP.kind == "checklist-override",
        _AP.status == "approved",
        _AP.decided_at >= sc.start,
        _AP.decided_at < sc.end,
    )
    override_codes = _rows(
        sc.conn,
        select(code, func.count()).where(*override_where).group_by(by_code).order_by(by_code),
    )
    overrides = _rows(
        sc.conn,
        select(_AP.decided_at, _A.number, _AP.detail, _AP.reason, _AP.requested_by, _AP.decided_by)
        .select_from(Approval.__table__)
        .outerjoin(Application.__table__, _A.id == _AP.subject_id)
        .where(*override_where)
        .order_by(_AP.decided_at, _AP.id)
        .limit(LIST_LIMIT + 1),
    )
    return _application_tables(sc, lodged, per_day, waiting, ready, override_codes, overrides)


def _application_tables(sc, lodged, per_day, waiting, ready, override_codes, overrides):
    int_ = "int"
    ages = len(AGE_BOUNDS) + 1
    lows = (0, *(b + 1 for b in AGE_BOUNDS))
    age_labels = (*(f"{a}–{b}" for a, b in zip(lows, AGE_BOUNDS, strict=False)),
                  f"{AGE_BOUNDS[-1] + 1}+")  # fmt: skip
    ageing: dict[str, list[int]] = {st: [0] * (ages + 1) for st in ("lodged", "in-production")}
    ageing["ready"] = [0] * (ages + 1)
    for status, bucket, n, flagged in (*waiting, *ready):
        ageing[status][int(bucket)] += n
        ageing[status][ages] += int(flagged or 0)
    ageing_rows = tuple((st, *counts) for st, counts in ageing.items())
    daily = {as_date(d): n for d, n in per_day}
    days = _days(sc.first, sc.last)
    listing = overrides[:LIST_LIMIT]
    tables = [
        Table(
            "lodged",
            (Column("case"), Column("level"), Column("count", int_)),
            tuple(lodged),
            ("", "", sum(r[2] for r in lodged)),
        ),
        Table(
            "ageing",
            (Column("status"), *(Column(label, int_) for label in age_labels),
             Column("late", int_)),
            ageing_rows,
        ),
        Table(
            "override_codes",
            (Column("item"), Column("count", int_)),
            tuple((c or "", n) for c, n in override_codes),
            ("", sum(n for _c, n in override_codes)),
        ),
        Table(
            "overrides",
            (Column("when"), Column("application"), Column("item"), Column("reason"),
             Column("clerk"), Column("supervisor")),
            tuple(
                (f"{to_local(at, sc.tz):%Y-%m-%d %H:%M}", number or "",
                 json.loads(detail or "{}").get("code", ""), why, sc.user(u), sc.user(by))
                for at, number, detail, why, u, by in listing
            ),
            truncated=len(overrides) > LIST_LIMIT,
        ),
    ]  # fmt: skip
    chart = Chart(
        "lodged_chart", tuple(f"{d:%m-%d}" for d in days), tuple(daily.get(d, 0) for d in days)
    )
    figures = {
        "lodged": sum(r[2] for r in lodged),
        "in_production": sum(ageing["in-production"][:ages]),
        "in_production_late": ageing["in-production"][ages],
        "ready": sum(ageing["ready"][:ages]),
        "uncollected": ageing["ready"][ages],
        "overrides": sum(n for _c, n in override_codes),
    }
    return tables, [chart], figures


# --- cards --------------------------------------------------------------------------------------


def _cards(sc: Scope) -> tuple[list[Table], list[Chart], dict[str, int]]:
    earlier = CardPersonalisation.__table__.alias("earlier")
    retried = exists().where(earlier.c.application_id == _CP.application_id, earlier.c.id < _CP.id)
    in_period = (_CP.at >= sc.start, _CP.at < sc.end)
    by_counter = _rows(
        sc.conn,
        select(
            _CP.counter_id,
            func.count(),
            count_if(_CP.status == "done"),
            count_if(_CP.status == "failed"),
            count_if(retried),
        )
        .where(*in_period)
        .group_by(_CP.counter_id),
    )
    day, by_day = group_key(sc.sql.day(_CP.at), "g_day")
    per_day = _rows(
        sc.conn,
        select(day, func.count()).where(*in_period, _CP.status == "done").group_by(by_day),
    )
    rows = sorted(
        ((sc.counter(c), n, done, failed, again) for c, n, done, failed, again in by_counter),
        key=lambda r: str(r[0]).zfill(4),
    )
    daily = {as_date(d): n for d, n in per_day}
    days = _days(sc.first, sc.last)
    int_ = "int"
    table = Table(
        "by_counter",
        (Column("counter"), Column("attempts", int_), Column("done", int_),
         Column("failed", int_), Column("retried", int_)),
        tuple(rows),
        ("", *(sum(r[i] for r in rows) for i in range(1, 5))),
    )  # fmt: skip
    chart = Chart(
        "cards_chart", tuple(f"{d:%m-%d}" for d in days), tuple(daily.get(d, 0) for d in days)
    )
    figures = {
        "attempts": table.total[1],
        "done": table.total[2],
        "failed": table.total[3],
        "retried": table.total[4],
    }
    return [table], [chart], figures


# --- daily --------------------------------------------------------------------------------------


def _approvals_decided(sc: Scope) -> Table:
    rows = _rows(
        sc.conn,
        select(_AP.kind, _AP.status, func.count())
        .where(_AP.decided_at >= sc.start, _AP.decided_at < sc.end)
        .group_by(_AP.kind, _AP.status),
    )
    kinds: dict[str, dict[str, int]] = {}
    for kind, status, n in rows:
        kinds.setdefault(kind, {})[status] = n
    statuses = ("approved", "refused", "withdrawn")
    body = tuple((k, *(v.get(st, 0) for st in statuses)) for k, v in sorted(kinds.items()))
    return Table(
        "approvals",
        (Column("kind"), *(Column(st, "int") for st in statuses)),
        body,
        ("", *(sum(r[i] for r in body) for i in (1, 2, 3))),
    )


def _daily(sc: Scope) -> tuple[list[Table], list[Chart], dict[str, int]]:
    takings, _c1, f1 = _takings(sc)
    queue, c2, f2 = _queue(sc)
    applications, _c3, f3 = _applications(sc)
    cards, _c4, f4 = _cards(sc)
    pick_tables = {t.key: t for t in (*takings, *queue, *applications, *cards)}
    keep = (
        "by_tender",
        "by_clerk",
        "exemptions",
        "reversal_list",
        "variances",
        "by_service",
        "lodged",
        "override_codes",
        "by_counter",
    )
    tables = [pick_tables[k] for k in keep]
    tables.append(_approvals_decided(sc))
    figures = {**f1, **f2, "lodged": f3["lodged"], "overrides": f3["overrides"], **f4}
    return tables, c2, figures


BUILDERS = {
    "takings": _takings,
    "queue": _queue,
    "applications": _applications,
    "cards": _cards,
    "daily": _daily,
}


def uncollected_days(ctx: Context) -> int:
    """After how many days a ready card counts as uncollected (the collection settings' value
    when there is one)."""
    value = getattr(getattr(ctx.config, "collection", None), "uncollected_after_days", None)
    return value if isinstance(value, int) and value > 0 else DEFAULT_UNCOLLECTED_DAYS


def open_scope(ctx: Context, conn: Connection, first: date, last: date) -> tuple[Scope, tuple]:
    """The report scope of the local days first..last on `conn` (inside the caller's read),
    and the office row (id, Chinese, Portuguese and English names)."""
    office = conn.execute(
        select(Office.id, Office.name_zh, Office.name_pt, Office.name).where(
            Office.code == ctx.config.office.code
        )
    ).first()
    if office is None:
        raise Failure(
            f"office {ctx.config.office.code} is not set up in this database "
            "(run `clerk demo --seed-only`, or check office.code in the config)"
        )
    tz = ctx.tz
    begin, finish = day_bounds(first, last, tz)
    users, counters, services = _names(conn, office[0])
    scope = Scope(
        conn, office[0], tz, first, last, begin, finish, _Sql(conn, tz, begin, finish),
        users, counters, services, uncollected_days(ctx),
    )  # fmt: skip
    return scope, office


def build(
    ctx: Context,
    actor: Actor,
    name: str,
    start: str | date | None = None,
    end: str | date | None = None,
) -> Report:
    """One report for the local days start..end (default: this month up to today; the daily
    report: `end`, default today). Supervisors and administrators only."""
    require_role(actor, *SUPERVISORS)
    if name not in REPORTS:
        raise UsageError(
            _("Unknown report {name} (valid: {valid}).").format(name=name, valid=", ".join(REPORTS))
        )
    today = ctx.today()
    if name == "daily":
        day = parse_day(end, "--to") or parse_day(start, "--from") or today
        first, last = day, day
    else:
        first, last = period(start, end, today)
    with ctx.db.read() as s:
        scope, office = open_scope(ctx, s.connection(), first, last)
        tables, charts, figures = BUILDERS[name](scope)
        head = scope.conn.execute(select(AuditHead.seq, AuditHead.last_hash)).first()
    seq, last_hash = head if head is not None else (0, "")
    return Report(
        name=name,
        office=(office[1], office[2], office[3]),
        start=first,
        end=last,
        generated_at=to_local(utcnow(), ctx.tz),
        tables=tuple(tables),
        charts=tuple(charts),
        figures=figures,
        audit_seq=seq if name == "daily" else None,
        audit_hash=last_hash if name == "daily" else "",
    )


# --- the audit trail, filtered ------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime  # office local
    username: str
    counter: int | None
    terminal: str
    action: str
    subject_type: str
    subject_id: int | None
    before: str
    after: str


def audit_trail(
    ctx: Context,
    actor: Actor,
    *,
    user: str = "",
    action: str = "",
    start: str | date | None = None,
    end: str | date | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Audit events, newest first, filtered by person (user name), action (exact, or a prefix
    ending in '.' or '*': `payment.` finds every payment action) and local days; `before_id`
    pages back. Supervisors and administrators only."""
    require_role(actor, *SUPERVISORS)
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if first and last and first > last:
        raise UsageError(_("The period starts after it ends."))
    tz = ctx.tz
    query = select(
        _AE.id, _AE.at, _AE.username, _AE.counter, _AE.terminal, _AE.action,
        _AE.subject_type, _AE.subject_id, _AE.before, _AE.after,
    )  # fmt: skip
    if user.strip():
        query = query.where(_AE.username == user.strip().lower())
    text = action.strip()
    if text.endswith(("*", ".")):
        prefix = text.rstrip("*")
        query = query.where(_AE.action >= prefix, _AE.action < prefix + "\uffff")
    elif text:
        query = query.where(_AE.action == text)
    if first:
        query = query.where(_AE.at >= day_bounds(first, first, tz)[0])
    if last:
        query = query.where(_AE.at < day_bounds(last, last, tz)[1])
    if before_id is not None:
        query = query.where(_AE.id < before_id)
    query = query.order_by(_AE.id.desc()).limit(max(1, min(limit, 1000)))
    with ctx.db.read() as s:
        rows = _rows(s.connection(), query)
    return [
        AuditRow(i, to_local(at, tz), u, c, term, a, st, sid, b or "", af or "")
        for i, at, u, c, term, a, st, sid, b, af in rows
    ]


def verify_audit(ctx: Context, actor: Actor, expect: str | None = None):
    """Walk the audit chain (`clerk.domain.audit.verify`): supervisors and administrators."""
    from clerk.domain import audit

    require_role(actor, *SUPERVISORS)
    with ctx.db.read() as s:
        return audit.verify(s, ctx.audit_key, expected_last_hash=expect or None)
