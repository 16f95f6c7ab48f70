"""Artifact stores: where a search keeps trial weights, curve records and (Ray) checkpoints, named by one URL.

A store URL is a folder (a filesystem every process that writes or reads it mounts at the same path) or
``s3://bucket/prefix`` (Optuna's ``Boto3ArtifactStore``; credentials, region and endpoint come from the
environment as boto3 reads them: ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL_S3``, ...). A search
records its store's URL in the study (``optnas`` user attribute, key ``artifacts``), so export, report,
``optnas.results`` and the dashboard find the artifacts from the storage URL alone (docs/storage.md).

Which store a new search uses (`choose`): ``--artifacts`` (or ``artifacts:`` in the space file); else, for a
journal file or a SQLite database, ``artifacts/`` beside that file; a network database (PostgreSQL, MySQL)
names none: other machines may share it but not this machine's disk, so the search is refused unless the
user passes a store, or ``local`` (``./optnas-runs/artifacts``) to say every process runs on this machine.

Example:
    >>> store = open_store("/tmp/optnas-doctest/artifacts")
    >>> store.url, store.remote
    ('/tmp/optnas-doctest/artifacts', False)
    >>> choose("postgresql://db/optnas", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: --storage 'postgresql://db/optnas' is a database ... --artifacts local ...
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound

from ..errors import StorageWriteError, UsageError
from . import urls
from .urls import DEFAULT_DIR, hide_password, url_scheme

LOCAL = "local"  # the keyword for ./optnas-runs/artifacts: every process of the search runs on this machine
DEFAULT_FOLDER = DEFAULT_DIR / "artifacts"
READ_THREADS = 16  # concurrent reads of a remote store (`prefetch`): one round trip each


class ArtifactStoreError(UsageError):
    """A store that cannot be reached or read (no bucket, bad credentials, a folder not mounted here)."""


class ArtifactWriteError(Exception):
    """A write to a remote store failed mid-search: the trial fails with this reason and the search goes on."""


class Store:
    """An opened store: its URL and the Optuna ``ArtifactStore`` behind it (`open_store` makes and caches them)."""

    def __init__(self, url: str, store: Any, *, remote: bool, errors: tuple[type[Exception], ...]) -> None:
        self.url, self.store, self.remote = url, store, remote
        self._errors = errors  # what the backend raises for an unreachable or refusing store
        self._failures: tuple[type[Exception], ...] = (OSError, *errors)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def read(self, artifact_id: str) -> bytes | None:
        """The artifact's bytes, None when the store holds no such artifact.

        Raises `ArtifactStoreError` when the store itself cannot be read: an unreachable store never reads
        as "no artifact" (a study's curves would silently vanish)."""
        return _read_cached(self, artifact_id)

    def _read(self, artifact_id: str) -> bytes | None:
        if not self.remote and not os.path.isdir(self.url):
            raise ArtifactStoreError(
                f"artifact folder {self.url} does not exist on this machine (not mounted here, or moved)")
        try:
            with self.store.open_reader(artifact_id) as f:
                return bytes(f.read())
        except ArtifactNotFound:
            return None
        except FileNotFoundError:
            return None
        except ValueError:  # an id that is no artifact id (an absolute path, '..'): nothing of the store's
            return None
        except self._failures as exc:
            raise ArtifactStoreError(f"artifact store {self.url} cannot be read: {_first_line(exc)}") from None

    def prefetch(self, artifact_ids: Iterable[str]) -> None:
        """Read ``artifact_ids`` into the cache, concurrently for a remote store (one round trip each)."""
        ids = list(dict.fromkeys(artifact_ids))
        if not self.remote or len(ids) < 2:
            return
        with ThreadPoolExecutor(min(READ_THREADS, len(ids)), thread_name_prefix="optnas-artifacts") as pool:
            list(pool.map(self.read, ids))

    def upload(self, path: str, trial: Any, storage: Any) -> str:
        """Store the file ``path`` as an artifact of ``trial`` (Optuna's ``upload_artifact``); its id.

        A folder that cannot be written (a full disk) raises `StorageWriteError`: every later trial would fail
        alike, so the search stops (exit 2, ``--resume`` later). A remote store's failure raises
        `ArtifactWriteError`: the trial fails with the reason and the search goes on."""
        try:
            if not self.remote:
                os.makedirs(self.url, exist_ok=True)
            return upload_artifact(artifact_store=self.store, file_path=path, study_or_trial=trial, storage=storage)
        except OSError as exc:
            if self.remote:
                raise ArtifactWriteError(f"artifact store {self.url}: {_first_line(exc)}") from None
            raise StorageWriteError(self.url, exc) from None
        except self._errors as exc:
            raise ArtifactWriteError(f"artifact store {self.url}: {_first_line(exc)}") from None

    def probe(self, flag: str = "--artifacts") -> None:
        """Write and delete a small object: a store that cannot be written is one `UsageError` (before any trial)."""
        key = f".optnas-probe-{uuid.uuid4().hex}"
        try:
            if not self.remote:
                os.makedirs(self.url, exist_ok=True)
            self.store.write(key, io.BytesIO(b"optnas probe"))
            self.store.remove(key)
        except self._failures as exc:
            raise UsageError(f"{flag} {self.url!r} cannot be written: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


@lru_cache(maxsize=65536)  # artifacts never change once written: the dominance rule reads them every epoch
def _read_cached(store: Store, artifact_id: str) -> bytes | None:
    return store._read(artifact_id)


# -- opening a store from its URL: one opener per scheme ---------------------------------------------------
class _Prefixed:
    """An Optuna ``ArtifactStore`` whose keys live under ``prefix/`` of another (Boto3ArtifactStore has none)."""

    def __init__(self, inner: Any, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix

    def _key(self, artifact_id: str) -> str:
        return f"{self.prefix}/{artifact_id}" if self.prefix else artifact_id

    def open_reader(self, artifact_id: str) -> Any:
        return self.inner.open_reader(self._key(artifact_id))

    def write(self, artifact_id: str, content_body: Any) -> None:
        self.inner.write(self._key(artifact_id), content_body)

    def remove(self, artifact_id: str) -> None:
        self.inner.remove(self._key(artifact_id))


def _s3(url: str) -> Store:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
        from optuna.artifacts import Boto3ArtifactStore
    except ImportError:
        raise UsageError(f"--artifacts {url!r}: s3:// stores need boto3: pip install 'optnas[s3]'") from None
    bucket, _, prefix = url[len("s3://"):].partition("/")
    # a session of its own: the environment as it is now (boto3's default session keeps the first credentials
    # it found); a short connect timeout: an unreachable endpoint is reported in seconds, not minutes
    client = boto3.session.Session().client("s3", config=Config(connect_timeout=10))
    return Store(url, _Prefixed(Boto3ArtifactStore(bucket, client=client), prefix.strip("/")), remote=True,
                 errors=(BotoCoreError, ClientError))


OPENERS: dict[str, Callable[[str], Store]] = {"s3": _s3}


@lru_cache(maxsize=64)
def open_store(url: str) -> Store:
    """The store a URL names (a folder path, or ``s3://bucket/prefix``); opened once per process.

    Example:
        >>> open_store("gs://bucket")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --artifacts 'gs://bucket': unknown scheme 'gs'; use a folder or s3://BUCKET/PREFIX
    """
    url = normalize(url)
    scheme = url_scheme(url)
    if scheme:
        return OPENERS[scheme](url)
    return Store(url, FileSystemArtifactStore(url), remote=False, errors=())


def normalize(url: str, *, flag: str = "--artifacts", base: Path | None = None) -> str:
    """A store URL as recorded: an absolute folder (``local``: ``./optnas-runs/artifacts``; a relative folder
    is relative to ``base``, default the working directory), or ``s3://bucket/prefix`` without a trailing slash.
    """
    text = str(url).strip()
    if not text:
        raise UsageError(f"{flag} is empty; use a folder, s3://BUCKET/PREFIX or {LOCAL}")
    if text == LOCAL:
        return str(DEFAULT_FOLDER.resolve())
    scheme = url_scheme(text)
    if scheme is None:
        return str(((base or Path.cwd()) / Path(text).expanduser()).resolve())
    rest = text.split("://", 1)[1]
    shown = hide_password(text)[:200]  # a database URL given here by mistake carries its password
    if scheme not in OPENERS:
        valid = " or ".join(f"{s}://BUCKET/PREFIX" for s in OPENERS)
        raise UsageError(f"{flag} {shown!r}: unknown scheme {scheme!r}; use a folder or {valid}")
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise UsageError(f"{flag} {shown!r} names no bucket; use {scheme}://BUCKET/PREFIX")
    return f"{scheme}://{rest.rstrip('/')}"


# -- which store a search uses, and which a stored study used ----------------------------------------------
def beside(storage: str) -> Path | None:
    """``artifacts/`` beside a journal file or a SQLite database; None for a network database."""
    path = urls.local_file(storage)
    return None if path is None else path.resolve().parent / "artifacts"


def choose(storage: str, given: str | None, *, recorded: str | None = None, base: Path | None = None,
           flag: str = "--artifacts") -> str:
    """The store URL of a search on ``storage``: ``recorded`` (a resumed study's), else ``given``, else the default.

    A resumed study keeps its store: a different ``given`` one is refused. A network database with none given
    is refused, saying what to pass."""
    wanted = normalize(given, flag=flag, base=base) if given else None
    if recorded is not None:
        if wanted is not None and wanted != recorded:
            raise UsageError(
                f"{flag} {wanted!r}: the study keeps its artifacts in {recorded!r} (a study has one store); "
                f"leave {flag} out to continue there")
        return recorded
    if wanted is not None:
        return wanted
    folder = beside(storage)
    if folder is None:
        shown = hide_password(storage)
        raise UsageError(
            f"--storage {shown!r} is a database other machines can share, but trial weights and curves would stay "
            f"on this machine's disk: pass {flag} s3://BUCKET/PREFIX or a folder every machine mounts, or "
            f"{flag} {LOCAL} if every process of the search runs on this machine")
    return str(folder)


def recorded(meta: Any) -> str | None:
    """The store URL a study recorded: ``artifacts``, or the ``artifact_dir`` folder of older studies."""
    if not isinstance(meta, dict):
        return None
    for key in ("artifacts", "artifact_dir"):
        if isinstance(meta.get(key), str) and meta[key]:
            return str(meta[key])
    return None


def of_study(meta: Any, storage: str | None = None) -> Store | None:
    """The store of a study with ``optnas`` record ``meta`` in ``storage`` (None: a study that names none).

    A recorded folder that is gone, for a study whose journal (or SQLite file) holds ``artifacts/`` beside it,
    reads from there: a run folder moved or copied as a whole keeps its artifacts."""
    url = recorded(meta)
    near = beside(storage) if storage else None
    if url is None:
        return open_store(str(near)) if near is not None and near.is_dir() else None
    if url_scheme(url) is None and not os.path.isdir(url) and near is not None and near.is_dir():
        return open_store(str(near))
    return open_store(url)


def checkpoint_root(store: str, storage: str) -> str | None:
    """Where Ray keeps a search's experiments (trial checkpoints) for the store ``store``: ``ray/`` inside a
    folder store named by the user (every node mounts it), else None: the caller's default (``ray/`` beside
    the journal, ``./optnas-runs/ray``, or ``OPTNAS_RAY_STORAGE``, which an s3:// store needs on a cluster)."""
    if url_scheme(store) or store in (str(DEFAULT_FOLDER.resolve()), str(beside(storage))):
        return None
    return str(Path(store) / "ray")
