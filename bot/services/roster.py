"""The staff roster: bootstrap from the TOML file, and the `staff` command's changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import ROLES, StaffEntry
from bot.domain.chain import insertion_order
from storage.models import Staff
from storage.uow import UnitOfWork


class RosterError(ValueError):
    """A roster change that cannot be made, worded for the operator."""


@dataclass(frozen=True)
class StaffInfo:
    """A roster line as shown to operators."""

    telegram_id: int
    name: str
    role: str
    supervisor: int | None
    categories: tuple[str, ...]
    areas: tuple[str, ...]
    active: bool


def _info(s: Staff) -> StaffInfo:
    return StaffInfo(s.id, s.name, s.role, s.supervisor_id, tuple(s.categories or ()),
                     tuple(s.areas or ()), s.active)


async def bootstrap(uow: UnitOfWork, clock: Clock, entries: Iterable[StaffEntry]) -> int:
    """Insert the TOML roster entries that are not in the database yet; returns how many.

    Existing rows are left alone: once someone is on the roster, `complaint-bot staff` and
    /staff manage them, and a restart must not undo those changes. Raises ChainError (a
    configuration mistake) when a supervisor names nobody or the supervisors form a cycle.
    """
    entries = list(entries)
    known = {s.id for s in await uow.repos.staff.all()}
    added = 0
    # Supervisors before the people under them, at any depth and in any file order, so the
    # foreign key to them holds.
    for i in insertion_order([(e.telegram_id, e.supervisor) for e in entries], known):
        e = entries[i]
        if e.telegram_id not in known:
            uow.repos.staff.add(Staff(id=e.telegram_id, name=e.name, role=e.role,
                                      supervisor_id=e.supervisor, categories=list(e.categories),
                                      areas=list(e.areas), email=e.email, active=True,
                                      created_at=clock.now()))
            await uow.session.flush()
            added += 1
    return added


async def add(uow: UnitOfWork, clock: Clock, telegram_id: int, name: str, role: str = "steward",
              supervisor: int | None = None, categories: Iterable[str] = (),
              areas: Iterable[str] = ()) -> StaffInfo:
    """Add someone to the roster (or reactivate and update them)."""
    _check_role(role)
    if not name.strip():
        raise RosterError("a name is required")
    if supervisor is not None:
        if supervisor == telegram_id:
            raise RosterError("nobody can be their own supervisor")
        if await uow.repos.staff.get(supervisor) is None:
            raise RosterError(f"supervisor {supervisor} is not on the roster")
        if await _reports_to(uow, supervisor, telegram_id):
            raise RosterError(f"{supervisor} already reports to {telegram_id}: that would make "
                              "the supervisors a cycle")
    s = await uow.repos.staff.get(telegram_id)
    if s is None:
        s = uow.repos.staff.add(Staff(id=telegram_id, created_at=clock.now()))
    s.name, s.role, s.supervisor_id, s.active = name.strip(), role, supervisor, True
    s.categories, s.areas = list(categories), list(areas)
    return _info(s)


async def listing(uow: UnitOfWork) -> list[StaffInfo]:
    """Everyone on the roster, active or not."""
    return [_info(s) for s in await uow.repos.staff.all()]


async def remove(uow: UnitOfWork, telegram_id: int) -> StaffInfo:
    """Deactivate someone: they can no longer act, and their history stays."""
    s = await _get(uow, telegram_id)
    s.active = False
    return _info(s)


async def set_role(uow: UnitOfWork, telegram_id: int, role: str) -> StaffInfo:
    """Change someone's role."""
    _check_role(role)
    s = await _get(uow, telegram_id)
    s.role = role
    return _info(s)


async def _get(uow: UnitOfWork, telegram_id: int) -> Staff:
    s = await uow.repos.staff.get(telegram_id)
    if s is None:
        raise RosterError(f"{telegram_id} is not on the roster")
    return s


async def _reports_to(uow: UnitOfWork, person: int, boss: int) -> bool:
    """True when `boss` is somewhere above `person` in the supervisor chain."""
    seen: set[int] = set()
    s = await uow.repos.staff.get(person)
    while s is not None and s.supervisor_id is not None and s.id not in seen:
        if s.supervisor_id == boss:
            return True
        seen.add(s.id)
        s = await uow.repos.staff.get(s.supervisor_id)
    return False


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise RosterError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
