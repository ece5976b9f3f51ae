"""A realistic demo office: counters, services, staff, applicants and a morning of tags.

Safe to run twice: what exists is left alone, what is missing is added (today's tags are added
only when the office has none today).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from clerk.domain import audit
from clerk.domain.auth import SYSTEM, hash_password
from clerk.domain.clock import utcnow, zone
from clerk.domain.models import (
    Applicant,
    Counter,
    CounterService,
    IssuedCard,
    NonPresentation,
    Office,
    Service,
    Tag,
    TagEvent,
    User,
)
from clerk.domain.sequences import next_number

if TYPE_CHECKING:
    from clerk.context import Context

SERVICES = (
    # code, English, Chinese, Portuguese, priority
    ("A", "ID card renewal", "身份證換領", "Renovação do BIR", 0),
    ("B", "Document collection", "領取證件", "Levantamento de documentos", 0),
    ("C", "Certificates", "證明書", "Certidões", 0),
    (
        "P",
        "Priority (elderly, disabled, pregnant)",
        "優先（長者、殘疾人士、孕婦）",
        "Prioritário (idosos, deficientes, grávidas)",
        10,
    ),
)

STAFF = (
    # username, role, full name, language, password (demo only)
    ("ana", "clerk", "Ana Chan 陳安娜", "en", "clerk-ana-1"),
    ("joao", "clerk", "João Sousa", "pt", "clerk-joao-1"),
    ("mei", "clerk", "Wong Mei 黃美", "zh_Hant", "clerk-mei-1"),
    ("sup", "supervisor", "Lei Ka Man 李嘉敏", "en", "super-lei-1"),
    ("admin", "admin", "IT Administrator", "en", "admin-demo-1"),
)

# (id number, Chinese name, Latin name, birth date, sex, nationality, origin, marital, permanent)
APPLICANTS = (
    (
        "1234567(3)",
        "陳大文",
        "CHAN TAI MAN",
        date(1978, 3, 14),
        "M",
        "chinese",
        "macao",
        "married",
        True,
    ),
    (
        "1304918(5)",
        "李小梅",
        "LEI SIO MUI",
        date(1990, 11, 2),
        "F",
        "chinese",
        "mainland",
        "single",
        True,
    ),
    (
        "5213377(0)",
        "",
        "SOUSA, JOÃO MIGUEL DE",
        date(1969, 7, 30),
        "M",
        "portuguese",
        "portugal",
        "divorced",
        True,
    ),
    (
        "1487220(9)",
        "黃志強",
        "WONG CHI KEONG",
        date(1955, 1, 8),
        "M",
        "chinese",
        "macao",
        "widowed",
        True,
    ),
    (
        "7025561(2)",
        "何詠詩",
        "HO WENG SI",
        date(2011, 5, 21),
        "F",
        "chinese",
        "macao",
        "single",
        True,
    ),
    (
        "5380142(6)",
        "林美玲",
        "LAM MEI LENG",
        date(1986, 9, 9),
        "F",
        "chinese",
        "taiwan",
        "married",
        False,
    ),
    (
        "1619023(1)",
        "張偉",
        "CHEONG WAI",
        date(1999, 12, 31),
        "M",
        "chinese",
        "hong-kong",
        "single",
        True,
    ),
    (
        "5527790(4)",
        "",
        "FERREIRA DA SILVA, MARIA JOSÉ",
        date(1975, 4, 25),
        "F",
        "portuguese",
        "portugal",
        "married",
        True,
    ),
    (
        "1290456(8)",
        "梁家豪",
        "LEONG KA HOU",
        date(1982, 6, 6),
        "M",
        "chinese",
        "macao",
        "married",
        True,
    ),
    (
        "5102938(7)",
        "山田花子",
        "YAMADA HANAKO",
        date(1988, 2, 17),
        "F",
        "other",
        "japan",
        "married",
        False,
    ),
    (
        "1776543(0)",
        "區嘉欣",
        "AU KA IAN",
        date(2009, 8, 3),
        "F",
        "chinese",
        "macao",
        "single",
        True,
    ),
    (
        "1065432(2)",
        "歐陽明",
        "AU IEONG MENG",
        date(1948, 10, 10),
        "M",
        "chinese",
        "macao",
        "married",
        True,
    ),
)


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    staff: tuple[tuple[str, str, str], ...] = tuple((u, r, p) for u, r, _n, _l, p in STAFF)


def _get_or_create_office(s, ctx: Context, report: SeedReport) -> Office:
    office = s.exec(select(Office).where(Office.code == ctx.config.office.code)).first()
    if office is not None:
        report.kept.append(f"office {office.code}")
        return office
    o = ctx.config.office
    office = Office(
        code=o.code, name=o.name, name_zh=o.name_zh, name_pt=o.name_pt, timezone=o.timezone
    )
    s.add(office)
    s.flush()
    report.created.append(f"office {office.code}")
    return office


def seed_demo(ctx: Context, *, rng_seed: int = 7) -> SeedReport:
    """Create whatever part of the demo office is missing."""
    report = SeedReport()
    rng = random.Random(rng_seed)
    hashes = {u: hash_password(p) for u, _r, _n, _l, p in STAFF}  # outside the write lock
    today = ctx.today()
    with ctx.db.write() as s:
        office = _get_or_create_office(s, ctx, report)
        services = _seed_services(s, office, report)
        _seed_counters(s, office, services, report)
        _seed_staff(s, hashes, report)
        _seed_applicants(s, today, report)
        _seed_tags(s, ctx, office, services, today, rng, report)
        if report.created:
            audit.append(s, ctx.audit_key, SYSTEM, "demo.seed", after={"created": report.created})
    return report


def _seed_services(s, office: Office, report: SeedReport) -> dict[str, Service]:
    existing = {
        sv.code: sv for sv in s.exec(select(Service).where(Service.office_id == office.id)).all()
    }
    for code, en, zh, pt, priority in SERVICES:
        if code not in existing:
            sv = Service(
                office_id=office.id, code=code, name=en, name_zh=zh, name_pt=pt, priority=priority
            )
            s.add(sv)
            existing[code] = sv
            report.created.append(f"service {code}")
    s.flush()
    return existing


def _seed_counters(s, office: Office, services: dict[str, Service], report: SeedReport) -> None:
    existing = {
        c.number for c in s.exec(select(Counter).where(Counter.office_id == office.id)).all()
    }
    for number in range(1, 7):
        if number in existing:
            continue
        counter = Counter(
            office_id=office.id, number=number, name=f"Counter {number}", collection=number >= 5
        )
        s.add(counter)
        s.flush()
        for sv in services.values():
            s.add(CounterService(counter_id=counter.id, service_id=sv.id))
        report.created.append(f"counter {number}")


def _seed_staff(s, hashes: dict[str, str], report: SeedReport) -> None:
    existing = set(s.exec(select(User.username)).all())
    for username, role, full_name, language, _pw in STAFF:
        if username in existing:
            continue
        s.add(
            User(
                username=username,
                role=role,
                full_name=full_name,
                language=language,
                password_hash=hashes[username],
            )
        )
        report.created.append(f"user {username}")


def _seed_applicants(s, today: date, report: SeedReport) -> None:
    existing = set(s.exec(select(Applicant.id_number)).all())
    for i, (idn, zh, latin, dob, sex, nat, origin, marital, permanent) in enumerate(APPLICANTS):
        if idn in existing:
            continue
        person = Applicant(
            id_number=idn,
            name_zh=zh,
            name_latin=latin,
            date_of_birth=dob,
            sex=sex,
            nationality=nat,
            origin=origin,
            marital_status=marital,
            permanent=permanent,
        )
        s.add(person)
        s.flush()
        # card history: a 2013-version card, replaced by a 2023 one for some
        first = date(2013 + i % 5, 1 + i % 12, 10)
        s.add(
            IssuedCard(
                applicant_id=person.id,
                version="2013",
                issued_on=first,
                expires_on=first + timedelta(days=365 * 10),
                status="replaced",
            )
        )
        # expiring in 240, 180, 120, 60, 0 days, or expired 60 days ago: most can renew now
        current_issue = today - timedelta(days=365 * 10 - 240 + 60 * (i % 6))
        version = "2023" if current_issue >= date(2023, 1, 1) else "2013"
        s.add(
            IssuedCard(
                applicant_id=person.id,
                version=version,
                issued_on=current_issue,
                expires_on=current_issue + timedelta(days=365 * 10),
                symbols="***" if permanent else "",
            )
        )
        if i in (2, 8):  # two people who lost their card before
            for k in range(1 + i // 4):
                s.add(
                    NonPresentation(
                        applicant_id=person.id,
                        occurred_on=first + timedelta(days=200 * (k + 1)),
                        note="card lost",
                    )
                )
        report.created.append(f"applicant {idn}")


def _seed_tags(
    s,
    ctx: Context,
    office: Office,
    services: dict[str, Service],
    today: date,
    rng: random.Random,
    report: SeedReport,
) -> None:
    if s.exec(select(Tag.id).where(Tag.office_id == office.id, Tag.day == today)).first():
        report.kept.append("today's tags")
        return
    tz = zone(office.timezone)
    opening = datetime.combine(today, time(9, 0), tz)
    now = utcnow()
    start = min(now - timedelta(minutes=90), opening)
    mix = ["A"] * 12 + ["B"] * 6 + ["C"] * 4 + ["P"] * 3
    rng.shuffle(mix)
    for i, code in enumerate(mix):
        sv = services[code]
        number = next_number(s, office.id, "tag", today, key=code)
        issued = start + timedelta(minutes=3 * i + rng.randint(0, 2))
        status = "finished" if i < 10 else "waiting"
        tag = Tag(
            office_id=office.id,
            day=today,
            code=f"{code}{number:03d}",
            number=number,
            service_id=sv.id,
            status=status,
            priority=sv.priority,
            issued_at=issued,
        )
        if status == "finished":
            tag.called_at = issued + timedelta(minutes=rng.randint(4, 20))
            tag.serving_at = tag.called_at + timedelta(minutes=1)
            tag.finished_at = tag.serving_at + timedelta(minutes=rng.randint(4, 12))
        s.add(tag)
        s.flush()
        s.add(TagEvent(tag_id=tag.id, at=issued, kind="issued"))
        if tag.finished_at:
            for kind, at in (
                ("called", tag.called_at),
                ("serving", tag.serving_at),
                ("finished", tag.finished_at),
            ):
                s.add(TagEvent(tag_id=tag.id, at=at, kind=kind))
    report.created.append(f"{len(mix)} tags for {today.isoformat()}")
