"""The office as the shell shows it: names, counters, services and today's waiting numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import func, select

from clerk.domain.models import Counter, Office, Service, Tag
from clerk.errors import Failure

if TYPE_CHECKING:
    from clerk.context import Context


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str
    name_zh: str
    name_pt: str
    waiting: int
    served: int

    def title(self, lang: str) -> str:
        return {"zh_Hant": self.name_zh, "pt": self.name_pt}.get(lang) or self.name


@dataclass(frozen=True)
class Overview:
    office_code: str
    office_name: str
    day: str
    counters: tuple[int, ...]
    services: tuple[ServiceLine, ...]


def get_office(s, ctx: Context) -> Office:
    office = s.exec(select(Office).where(Office.code == ctx.config.office.code)).first()
    if office is None:
        raise missing_office(ctx)
    return office


def missing_office(ctx: Context) -> Failure:
    return Failure(
        f"office {ctx.config.office.code} is not set up in this database "
        "(run `clerk demo --seed-only`, or check office.code in the config)"
    )


def overview(ctx: Context) -> Overview:
    day = ctx.today()
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        counters = s.exec(
            select(Counter.number)
            .where(Counter.office_id == office.id, Counter.active)
            .order_by(Counter.number)
        ).all()
        counts = dict(
            ((sid, st), n)
            for sid, st, n in s.exec(
                select(Tag.service_id, Tag.status, func.count())
                .where(Tag.office_id == office.id, Tag.day == day)
                .group_by(Tag.service_id, Tag.status)
            ).all()
        )
        services = s.exec(
            select(Service.id, Service.code, Service.name, Service.name_zh, Service.name_pt)
            .where(Service.office_id == office.id, Service.active)
            .order_by(Service.code)
        ).all()
    lines = tuple(
        ServiceLine(
            code, name, zh, pt, counts.get((sid, "waiting"), 0), counts.get((sid, "finished"), 0)
        )
        for sid, code, name, zh, pt in services
    )
    return Overview(office.code, office.name, day.isoformat(), tuple(counters), lines)


def counter_exists(ctx: Context, number: int) -> bool:
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        return (
            s.exec(
                select(Counter.id).where(
                    Counter.office_id == office.id, Counter.number == number, Counter.active
                )
            ).first()
            is not None
        )
