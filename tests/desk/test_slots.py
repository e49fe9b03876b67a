"""Slot generation from weekly rules: local time, exceptions, DST in Europe/Rome, offering."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.desk import scheduling
from sportello.desk.models import Expert, Slot
from sportello.errors import ErrorCode, SportelloError
from tests.desk.factory import (
    NOW,
    World,
    add_desk,
    add_expert,
    add_rule,
    first_offer,
    open_ticket,
    utc,
)


def starts(session: Session, expert_id: int, first: date, last: date) -> list[str]:
    """Slot starts of one expert between two UTC days, as ISO strings (visible ones only)."""
    stmt = (
        select(Slot.starts_at)
        .where(
            Slot.expert_id == expert_id,
            Slot.withdrawn.is_(False),
            Slot.starts_at >= utc(first.year, first.month, first.day),
            Slot.starts_at < utc(last.year, last.month, last.day) + timedelta(days=1),
        )
        .order_by(Slot.starts_at)
    )
    return [s.strftime("%m-%d %H:%M") for s in session.scalars(stmt)]


def test_weekly_rule_makes_slots_in_rome_time(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        report = scheduling.refresh_slots(session=s, settings=db_settings, now=NOW)
        assert report.created > 0
        # Tuesday 1 Dec, 09:00 Rome = 08:00 UTC is not after `now`; 9:30 … 11:30 are.
        assert starts(s, world.fiscal, date(2026, 12, 1), date(2026, 12, 1)) == [
            "12-01 08:30",
            "12-01 09:00",
            "12-01 09:30",
            "12-01 10:00",
            "12-01 10:30",
        ]
        # Monday 7 Dec: the whole morning, six half-hours.
        assert len(starts(s, world.fiscal, date(2026, 12, 7), date(2026, 12, 7))) == 6
        # Thursday rule at 45 minutes: 15:00, 15:45, 16:30, 17:15 (17:15 + 45 = 18:00).
        assert starts(s, world.volunteers, date(2026, 12, 3), date(2026, 12, 3)) == [
            "12-03 14:00",
            "12-03 14:45",
            "12-03 15:30",
            "12-03 16:15",
        ]
        # Nothing beyond the horizon (28 days by default).
        last = s.scalar(select(func.max(Slot.starts_at)))
        assert last is not None and last <= NOW + timedelta(days=29)


def test_generation_is_idempotent(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        scheduling.refresh_slots(session=s, settings=db_settings, now=NOW)
        count = s.scalar(select(func.count()).select_from(Slot))
    with sessions.begin() as s:
        again = scheduling.refresh_slots(session=s, settings=db_settings, now=NOW)
        assert (again.created, again.withdrawn) == (0, 0)
        scheduling.ensure_slots(session=s, settings=db_settings, now=NOW)
        assert s.scalar(select(func.count()).select_from(Slot)) == count
    # A day later only the new day at the end of the horizon is added.
    with sessions.begin() as s:
        later = scheduling.refresh_slots(
            session=s, settings=db_settings, now=NOW + timedelta(days=1)
        )
        assert later.withdrawn == 0


def test_past_slots_are_never_offered(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    late_morning = utc(2026, 12, 1, 7, 40)  # 8:40 in Rome
    cut_off = late_morning + timedelta(hours=db_settings.desk_cancel_notice_hours)
    with sessions.begin() as s:
        offers = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=late_morning, limit=20
        )
        # Nothing in the past, nor so soon that the person could no longer cancel it.
        assert offers and all(o.starts_at >= cut_off for o in offers)
        assert offers[0].starts_at == utc(2026, 12, 1, 10, 0)  # 11:00 Rome: 10:40 is the cut-off
        assert offers[0].local_start.hour == 11
        assert "martedì 1 dicembre 2026 alle 11:00" in offers[0].label
        # `after` pushes the window further; never before `now` even if `after` is earlier.
        later = scheduling.offer_slots(
            "fiscale",
            session=s,
            settings=db_settings,
            now=late_morning,
            after=utc(2026, 12, 5),
            limit=3,
        )
        assert all(o.starts_at > utc(2026, 12, 5) for o in later)
        earlier = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=late_morning, after=utc(2026, 1, 1)
        )
        assert all(o.starts_at >= cut_off for o in earlier)


def test_exceptions_remove_days(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        scheduling.refresh_slots(session=s, settings=db_settings, now=NOW)
        assert starts(s, world.fiscal, date(2026, 12, 7), date(2026, 12, 8))
        # Holiday for everybody on 8 Dec, absence of one expert on 7 Dec.
        scheduling.add_exception(
            session=s,
            settings=db_settings,
            now=NOW,
            first_day=date(2026, 12, 8),
            reason="Immacolata",
        )
        scheduling.add_exception(
            session=s,
            settings=db_settings,
            now=NOW,
            first_day=date(2026, 12, 7),
            expert_id=world.fiscal,
            reason="ferie",
        )
        assert starts(s, world.fiscal, date(2026, 12, 7), date(2026, 12, 8)) == []
        # Desk closure only touches that desk.
        scheduling.add_exception(
            session=s,
            settings=db_settings,
            now=NOW,
            first_day=date(2026, 12, 10),
            last_day=date(2026, 12, 11),
            desk_id=world.sbt,
        )
        assert starts(s, world.volunteers, date(2026, 12, 10), date(2026, 12, 10)) == []
        assert starts(s, world.fiscal, date(2026, 12, 14), date(2026, 12, 14))
        with pytest.raises(SportelloError) as err:
            scheduling.add_exception(
                session=s,
                settings=db_settings,
                first_day=date(2026, 12, 5),
                last_day=date(2026, 12, 4),
                now=NOW,
            )
        assert err.value.code is ErrorCode.INVALID_INPUT


def test_exception_keeps_booked_slot_and_reports_it(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, after=utc(2026, 12, 7))
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        report = scheduling.add_exception(
            session=s,
            settings=db_settings,
            now=NOW,
            first_day=offer.local_start.date(),
            expert_id=offer.expert_id,
            reason="malattia",
        )
        assert booking.id in report.conflicting_booking_ids
        assert report.withdrawn > 0
        assert s.get(Slot, offer.slot_id).withdrawn is False  # type: ignore[union-attr]


def test_spring_forward_in_rome(sessions: sessionmaker[Session], db_settings: Settings) -> None:
    """Sunday 29 March 2026 clocks go 02:00 → 03:00: 9:00 Rome moves from 08:00 to 07:00 UTC."""
    with sessions.begin() as s:
        desk = add_desk(s, "dst")
        expert = add_expert(s, "dst", ["runts"])
        add_rule(s, expert, desk, 6, "09:00", "11:00", 60)  # Sunday mornings
        night = add_expert(s, "night", ["runts"])
        add_rule(s, night, desk, 6, "01:30", "03:30", 30)  # crosses the missing hour
        scheduling.refresh_slots(session=s, settings=db_settings, now=utc(2026, 3, 20))
        assert starts(s, expert.id, date(2026, 3, 22), date(2026, 4, 5)) == [
            "03-22 08:00",
            "03-22 09:00",  # CET, UTC+1
            "03-29 07:00",
            "03-29 08:00",  # CEST, UTC+2
            "04-05 07:00",
            "04-05 08:00",
        ]
        # 22 March: 01:30, 02:00, 02:30, 03:00 exist. 29 March: 02:00–02:59 never happens, so
        # 01:30 (00:30 UTC, lasting its 30 real minutes to what the clock shows as 03:00) and
        # 03:00 (01:00 UTC) remain.
        assert starts(s, night.id, date(2026, 3, 22), date(2026, 3, 22)) == [
            "03-22 00:30",
            "03-22 01:00",
            "03-22 01:30",
            "03-22 02:00",
        ]
        night_29 = starts(s, night.id, date(2026, 3, 28), date(2026, 3, 29))
        assert night_29 == ["03-29 00:30", "03-29 01:00"]
        for slot in s.scalars(select(Slot).where(Slot.expert_id == expert.id)):
            assert slot.ends_at - slot.starts_at == timedelta(hours=1)
        for slot in s.scalars(select(Slot).where(Slot.expert_id == night.id)):
            assert slot.ends_at - slot.starts_at == timedelta(minutes=30)


def test_fall_back_in_rome(sessions: sessionmaker[Session], db_settings: Settings) -> None:
    """Sunday 25 October 2026 clocks go 03:00 → 02:00: 9:00 Rome moves from 07:00 to 08:00 UTC."""
    with sessions.begin() as s:
        desk = add_desk(s, "dst")
        expert = add_expert(s, "dst", ["runts"])
        add_rule(s, expert, desk, 6, "09:00", "10:00", 60)
        night = add_expert(s, "night", ["runts"])
        add_rule(s, night, desk, 6, "02:00", "03:00", 30)  # the repeated hour
        scheduling.refresh_slots(session=s, settings=db_settings, now=utc(2026, 10, 15))
        assert starts(s, expert.id, date(2026, 10, 18), date(2026, 11, 1)) == [
            "10-18 07:00",
            "10-25 08:00",
            "11-01 08:00",
        ]
        # Repeated wall times take their first occurrence (still CEST): no duplicates.
        assert starts(s, night.id, date(2026, 10, 25), date(2026, 10, 25)) == [
            "10-25 00:00",
            "10-25 00:30",
        ]
        # Each lasts 30 real minutes: 02:30 CEST does not run to 03:00 CET (90 minutes).
        for slot in s.scalars(select(Slot).where(Slot.expert_id == night.id)):
            assert slot.ends_at - slot.starts_at == timedelta(minutes=30)


def test_offers_are_spread_over_desks(
    sessions: sessionmaker[Session], db_settings: Settings
) -> None:
    with sessions.begin() as s:
        a, b, c = add_desk(s, "a"), add_desk(s, "b"), add_desk(s, "c")
        busy = add_expert(s, "busy", ["bilancio"])
        for weekday in range(5):
            add_rule(s, busy, a, weekday, "08:00", "18:00", 30)  # desk a: plenty, earliest
        add_rule(s, add_expert(s, "b", ["bilancio"]), b, 3, "09:00", "10:00")
        add_rule(s, add_expert(s, "c", ["bilancio"]), c, 4, "09:00", "10:00")
        offers = scheduling.offer_slots(
            "bilancio", session=s, settings=db_settings, now=NOW, limit=3
        )
        assert sorted(o.desk_id for o in offers) == sorted([a.id, b.id, c.id])
        assert [o.starts_at for o in offers] == sorted(o.starts_at for o in offers)
        assert offers[0].desk_id == a.id  # the earliest still comes first
        six = scheduling.offer_slots("bilancio", session=s, settings=db_settings, now=NOW, limit=6)
        assert [o.desk_id for o in six].count(a.id) == 2


def test_topic_matching(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        fiscal = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=NOW, limit=50
        )
        assert {o.expert_id for o in fiscal} == {world.fiscal, world.fiscal_online}
        assert {o.desk_id for o in fiscal} == {world.ascoli, world.online}
        budget = scheduling.offer_slots(
            "bilancio", session=s, settings=db_settings, now=NOW, limit=50
        )
        assert {o.expert_id for o in budget} == {world.fiscal}
        volunteers = scheduling.offer_slots(
            "volontari", session=s, settings=db_settings, now=NOW, limit=50
        )
        assert {o.expert_id for o in volunteers} == {world.volunteers}
        only_one = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=NOW, expert_id=world.fiscal_online
        )
        assert {o.expert_id for o in only_one} == {world.fiscal_online}
        # Nobody covers crowdfunding: the general help-desk experts take it.
        crowd = scheduling.offer_slots("crowdfunding", session=s, settings=db_settings, now=NOW)
        assert {o.expert_id for o in crowd} == {world.general}
        assert [e.id for e in scheduling.experts_for_topic("crowdfunding", session=s)] == [
            world.general
        ]
        with pytest.raises(SportelloError) as err:
            scheduling.offer_slots("astrologia", session=s, settings=db_settings, now=NOW)
        assert err.value.code is ErrorCode.INVALID_INPUT
        assert "Tema sconosciuto" in err.value.detail


def test_taken_and_inactive_slots_are_not_offered(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings, topic="bilancio")
        offer = first_offer(s, db_settings, topic="bilancio")
        scheduling.book(ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
        again = scheduling.offer_slots(
            "bilancio", session=s, settings=db_settings, now=NOW, limit=50
        )
        assert offer.slot_id not in {o.slot_id for o in again}
        # An inactive expert's slots disappear (the general desk takes over the topic).
        s.get(Expert, world.fiscal).active = False  # type: ignore[union-attr]
        s.flush()
        left = scheduling.offer_slots("bilancio", session=s, settings=db_settings, now=NOW)
        assert left and {o.expert_id for o in left} == {world.general}
