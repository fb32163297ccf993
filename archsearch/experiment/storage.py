"""Where a study lives: Optuna's RDB storage, made safe for several workers, and its artifacts.

SQLite under ``runs/`` by default (one file per study), or any RDB URL (PostgreSQL when
several machines share the work). Two things Optuna leaves to us: SQLite ignores the row
locks Optuna relies on to hand a waiting trial to one worker (`_serialize_sqlite` takes the
database's write lock instead), and workers that open a fresh database together race to
create its tables (`_rdb_storage` retries). Each study keeps its run records in a folder
artifact store beside its runs (`artifact_store`).
"""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.engine
import sqlalchemy.event
import sqlalchemy.exc
from optuna.artifacts import FileSystemArtifactStore
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from archsearch.errors import ConfigError

HEARTBEAT_SECONDS = 10


def sqlite_file(study_name: str, root: Path = Path("runs")) -> Path:
    """Where a study lives by default: one SQLite file per study under ``root``."""
    return root / f"{study_name}.db"


def open_study(
    study_name: str,
    storage: str | None,
    root: Path = Path("runs"),
    heartbeat: int = HEARTBEAT_SECONDS,
    create: bool = True,
    **options: Any,
) -> optuna.Study:
    """The study ``study_name`` at ``storage`` (SQLite under ``root`` by default).

    ``options`` go to `optuna.create_study` (a tuner's sampler, pruner and directions).
    ``create`` False opens only a study that exists (`ConfigError` otherwise), and creates
    no file: what the commands that only read a study use.

    A running trial beats every ``heartbeat`` seconds; one silent for three beats belongs
    to a dead worker: it is failed and enqueued again (up to 3 times), and resumes from its
    checkpoint.
    """
    url = storage or f"sqlite:///{sqlite_file(study_name, root)}"
    sqlite = url.startswith("sqlite")
    if sqlite and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file() or path.stat().st_size == 0:
            raise ConfigError(f"no study {study_name!r}: no database at {path}")
    if storage is None:
        root.mkdir(parents=True, exist_ok=True)
    # Several worker processes share one SQLite file: wait for its lock instead of failing;
    # the driver's own transactions are turned off, for `_serialize_sqlite` to begin them.
    engine = {"connect_args": {"timeout": 60, "isolation_level": None}} if sqlite else {}
    # The heartbeat and stale-trial API is marked experimental; we depend on it knowingly.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        rdb = _rdb_storage(url, engine, heartbeat)
        if sqlite:
            _serialize_sqlite(rdb.engine)
        if not create:
            return optuna.load_study(study_name=study_name, storage=rdb)
        return optuna.create_study(
            study_name=study_name, storage=rdb, load_if_exists=True, **options
        )
    except KeyError:  # optuna's answer for a study the storage does not hold
        raise ConfigError(f"{url}: holds no study {study_name!r}") from None
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.DatabaseError) as error:
        reason = " ".join(str(error.orig if hasattr(error, "orig") else error).split())[:120]
        raise ConfigError(f"{url}: not a study database ({reason})") from None


def _rdb_storage(url: str, engine: dict[str, Any], heartbeat: int, tries: int = 5) -> RDBStorage:
    """Optuna's RDB storage at ``url``, surviving a race of workers on a fresh database.

    Workers that first open an empty database together all create Optuna's tables; the
    losers fail on a duplicate type or table (PostgreSQL: integrity or programming error;
    SQLite: operational error), and find the schema on a retry.
    """
    storage = functools.partial(
        RDBStorage,
        url,
        engine_kwargs=engine,
        heartbeat_interval=heartbeat,
        grace_period=3 * heartbeat,
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
    )
    for attempt in range(1, tries):
        try:
            return storage()
        except (
            sqlalchemy.exc.IntegrityError,
            sqlalchemy.exc.ProgrammingError,
            sqlalchemy.exc.OperationalError,
        ):
            time.sleep(0.5 * attempt)
    return storage()


def _serialize_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """Make every transaction on the SQLite ``engine`` take the database's write lock first.

    Optuna pops a waiting trial by reading its state and then setting it running, and
    relies on ``SELECT ... FOR UPDATE`` to stop two workers popping the same trial. SQLite
    ignores that clause, and Python's driver starts a transaction only at the first write,
    so two workers could both read "waiting" and both run the trial (the slower one then
    fails with "Cannot tell a COMPLETE trial"). Beginning with ``BEGIN IMMEDIATE`` makes
    each read-then-write atomic; the other workers wait for the lock (up to the
    connection's timeout). PostgreSQL locks the row itself.
    """

    def begin_immediate(connection: sqlalchemy.engine.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    sqlalchemy.event.listen(engine, "begin", begin_immediate)


def artifact_store(root: Path, study_name: str) -> FileSystemArtifactStore:
    """The study's artifact store: a folder beside its runs, ``root/<study>/artifacts``."""
    path = root / study_name / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(path))
