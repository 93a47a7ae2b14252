"""The per-update scope: the unit of work an update's handlers write into."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from storage.uow import UnitOfWork


@dataclass
class UpdateScope:
    """What the inbox worker gives the handlers of one update."""

    uow: UnitOfWork
    error: BaseException | None = None


_current: ContextVar[UpdateScope | None] = ContextVar("update_scope", default=None)


def current_scope() -> UpdateScope:
    """The scope of the update being processed (handlers run only inside one)."""
    scope = _current.get()
    if scope is None:
        raise RuntimeError("no update is being processed (handlers run from the inbox worker)")
    return scope


def scope_or_none() -> UpdateScope | None:
    """The current scope, or None outside update processing."""
    return _current.get()


def current_uow() -> UnitOfWork:
    """The unit of work of the update being processed."""
    return current_scope().uow


def enter(scope: UpdateScope) -> object:
    """Make `scope` current; returns a token for leave()."""
    return _current.set(scope)


def leave(token: object) -> None:
    """Restore the previous scope."""
    _current.reset(token)  # type: ignore[arg-type]
