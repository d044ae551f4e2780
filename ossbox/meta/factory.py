"""Opening the metadata store a URL names: `sqlite:///path/meta.sqlite3` (or nothing: the data directory's
own SQLite file) or `postgresql://user:password@host:port/database`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from ossbox.core.errors import MetaUnavailable
from ossbox.meta.names import PG_SHARED_FILE, SQLITE_FILE
from ossbox.meta.pg import redact
from ossbox.meta.sql_store import SchemaTooNew, SqlMeta

META_URL_ENV = "OSSBOX_META_URL"
__all__ = ["META_URL_ENV", "PG_SHARED_FILE", "SQLITE_FILE", "MetaConfigError", "open_meta_store"]


class MetaConfigError(Exception):
    """The metadata store cannot be used as configured; the message says why, without secrets."""


def sqlite_path(url: str, data_dir: Path) -> Path | None:
    """The SQLite file `url` names (the data directory's own for an empty URL); None for another engine."""
    if not url:
        return data_dir / SQLITE_FILE
    if url.startswith("sqlite://"):
        path = urlsplit(url).path
        if not path:
            raise MetaConfigError(f"no path in metadata URL {url!r} (expected sqlite:///path/meta.sqlite3)")
        return Path(path)
    return None


def shared_state_path(url: str, data_dir: Path) -> Path:
    """The file of state shared by this node's processes (ossbox.meta.shared_state) for this store."""
    path = sqlite_path(url, data_dir)
    return data_dir / PG_SHARED_FILE if path is None else path.with_name(path.name + ".shared")


def open_meta_store(url: str, data_dir: Path) -> SqlMeta:
    path = sqlite_path(url, data_dir)
    try:
        if path is not None:
            from ossbox.meta.sqlite import SqliteMeta

            return SqliteMeta(path)
        if url.startswith(("postgresql://", "postgres://")):
            from ossbox.meta.postgres import PostgresMeta

            return PostgresMeta(url, data_dir)
    except SchemaTooNew as exc:
        raise MetaConfigError(str(exc)) from None
    except MetaUnavailable as exc:
        cause = exc.__cause__
        reason = str(cause).strip().splitlines()[0] if cause is not None else "no answer"
        raise MetaConfigError(f"cannot reach the metadata database at {redact(url)}: {reason}") from None
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise MetaConfigError(f"the metadata database at {redact(url)} refused ossbox: {reason}") from None
    raise MetaConfigError(
        f"unsupported metadata URL {redact(url)!r}: expected postgresql://... or sqlite:///path/meta.sqlite3"
    )
