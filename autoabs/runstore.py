"""The run store: run directories, manifests, chunk checkpoints and the hash-chained ledger.

A run directory holds the run's results and ``manifest.json``, laid out by
:mod:`simulation.run.directory`. Its parent directory is the *runs root*: every finished run
appends one entry to ``<root>/ledger.jsonl`` naming the run, the sha256 of every file in it,
and the hash of the previous entry, so editing a result, removing a run or rewriting history
breaks either a file hash or the chain. :func:`verify` re-hashes everything. See
``docs/runstore.md``.

While a run is in progress it holds an exclusive OS lock on ``<run>/.run.lock``
(:func:`run_lock`), so a second run into the same directory is refused, and its finished chunks
are checkpointed under ``<run>/.chunks/`` (one ``.npz`` per chunk, written atomically) after
``plan.json``, the fingerprint of the run's inputs and options; ``--resume`` continues from
them and refuses a changed configuration or chunk files that are not the plan's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from portfolio._io import atomic_write, sha256_file, write_json
from portfolio.errors import InputError, Problem
from simulation.run import ChunkResult
from simulation.run.directory import MANIFEST

__all__ = [
    "CHUNK_DIR",
    "LEDGER",
    "LEDGER_HEAD",
    "RUN_LOCK",
    "DirChunkStore",
    "VerifyReport",
    "append_ledger",
    "canonical_json",
    "package_versions",
    "prepare_run_dir",
    "run_files",
    "run_lock",
    "sha256_file",
    "verify",
]

LEDGER = "ledger.jsonl"
LEDGER_HEAD = "ledger.head"
"""The chain head: ``<seq> <hash>`` of the last ledger entry, rewritten with every append."""
CHUNK_DIR = ".chunks"
PLAN = "plan.json"
RUN_LOCK = ".run.lock"
"""Lock file of a run in progress (holds the running process's pid; removed when it ends)."""
_CHUNK_NAME = re.compile(r"chunk-(\d{10})-(\d+)\.npz")
_HOLDER_BYTES = 200
GENESIS = "0" * 64
"""``prev`` of the first ledger entry."""

_PACKAGES = ("autoabs", "numpy", "numba", "llvmlite", "scipy", "pandas", "pyarrow", "pydantic",
             "pyyaml", "matplotlib", "rich", "dask", "distributed")


def canonical_json(data: Any) -> str:
    """Key-sorted, compact JSON: the form that is hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def sha256_json(data: Any) -> str:
    """Hex sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Python and the installed versions of the packages a run depends on (None if absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def utc_now() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _is_bookkeeping(rel: Path) -> bool:
    """Checkpoints, temp files and the run lock: not results, never hashed."""
    return rel.parts[0] == CHUNK_DIR or rel.as_posix() == RUN_LOCK or _is_temporary(rel)


def run_files(run_dir: Path) -> dict[str, str]:
    """sha256 of every file of a run (relative POSIX paths), checkpoints and temp files excluded."""
    out: dict[str, str] = {}
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if not path.is_file() or _is_bookkeeping(rel):
            continue
        out[rel.as_posix()] = sha256_file(path)
    return out


def _leftovers(run_dir: Path) -> list[str]:
    """Relative paths of bookkeeping a finished run should not hold (checkpoints, temp files)."""
    return sorted(path.relative_to(run_dir).as_posix() for path in run_dir.rglob("*")
                  if path.is_file() and _is_bookkeeping(path.relative_to(run_dir))
                  and path.name != RUN_LOCK)


def _remove_temporaries(run_dir: Path) -> None:
    """Delete the ``.*.tmp`` files an interrupted writer left anywhere in ``run_dir``."""
    for path in run_dir.rglob(".*.tmp"):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``run_dir/.run.lock`` while the block runs.

    The lock is taken without waiting: when another process holds it, the run is refused with
    an :class:`InputError` naming that process (pid, host, start time, from the lock file).
    The kernel drops the lock when the holder dies, so a killed run never blocks a resume. The
    lock file is removed on exit; a process that locked a file just removed by its holder sees
    the inode change and locks the new file instead.

    Raises
    ------
    InputError
        (``--out``) when ``run_dir`` is a file or another run holds the lock.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(str(run_dir), Problem(None, "--out", "exists and is not a directory"))
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RUN_LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, _HOLDER_BYTES).decode("utf-8", "replace").strip()
            os.close(fd)
            raise InputError(str(run_dir), Problem(
                None, "--out", f"another autoabs run ({holder or 'unknown process'}) is "
                "writing this directory; wait for it to finish or choose another --out"
            )) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # locked a file its holder had just removed: lock the current one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {utc_now()}"
                     .encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Run directories and chunk checkpoints
# ---------------------------------------------------------------------------------------------


def prepare_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> bool:
    """Check that ``run_dir`` may be written; return True when it holds checkpoints to resume.

    Raises
    ------
    InputError
        (``--out``) when the directory holds a finished or interrupted run that neither
        ``--resume`` nor ``--overwrite`` allows to touch, or when it is a file.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(str(run_dir), Problem(None, "--out", "exists and is not a directory"))
    finished = (run_dir / MANIFEST).is_file()
    interrupted = (run_dir / CHUNK_DIR / PLAN).is_file()
    if not interrupted and (run_dir / CHUNK_DIR).is_dir():
        # no plan.json means no chunk was checkpointed (the plan is written first), e.g. a run
        # that failed on a full disk: nothing to keep
        shutil.rmtree(run_dir / CHUNK_DIR)
    if run_dir.is_dir():
        _remove_temporaries(run_dir)
    if overwrite:
        if run_dir.exists():
            for child in run_dir.iterdir():
                if child.name == RUN_LOCK:
                    continue  # held by this run
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        return False
    if finished and not interrupted:
        raise InputError(str(run_dir), Problem(
            None, "--out", f"already holds a finished run ({MANIFEST}); choose another --out, "
            "or add --overwrite to replace it (the ledger keeps the old entry)"))
    if interrupted and not resume:
        raise InputError(str(run_dir), Problem(
            None, "--out", "holds an interrupted run (.chunks/); add --resume to continue it, "
            "or --overwrite to start again"))
    if resume and not interrupted:
        if not _holds_anything(run_dir):
            return False  # interrupted before its first checkpoint: start afresh
        raise InputError(str(run_dir), Problem(
            None, "--resume", "nothing to resume: no interrupted run (.chunks/plan.json) here"))
    if not resume and _holds_anything(run_dir):
        raise InputError(str(run_dir), Problem(
            None, "--out", "is not empty; choose a new directory or add --overwrite"))
    return resume


def _holds_anything(run_dir: Path) -> bool:
    return run_dir.is_dir() and any(child.name != RUN_LOCK for child in run_dir.iterdir())


class DirChunkStore:
    """Chunks checkpointed as ``<run>/.chunks/chunk-<first>-<n>.npz``, each written atomically.

    ``plan.json`` records the run's fingerprint (inputs' sha256 and options); opening the store
    with another fingerprint is refused, so a resumed run is the run that was interrupted.
    """

    def __init__(self, run_dir: Path, fingerprint: dict[str, Any], *, resume: bool) -> None:
        self.dir = run_dir / CHUNK_DIR
        self.fingerprint = fingerprint
        plan = self.dir / PLAN
        if resume:
            try:
                before = json.loads(plan.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(str(plan), Problem(
                    None, "--resume", "cannot read the checkpoint plan "
                    f"({type(exc).__name__}); rerun with --overwrite")) from None
            if before != json.loads(canonical_json(fingerprint)):
                differ = sorted(_differences(before, json.loads(canonical_json(fingerprint))))
                raise InputError(str(run_dir), Problem(
                    None, "--resume", "the interrupted run used other inputs or options "
                    f"({', '.join(differ) or 'fingerprint'} differ); rerun with the same ones "
                    "or use --overwrite"))
        else:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_json(plan, json.loads(canonical_json(fingerprint)))

    def _path(self, first: int, n: int) -> Path:
        return self.dir / f"chunk-{first:010d}-{n}.npz"

    def check(self, chunks: list[tuple[int, int]]) -> None:
        """Refuse checkpoint files that are not chunks of this plan (``(first, n)`` list).

        A resumed run's plan may have more chunks than were checkpointed, never other ones:
        any other file under ``.chunks/`` (another chunk size, a stray copy) is an
        :class:`InputError` naming it.
        """
        planned = {f"chunk-{first:010d}-{n}.npz" for first, n in chunks}
        stray = sorted(p.name for p in self.dir.iterdir()
                       if p.name != PLAN and not _is_temporary(p) and p.name not in planned)
        if stray:
            raise InputError(str(self.dir), Problem(
                None, "--resume", f"{len(stray)} file(s) that are not chunks of this run's plan "
                f"(first: {stray[0]}); rerun with --overwrite"))

    def done(self) -> set[int]:
        """First path of every checkpointed chunk."""
        found = (_CHUNK_NAME.fullmatch(p.name) for p in self.dir.glob("chunk-*.npz"))
        return {int(m.group(1)) for m in found if m is not None}

    def save(self, chunk: ChunkResult) -> None:
        """Write the chunk atomically."""
        arrays = chunk.to_arrays()

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]

        atomic_write(self._path(chunk.first, chunk.n), write)

    def load(self, first: int) -> ChunkResult:
        """Read a checkpointed chunk."""
        found = sorted(self.dir.glob(f"chunk-{first:010d}-*.npz"))
        if len(found) != 1:
            raise InputError(str(self.dir), Problem(
                None, CHUNK_DIR, f"{len(found)} checkpoint files for the chunk at path {first} "
                "(expected 1); rerun with --overwrite"))
        try:
            with np.load(found[0], allow_pickle=False) as data:
                return ChunkResult.from_arrays(data)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(str(found[0]), Problem(
                None, CHUNK_DIR, f"unreadable checkpoint ({type(exc).__name__}); rerun with "
                "--overwrite")) from None

    def clear(self) -> None:
        """Remove the checkpoint directory."""
        shutil.rmtree(self.dir, ignore_errors=True)


def _differences(a: Any, b: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from _differences(a.get(key), b.get(key), f"{prefix}{key}.")
    elif a != b:
        yield prefix.rstrip(".")


# ---------------------------------------------------------------------------------------------
# Ledger
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".ledger.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _entry_hash(entry: dict[str, Any]) -> str:
    return sha256_json({k: v for k, v in entry.items() if k != "hash"})


def _read_ledger(path: Path) -> list[str]:
    """The ledger's non-blank lines.

    Bytes that are not UTF-8 (a binary or damaged file) become replacement characters, so such
    a line fails as not valid JSON instead of the whole read failing.
    """
    if not path.is_file():
        return []
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def append_ledger(run_dir: Path) -> dict[str, Any]:
    """Append the finished run in ``run_dir`` to ``<parent>/ledger.jsonl``; return the entry.

    The entry holds the run's name (relative to the root), the sha256 of each of its files,
    the time, the previous entry's hash and its own hash. The ledger is rewritten atomically
    under a file lock, so concurrent runs in one root append one after the other.
    """
    run_dir = run_dir.resolve()
    root = run_dir.parent
    with _locked(root):
        lines = _read_ledger(root / LEDGER)
        prev = GENESIS
        if lines:
            try:
                prev = json.loads(lines[-1])["hash"]
            except (json.JSONDecodeError, KeyError, TypeError):
                prev = hashlib.sha256(lines[-1].encode()).hexdigest()
        entry: dict[str, Any] = {
            "seq": len(lines) + 1,
            "run": run_dir.name,
            "recorded": utc_now(),
            "files": run_files(run_dir),
            "prev": prev,
        }
        entry["hash"] = _entry_hash(entry)
        text = "".join(f"{line}\n" for line in (*lines, canonical_json(entry)))

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(root / LEDGER, write)
        head = f"{entry['seq']} {entry['hash']}\n"

        def write_head(tmp: Path) -> None:
            tmp.write_text(head, encoding="utf-8")

        atomic_write(root / LEDGER_HEAD, write_head)
    return entry


def _is_run_name(name: str) -> bool:
    """A ledger's run is one directory of the store: no separator, not ``.`` or ``..``."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def _check_head(root: Path, last_seq: int, last_hash: str) -> str | None:
    """Why the ledger does not end where ``ledger.head`` says, or None when it does."""
    path = root / LEDGER_HEAD
    if not path.is_file():
        return (f"{LEDGER_HEAD} is missing: the end of the chain is not anchored (entries "
                "removed from the end would go unnoticed)") if last_seq else None
    try:
        seq_text, head_hash = path.read_text(encoding="utf-8").split()
        seq = int(seq_text)
    except (OSError, ValueError):
        return f"{LEDGER_HEAD} is unreadable (expected '<seq> <hash>')"
    if seq > last_seq:
        return (f"the ledger ends at entry {last_seq} but {LEDGER_HEAD} records entry {seq}: "
                "entries were removed from the end")
    if seq < last_seq:
        return (f"the ledger has {last_seq} entries but {LEDGER_HEAD} records {seq}: entries "
                "were appended without the run store")
    if head_hash != last_hash:
        return f"the last ledger entry's hash differs from {LEDGER_HEAD} (edited or replaced)"
    return None


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: per-run problems and the runs that passed."""

    root: Path
    ok: list[str] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every run and the chain verified."""
        return not self.failed

    def _fail(self, run: str, problem: str) -> None:
        self.failed.setdefault(run, []).append(problem)


def verify_all(path: str | os.PathLike[str]) -> list[VerifyReport]:
    """Verify a run, a runs root, or every run store below a directory.

    ``autoabs verify`` uses this: a run directory or a runs root as in :func:`verify`, and
    every run store nested below ``path`` too (``autoabs stress --out DIR`` keeps its scenario
    runs in the store ``DIR/scenarios``), so that ``autoabs verify runs/`` checks them all.

    Raises
    ------
    InputError
        When ``path`` is not a run and holds no run store.
    """
    target = Path(path)
    stores = sorted({ledger.parent for ledger in target.rglob(LEDGER)}) if target.is_dir() else []
    if not stores:  # one run directory, or the InputError that says why not
        return [verify(target)]
    return [verify(store) for store in stores]


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Re-hash a runs root (or one run directory) against its ledger.

    Parameters
    ----------
    path : path
        A runs root holding ``ledger.jsonl``, or one run directory whose parent holds it
        (then only that run's files are checked, and the whole chain).

    Returns
    -------
    VerifyReport
        A run fails when its directory or any recorded file is missing, a file's sha256
        differs, a file was added, a checkpoint or temporary file is left in it, its ledger
        entry was edited, or it has a manifest and no ledger entry. A broken chain fails the
        entry where it breaks, also when one run is verified; an entry whose run is not a
        directory of the store (``../outside``) fails without anything being read; a ledger
        that does not end at the entry ``ledger.head`` records fails as ``<ledger head>``.

    Raises
    ------
    InputError
        When ``path`` is neither a runs root nor a run directory.
    """
    target = Path(path)
    if (target / LEDGER).is_file():
        root, only = target, None
    elif target.is_dir() and (target.parent / LEDGER).is_file():
        root, only = target.parent, target.name
    else:
        what = "not found" if not target.exists() else "no ledger.jsonl here or in the parent"
        raise InputError(str(target), Problem(None, "DIR", f"not a run store: {what}"))
    report = VerifyReport(root)
    latest: dict[str, dict[str, Any]] = {}
    ledger_failed: set[str] = set()  # chain and entry problems: reported even for one run
    prev, last_seq = GENESIS, 0
    for i, line in enumerate(_read_ledger(root / LEDGER), start=1):
        last_seq = i
        try:
            entry = json.loads(line)
            run = str(entry["run"])
            recorded = entry["hash"]
        except (json.JSONDecodeError, KeyError, TypeError):
            report._fail(f"<ledger line {i}>", "ledger entry is not valid JSON (edited)")
            prev = hashlib.sha256(line.encode()).hexdigest()
            continue
        if not _is_run_name(run):
            report._fail(f"<ledger line {i}>", f"run name {run[:60]!r} is not a directory of "
                         "the store (edited); its files were not read")
            prev = str(recorded)
            continue
        if entry.get("prev") != prev:
            report._fail(run, f"ledger entry {i}: chain broken (an earlier entry was edited "
                              "or removed)")
            ledger_failed.add(run)
        if _entry_hash(entry) != recorded or not isinstance(entry.get("files", {}), dict):
            report._fail(run, f"ledger entry {i} was edited")
            ledger_failed.add(run)
        prev = str(recorded)
        latest[run] = entry
    head_problem = _check_head(root, last_seq, prev)
    if head_problem is not None:
        report._fail("<ledger head>", head_problem)
    if only is not None:
        latest = {k: v for k, v in latest.items() if k == only}
        if not latest and not (target / MANIFEST).is_file():
            raise InputError(str(target), Problem(
                None, "DIR", f"not a run: no {MANIFEST} and no entry for {only!r} in "
                             f"{root / LEDGER}"))
        if not latest:
            report._fail(only, "has a manifest but no ledger entry")
        report.failed = {k: v for k, v in report.failed.items()
                         if k == only or k.startswith("<") or k in ledger_failed}
    for run, entry in latest.items():
        run_dir = root / run
        if not run_dir.is_dir():
            report._fail(run, "run directory removed")
            continue
        recorded_files = entry.get("files", {})
        recorded_files = recorded_files if isinstance(recorded_files, dict) else {}
        actual = run_files(run_dir)
        for rel, digest in sorted(recorded_files.items()):
            if rel not in actual:
                report._fail(run, f"{rel} removed")
            elif actual[rel] != digest:
                report._fail(run, f"{rel} edited (sha256 differs)")
        for rel in sorted(set(actual) - set(recorded_files)):
            report._fail(run, f"{rel} added (not in the ledger)")
        for rel in _leftovers(run_dir):
            report._fail(run, f"{rel} left over (a checkpoint or temporary file in a finished "
                              "run: an interrupted writer, or added by hand)")
        if run not in report.failed:
            report.ok.append(run)
    if only is None:
        for manifest in sorted(root.glob(f"*/{MANIFEST}")):
            name = manifest.parent.name
            if name not in latest:
                report._fail(name, "has a manifest but no ledger entry")
    return report
