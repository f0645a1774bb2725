"""The default registry: a directory of small JSON files, shared by the processes of one machine.

Nothing to install and nothing to run: each node is one file,
``<dir>/<service>/<node id>.json``, holding the service with just that node and the
absolute time it ``expires``. Files are replaced atomically, so a reader sees an old
or a new registration, never half of one; a node whose process died (even by SIGKILL)
stops being renewed and is dropped by the first reader after its expiry; the temporary
file of a writer killed mid-write goes the same way after a minute.

Reading is a handful of ``stat`` calls plus a read of each file that changed since
this instance last looked, so the poll that feeds watchers stays cheap; the selector
caches what it learns, so no call pays for any of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote

import msgspec

from micro_core.registry import Watchers, list_versions, split_nodes
from micro_core.registry.base import (
    DEFAULT_TTL,
    Event,
    EventType,
    Registry,
    RegistryUnavailable,
    ServiceNotFound,
    Watcher,
)
from micro_core.registry.model import Service, merge_services

log = logging.getLogger(__name__)

_SUFFIX = ".json"
_TEMP_PREFIX = ".tmp-"
#: Seconds after which a temporary file is a leftover of a writer killed mid-write (a write
#: takes microseconds); readers remove it.
_STALE_TEMP_AGE = 60.0
#: Bytes beyond which a file is no registration (one node with hundreds of endpoints is far less).
_MAX_FILE_SIZE = 1 << 20


class _Record(msgspec.Struct):
    """The content of one file: a service with exactly one node, and its wall-clock expiry."""

    service: Service
    expires: float


#: What identifies one version of a file without reading it; ``os.replace`` gives a new inode.
_FileKey = tuple[int, int, int]


def default_directory() -> Path:
    """Where registrations live when no address is given: private to the user, cleared on reboot."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "micro" / "registry"
    return Path(tempfile.gettempdir()) / f"micro-{os.getuid()}" / "registry"


def filename(name: str) -> str:
    """``name`` as one path component: percent-encoded, never hidden, never ``.`` or ``..``."""
    safe = quote(name, safe="")
    return "%2E" + safe[1:] if safe.startswith(".") else safe


class LocalRegistry(Registry):
    """Service discovery through a directory that every process of the user can read and write."""

    name = "local"

    def __init__(self, address: str = "", *, poll_interval: float = 0.2) -> None:
        self.directory = Path(address) if address else default_directory()
        super().__init__(str(self.directory))
        self._connected = False
        self._files: dict[Path, tuple[_FileKey, _Record | None]] = {}
        self._seen: dict[Path, _Record] = {}
        self._watchers = Watchers(self._poll, poll_interval)

    # --- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        self._make_directory()

    def _make_directory(self) -> None:
        if self._connected:
            return
        try:
            self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.directory.mkdir(mode=0o700, exist_ok=True)
            owner = self.directory.stat().st_uid
        except OSError as exc:
            raise RegistryUnavailable(f"local registry directory {self.address}: {exc}") from exc
        if owner != os.getuid():
            raise RegistryUnavailable(
                f"local registry directory {self.address} belongs to uid {owner}, not to this user"
            )
        self._connected = True

    async def close(self) -> None:
        await self._watchers.close()

    # --- writing -------------------------------------------------------------------------

    def _path(self, service: str, node_id: str) -> Path:
        return self.directory / filename(service) / (filename(node_id) + _SUFFIX)

    async def register(self, service: Service, ttl: float = DEFAULT_TTL) -> None:
        entries = split_nodes(service, ttl)
        self._make_directory()
        expires = time.time() + ttl
        for entry in entries:
            path = self._path(entry.name, entry.nodes[0].id)
            try:
                self._write(path, msgspec.json.encode(_Record(entry, expires)))
            except OSError as exc:
                raise RegistryUnavailable(f"cannot write {path}: {exc}") from exc

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        """Replace ``path`` atomically; retried because a reader may remove an emptied directory."""
        for attempt in range(3):
            try:
                path.parent.mkdir(mode=0o700, exist_ok=True)
                fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            except FileNotFoundError:
                if attempt == 2:
                    raise
                continue
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            return

    async def deregister(self, service: Service) -> None:
        for node in service.nodes:
            self._remove(self._path(service.name, node.id))

    def _remove(self, path: Path, key: _FileKey | None = None) -> None:
        """Unlink ``path`` (only if it is still the version ``key``) and its directory once empty."""
        with contextlib.suppress(FileNotFoundError):
            if key is None or _key(path.lstat()) == key:
                path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    # --- reading -------------------------------------------------------------------------

    async def get_service(self, name: str) -> list[Service]:
        records = self._scan([self.directory / filename(name)]).values() if name else []
        entries = [record.service for record in records]
        if not entries:
            raise ServiceNotFound(f"service {name!r} is not registered", id="micro.registry")
        return merge_services(entries)

    async def list_services(self) -> list[Service]:
        return list_versions([record.service for record in self._scan(self._service_dirs()).values()])

    def _service_dirs(self) -> list[Path]:
        try:
            return sorted(Path(e.path) for e in os.scandir(self.directory) if e.is_dir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RegistryUnavailable(f"cannot list {self.address}: {exc}") from exc

    def _scan(self, service_dirs: list[Path], visited: set[Path] | None = None) -> dict[Path, _Record]:
        """The live records under ``service_dirs`` by file; expired files are removed on the way.

        ``visited`` collects every entry file seen, live or not.
        """
        now = time.time()
        live: dict[Path, _Record] = {}
        for directory in service_dirs:
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise RegistryUnavailable(f"cannot list {directory}: {exc}") from exc
            files = sorted((e for e in entries if _is_entry(e.name)), key=lambda e: e.name)
            for leftover in (e for e in entries if e.name.startswith(_TEMP_PREFIX)):
                _remove_if_stale(Path(leftover.path), now)
            for file in files:
                path = Path(file.path)
                try:
                    status = file.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                key = _key(status)
                if visited is not None:
                    visited.add(path)
                record = self._read(path, key, status.st_mode)
                if record is None:
                    continue
                if record.expires <= now:
                    self._remove(path, key)
                    self._files.pop(path, None)
                    continue
                live[path] = record
        return live

    def _read(self, path: Path, key: _FileKey, mode: int) -> _Record | None:
        """The record in ``path``, read only if the file changed.

        Only a regular file of bounded size is read, so that nothing placed in the
        directory (a FIFO, a link to a device) can block or flood a reader. Anything
        else is garbage: reported once, then removed.
        """
        cached = self._files.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        record: _Record | None = None
        try:
            record = msgspec.json.decode(_read_regular(path, mode, key[2]), type=_Record)
        except FileNotFoundError:
            return None
        except OSError as exc:  # the file may be fine: this reader could not read it
            log.warning("local registry: skipping unreadable file %s: %s", path, exc)
            problem = ""
        except ValueError as exc:  # msgspec.DecodeError included
            problem = str(exc)
        else:
            problem = _foreign(path, record)
        if problem:
            log.warning("local registry: removing %s, which is no registration: %s", path, problem)
            record = None
            self._remove(path, key)
        self._files[path] = (key, record)
        return record

    # --- watching ------------------------------------------------------------------------

    def watch(self, service: str | None = None) -> Watcher:
        if not self._watchers.active:
            self._seen = self._scan(self._service_dirs())  # events are from now on
        return self._watchers.open(service)

    def _poll(self) -> None:
        """Compare the directory with the last look and emit a create, update or delete per node.

        A node whose file is gone once the expiry it last held has passed expired, whoever
        removed the file (this reader's scan or another process's); one gone earlier was
        deregistered. Only a node deregistered within one poll of its expiry would read as
        expired, and a node renewed every ``TTL / 3`` is never that close to it.
        """
        visited: set[Path] = set()
        current = self._scan(self._service_dirs(), visited)
        now = time.time()  # after the scan, which removed the files expired by its own clock
        for path, record in current.items():
            before = self._seen.get(path)
            if before is None:
                self._watchers.emit(Event(EventType.CREATE, record.service))
            elif before.service != record.service:
                self._watchers.emit(Event(EventType.UPDATE, record.service))
        for path in self._seen.keys() - current.keys():
            last = self._seen[path]
            self._watchers.emit(Event(EventType.DELETE, last.service, expired=last.expires <= now))
        self._files = {path: self._files[path] for path in visited & self._files.keys()}
        self._seen = current


def _key(stat: os.stat_result) -> _FileKey:
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _read_regular(path: Path, mode: int, size: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``_MAX_FILE_SIZE`` bytes, else ValueError.

    ``mode`` and ``size`` are from ``lstat``; the file is opened without following a link
    and without blocking, and checked again once open, in case it was replaced meanwhile.
    """
    if not stat.S_ISREG(mode):
        raise ValueError("not a regular file")
    if size > _MAX_FILE_SIZE:
        raise ValueError(f"{size} bytes, more than {_MAX_FILE_SIZE}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        data = file.read(_MAX_FILE_SIZE + 1)
    if len(data) > _MAX_FILE_SIZE:
        raise ValueError(f"more than {_MAX_FILE_SIZE} bytes")
    return data


def _remove_if_stale(temp: Path, now: float) -> None:
    """Remove a temporary file left by a writer that died between writing and renaming it."""
    with contextlib.suppress(OSError):
        if temp.stat().st_mtime < now - _STALE_TEMP_AGE:
            temp.unlink()
            temp.parent.rmdir()  # fails, as it should, while the service has other files


def _is_entry(name: str) -> bool:
    return name.endswith(_SUFFIX) and not name.startswith(".")


def _foreign(path: Path, record: _Record) -> str:
    """Why ``record`` does not belong at ``path`` (empty when it does)."""
    service = record.service
    if len(service.nodes) != 1:
        return f"holds {len(service.nodes)} nodes, not one"
    if unquote(path.parent.name) != service.name:
        return f"holds service {service.name!r}, not {unquote(path.parent.name)!r}"
    if unquote(path.name.removesuffix(_SUFFIX)) != service.nodes[0].id:
        return f"holds node {service.nodes[0].id!r}"
    return ""
