"""The card service on the in-process virtual reader, on SQLite and PostgreSQL (the `ctx` fixture).

Every failure path: wrong PIN (one attempt only), blocked, pulled out halfway and restarted,
another kind of card, no card, a locked card, a read-back mismatch, no PIN secret, a database that
fails after the card was locked. Only a verified, locked card is ever recorded as done.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import select

from clerk.devices.card_profile import (
    CardBlocked,
    CardLocked,
    WrongCardKind,
    WrongPin,
    data_hash,
    decode_record,
    load_profile,
)
from clerk.devices.reader import CardRemoved, NoCard, PulledOut, VirtualReader
from clerk.devices.reference_card import OtherCard, ReferenceCard, demo_holder
from clerk.domain import cards
from clerk.domain.audit import verify as verify_audit
from clerk.domain.auth import Actor
from clerk.domain.cards import CardOptions, VerifyMismatch
from clerk.domain.models import (
    Applicant,
    Application,
    AuditEvent,
    CardPersonalisation,
    Counter,
    IssuedCard,
    Office,
    User,
)
from clerk.errors import Failure, NotFound, Refused, UsageError

PIN = "2580"


@pytest.fixture(autouse=True)
def card_pin(monkeypatch):
    monkeypatch.setenv("CLERK_CARD_PIN", PIN)


@pytest.fixture(scope="module")
def profile():
    return load_profile()


class Desk:
    """An office with one counter and one clerk; applications made to order."""

    def __init__(self, ctx):
        self.ctx = ctx
        with ctx.db.write() as s:
            office = Office(code=ctx.config.office.code, name="HQ")
            s.add(office)
            s.flush()
            counter = Counter(office_id=office.id, number=3)
            user = User(username="ana", role="clerk", full_name="Ana Chan")
            s.add(counter)
            s.add(user)
            s.flush()
            self.office_id, self.counter_id = office.id, counter.id
            self.actor = Actor(user.id, "ana", "clerk", counter=3, terminal="test")
        self._n = 0

    def application(
        self,
        *,
        born: date | None = date(1980, 5, 17),
        permanent: bool = True,
        status: str = "ready",
        symbols: str | None = None,
        name_latin: str = "CHAN TAI MAN",
    ) -> int:
        self._n += 1
        with self.ctx.db.write() as s:
            person = Applicant(
                id_number=f"123456{self._n}(3)",
                name_zh="陳大文",
                name_latin=name_latin,
                date_of_birth=born,
                sex="M",
                permanent=permanent,
            )
            s.add(person)
            s.flush()
            if symbols is not None:
                s.add(
                    IssuedCard(applicant_id=person.id, issued_on=date(2016, 1, 4), symbols=symbols)
                )
            app = Application(office_id=self.office_id, applicant_id=person.id, status=status)
            s.add(app)
            s.flush()
            return app.id

    def rows(self, application_id: int) -> list[CardPersonalisation]:
        with self.ctx.db.read() as s:
            return list(
                s.exec(
                    select(CardPersonalisation)
                    .where(CardPersonalisation.application_id == application_id)
                    .order_by(CardPersonalisation.id)
                ).all()
            )

    def audit_actions(self) -> list[str]:
        with self.ctx.db.read() as s:
            return list(s.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


@pytest.fixture
def desk(ctx):
    return Desk(ctx)


def blank(profile) -> ReferenceCard:
    return ReferenceCard(profile, PIN)


def pull_out_at_update(card: ReferenceCard, number: int) -> None:
    """The card leaves the reader just before its `number`-th UPDATE BINARY."""
    seen = {"updates": 0}

    def hook(apdu: bytes) -> None:
        if apdu[1] == 0xD6:
            seen["updates"] += 1
            if seen["updates"] == number:
                card.on_command = None
                raise PulledOut()

    card.on_command = hook


# --- reading -------------------------------------------------------------------------------------


def test_read_a_blank_card(profile):
    card = blank(profile)
    data = cards.read_card(VirtualReader(card), profile)
    assert data.holder is None and not data.locked and data.data_hash == ""
    assert data.serial == card.serial.hex().upper()
    assert data.atr == card.atr.hex().upper()
    assert data.virtual and data.reader == "clerk virtual reader"
    assert data.as_json()["blank"] is True


def test_read_with_no_card_and_another_kind(profile):
    with pytest.raises(NoCard, match="no card in the reader clerk virtual reader"):
        cards.read_card(VirtualReader(None), profile)
    with pytest.raises(WrongCardKind, match="not a clerk reference card") as caught:
        cards.read_card(VirtualReader(OtherCard()), profile)
    assert "6A82" in caught.value.message
    assert isinstance(caught.value, Refused)


# --- personalising -----------------------------------------------------------------------------


def test_personalise_writes_verifies_locks_and_records(ctx, desk, profile):
    app_id = desk.application(symbols="***")
    card = blank(profile)
    reader = VirtualReader(card)
    options = CardOptions(applications=frozenset({"library_card"}))
    done = cards.personalise(ctx, desk.actor, reader, app_id, profile, options=options)

    assert card.locked and not done.recovered
    record = bytes(card.holder[: done.bytes_written])
    assert done.data_hash == data_hash(record)
    holder = decode_record(profile, record)
    today = ctx.today()
    assert holder.document_number == "1234561(3)" and holder.name_chinese == "陳大文"
    assert holder.issue_date == today
    assert holder.expiry_date == today.replace(year=today.year + 10)
    assert holder.symbols == "***" and holder.applications == {"library_card"}

    (row,) = desk.rows(app_id)
    assert row.status == "done" and row.error == ""
    assert row.card_serial == card.serial.hex().upper() == done.serial
    assert row.atr == card.atr.hex().upper()
    assert row.profile_version == profile.version
    assert row.data_hash == done.data_hash
    assert row.user_id == desk.actor.user_id and row.counter_id == desk.counter_id
    assert desk.audit_actions()[-1] == "card.personalise"
    with ctx.db.read() as s:
        assert verify_audit(s, ctx.audit_key).ok

    data = cards.read_card(reader, profile)  # what the counter reads afterwards
    assert data.locked and data.holder == holder and data.data_hash == done.data_hash
    assert card.verified is False  # the session ended with a reset


def test_wrong_pin_stops_after_one_attempt(ctx, desk, profile, monkeypatch):
    monkeypatch.setenv("CLERK_CARD_PIN", "9999")
    app_id = desk.application()
    card = blank(profile)
    with pytest.raises(WrongPin, match="2 tries left") as caught:
        cards.personalise(ctx, desk.actor, VirtualReader(card), app_id, profile)
    assert caught.value.tries_left == 2
    assert "9999" not in caught.value.message  # never the PIN itself
    assert card.tries == 2 and not card.locked and not any(card.holder)
    (row,) = desk.rows(app_id)
    assert row.status == "failed" and "2 tries left" in row.error
    assert row.card_serial == card.serial.hex().upper()
    assert desk.audit_actions()[-1] == "card.personalise.failed"


def test_blocked_card_is_not_tried(ctx, desk, profile):
    app_id = desk.application()
    card = blank(profile)
    card.tries = 0
    with pytest.raises(CardBlocked, match="blocked"):
        cards.personalise(ctx, desk.actor, VirtualReader(card), app_id, profile)
    assert card.tries == 0
    assert [r.status for r in desk.rows(app_id)] == ["failed"]


def test_pulled_out_halfway_is_not_done_and_a_restart_succeeds(ctx, desk, profile):
    app_id = desk.application()
    card = blank(profile)
    pull_out_at_update(card, 2)
    reader = VirtualReader(card)
    with pytest.raises(CardRemoved, match="put it back") as caught:
        cards.personalise(ctx, desk.actor, reader, app_id, profile)
    assert "nothing was recorded as done" in caught.value.message
    assert reader.card is None and not card.locked
    assert any(card.holder[: profile.chunk_size])  # the first chunk had been written
    assert [r.status for r in desk.rows(app_id)] == ["failed"]

    reader.insert(card)  # the clerk puts it back; it starts from the beginning
    done = cards.personalise(ctx, desk.actor, reader, app_id, profile)
    assert card.locked and not done.recovered
    assert [r.status for r in desk.rows(app_id)] == ["failed", "done"]


def test_other_kind_of_card_and_no_card_are_recorded_failures(ctx, desk, profile):
    app_id = desk.application()
    with pytest.raises(WrongCardKind):
        cards.personalise(ctx, desk.actor, VirtualReader(OtherCard()), app_id, profile)
    with pytest.raises(NoCard):
        cards.personalise(ctx, desk.actor, VirtualReader(None), app_id, profile)
    assert [r.status for r in desk.rows(app_id)] == ["failed", "failed"]


def test_a_card_locked_with_other_data_is_refused(ctx, desk, profile):
    app_id = desk.application()
    other_app = desk.application(name_latin="SOMEONE ELSE")
    card = ReferenceCard.personalised(profile, PIN, cards.holder_record(ctx, other_app, profile))
    with pytest.raises(CardLocked, match="use a new card"):
        cards.personalise(ctx, desk.actor, VirtualReader(card), app_id, profile)
    assert [r.status for r in desk.rows(app_id)] == ["failed"]


def test_read_back_mismatch_is_not_locked(ctx, desk, profile):
    class Faulty(ReferenceCard):
        def _update_binary(self, apdu):
            out = super()._update_binary(apdu)
            if apdu.p1p2 == 0:
                self.holder[5] ^= 0xFF  # one bit of EEPROM gone bad
            return out

    app_id = desk.application()
    card = Faulty(profile, PIN)
    with pytest.raises(VerifyMismatch, match="first at byte 5"):
        cards.personalise(ctx, desk.actor, VirtualReader(card), app_id, profile)
    assert not card.locked
    assert [r.status for r in desk.rows(app_id)] == ["failed"]


def test_database_failure_after_lock_is_recovered_by_running_again(ctx, desk, profile, monkeypatch):
    app_id = desk.application()
    card = blank(profile)
    reader = VirtualReader(card)
    real_record = cards._record

    def broken(ctx_, actor, plan, row, extra):
        if row["status"] == "done":
            raise Failure("database error: disk I/O error")
        return real_record(ctx_, actor, plan, row, extra)

    monkeypatch.setattr(cards, "_record", broken)
    with pytest.raises(Failure, match="personalise again with the same card"):
        cards.personalise(ctx, desk.actor, reader, app_id, profile)
    assert card.locked and desk.rows(app_id) == []

    monkeypatch.setattr(cards, "_record", real_record)
    done = cards.personalise(ctx, desk.actor, reader, app_id, profile)
    assert done.recovered and done.bytes_written == 0
    (row,) = desk.rows(app_id)
    assert row.status == "done" and row.card_serial == card.serial.hex().upper()


def test_no_pin_secret_touches_no_card(ctx, desk, profile, monkeypatch):
    monkeypatch.delenv("CLERK_CARD_PIN")

    class RealLooking(VirtualReader):
        virtual = False

    card = blank(profile)
    seen: list[bytes] = []
    card.on_command = seen.append
    app_id = desk.application()
    with pytest.raises(Failure, match="secret CARD_PIN is not set"):
        cards.personalise(ctx, desk.actor, RealLooking(card), app_id, profile)
    assert seen == [] and desk.rows(app_id) == []


def test_virtual_reader_without_secret_uses_the_demo_pin(ctx, desk, profile, monkeypatch):
    monkeypatch.delenv("CLERK_CARD_PIN")
    reader = cards.open_reader(ctx, virtual=True)
    done = cards.personalise(ctx, desk.actor, reader, desk.application(), profile)
    assert reader.card.locked and done.serial


# --- what may be personalised ----------------------------------------------------------------


def test_application_rules(ctx, desk, profile):
    reader = VirtualReader(blank(profile))
    with pytest.raises(NotFound, match="no application 999"):
        cards.personalise(ctx, desk.actor, reader, 999, profile)
    with pytest.raises(Refused, match="is draft"):
        cards.personalise(ctx, desk.actor, reader, desk.application(status="draft"), profile)
    app_id = desk.application()
    cards.personalise(ctx, desk.actor, reader, app_id, profile)
    with pytest.raises(Refused, match="already has a personalised card"):
        cards.personalise(ctx, desk.actor, VirtualReader(blank(profile)), app_id, profile)
    again = cards.personalise(
        ctx, desk.actor, VirtualReader(blank(profile)), app_id, profile, again=True
    )
    assert [r.status for r in desk.rows(app_id)] == ["done", "done"]
    assert again.serial != desk.rows(app_id)[0].card_serial
    assert reader.card.locked
    with pytest.raises(Refused, match="may not"):
        cards.personalise(ctx, replace(desk.actor, role="kiosk"), reader, app_id, profile)


def test_dates_symbols_and_stay(ctx, desk, profile):
    today = ctx.today()
    old = desk.application(born=date(today.year - 70, 1, 1))
    assert cards.holder_record(ctx, old, profile).expiry_date is None  # 65+: does not expire
    young = desk.application(born=date(today.year - 30, 1, 1), permanent=False)
    record = cards.holder_record(
        ctx,
        young,
        profile,
        CardOptions(condition_of_stay="Employment", limit_of_stay=date(today.year + 2, 6, 30)),
    )
    assert record.expiry_date is not None and record.expiry_date.year == today.year + 10
    assert record.symbols == "" and record.condition_of_stay == "Employment"
    assert cards.holder_record(ctx, desk.application(symbols="R"), profile).symbols == "R"
    assert cards.holder_record(ctx, desk.application(), profile).symbols == "***"
    with pytest.raises(UsageError, match="permanent resident has no condition"):
        cards.holder_record(ctx, old, profile, CardOptions(condition_of_stay="x"))
    assert cards.age_on(date(2000, 2, 29), date(2065, 2, 28)) == 64
    assert cards.age_on(date(2000, 2, 29), date(2065, 3, 1)) == 65


def test_values_the_card_cannot_hold_touch_no_card(ctx, desk, profile):
    card = blank(profile)
    app_id = desk.application(name_latin="X" * 80)
    with pytest.raises(UsageError, match="at most 60"):
        cards.personalise(ctx, desk.actor, VirtualReader(card), app_id, profile)
    assert desk.rows(app_id) == [] and card.tries == card.max_tries


# --- comparing with the database ----------------------------------------------------------------


def test_compare_finds_the_record_and_flags_differences(ctx, desk, profile):
    app_id = desk.application()
    reader = VirtualReader(blank(profile))
    cards.personalise(ctx, desk.actor, reader, app_id, profile)
    data = cards.read_card(reader, profile)

    same = cards.compare_card(ctx, data)
    assert same.differences == () and len(same.rows) == 6
    assert cards.compare_card(ctx, data, app_id).personalisation == "matches"

    with ctx.db.write() as s:
        person = s.exec(select(Applicant).where(Applicant.id_number == "1234561(3)")).one()
        person.name_latin = "chan  tai man"  # case and spacing are not differences
        person.date_of_birth = date(1980, 5, 18)
        s.add(person)
    changed = cards.compare_card(ctx, data, app_id)
    assert [row.field for row in changed.differences] == ["date_of_birth"]
    assert changed.differences[0].on_card == date(1980, 5, 17)

    other = cards.read_card(VirtualReader(ReferenceCard.personalised(profile, PIN, data.holder)))
    assert cards.compare_card(ctx, other, app_id).personalisation == "differs"  # another serial
    assert cards.compare_card(ctx, other, desk.application()).personalisation == "none"


def test_compare_refusals(ctx, desk, profile):
    blank_data = cards.read_card(VirtualReader(blank(profile)), profile)
    with pytest.raises(Refused, match="blank"):
        cards.compare_card(ctx, blank_data)
    stranger = replace(
        cards.holder_record(ctx, desk.application(), profile), document_number="7777777(7)"
    )
    data = cards.read_card(VirtualReader(ReferenceCard.personalised(profile, PIN, stranger)))
    with pytest.raises(NotFound, match="7777777"):
        cards.compare_card(ctx, data)


def test_compare_with_any_record_object(profile):
    holder = replace(demo_holder(date(2026, 1, 1)), name_latin="João")
    data = cards.read_card(VirtualReader(ReferenceCard.personalised(profile, PIN, holder)))

    class Record:
        id_number = holder.document_number
        name_zh = holder.name_chinese
        name_latin = "JOÃO"
        date_of_birth = holder.date_of_birth
        sex = "F"
        permanent = holder.permanent

    rows = cards.compare_with_record(data, Record())
    assert [r.field for r in rows if r.differs] == ["sex"]


def test_history_lists_every_attempt(ctx, desk, profile, monkeypatch):
    app_id = desk.application()
    monkeypatch.setenv("CLERK_CARD_PIN", "1111")
    with pytest.raises(WrongPin):
        cards.personalise(ctx, desk.actor, VirtualReader(blank(profile)), app_id, profile)
    history = cards.personalisations(ctx, app_id)
    assert [h["status"] for h in history] == ["failed"] and "tries left" in history[0]["error"]


# --- the command line on the virtual reader -----------------------------------------------------


def test_command_line_on_the_virtual_reader(sqlite_ctx, tmp_path, monkeypatch, capsys):
    import json

    from clerk.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[card_reader]\nkind = "virtual"\n')
    monkeypatch.setenv("CLERK_CONFIG", str(config))
    app_id = Desk(sqlite_ctx).application()
    db = ["--db", sqlite_ctx.db_url]

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, *db])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _err = run("card", "readers", "--json")
    assert code == 0
    assert json.loads(out) == {
        "kind": "virtual",
        "readers": [{"name": "clerk virtual reader", "selected": True}],
    }
    code, out, _err = run("card", "status", "--json")
    assert code == 0 and json.loads(out)["ready"] and json.loads(out)["pin_secret"] == "set"
    code, out, _err = run("card", "read")
    assert code == 0 and "(virtual reader)" in out and "blank" in out

    code, out, _err = run("card", "personalise", str(app_id), "--opt-in", "library_card", "--json")
    assert code == 0
    done = json.loads(out)
    assert done["application_id"] == app_id and done["bytes_written"] > 0
    assert [r["status"] for r in cards.personalisations(sqlite_ctx, app_id)] == ["done"]

    code, _out, err = run("card", "personalise", "999")
    assert code == 2 and err == "clerk: no application 999\n"
    code, _out, err = run("card", "personalise", str(app_id), "--again", "--opt-in", "pool")
    assert code == 2 and "unknown application 'pool'" in err
    code, _out, err = run("card", "read", "--compare")
    assert code == 2 and "the card is blank" in err  # a new virtual card every command
