"""The pools' connection check: replace a connection cut under the pool before lending it.

After a PostgreSQL restart (or failover, or an idle connection killed by the server)
every idle pooled connection is dead; without a check each one fails the first call
that borrows it. psycopg_pool's ``check_connection`` finds them, but with one extra
round trip on every borrow (measured in docs/deploy.md: borrows/s x0.56).

:func:`check_connection` asks the socket first: an idle connection has nothing to read,
so a readable socket means the server sent something (its goodbye, an EOF, a
notification) and only then is psycopg_pool's round-trip check run. A server that
went away cleanly (shutdown, restart, ``pg_terminate_backend``) always closes the socket,
so those connections are replaced at no cost for the healthy ones. A connection silently
lost (no FIN: a cut cable) is not detected by either check before TCP gives up.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def _socket_has_news(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """True when the idle connection's socket is readable or closed (or unusable)."""
    if conn.closed or conn.broken:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), _READABLE)
    return bool(poller.poll(0))


async def check_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    """``check`` of an :class:`AsyncConnectionPool`: raise if ``conn`` is no longer usable."""
    if _socket_has_news(conn):
        await AsyncConnectionPool.check_connection(conn)


def check_connection_sync(conn: psycopg.Connection[Any]) -> None:
    """``check`` of a (sync) :class:`ConnectionPool`: raise if ``conn`` is no longer usable."""
    if _socket_has_news(conn):
        ConnectionPool.check_connection(conn)


__all__ = ["check_connection", "check_connection_sync"]
