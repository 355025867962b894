"""Atomic file output: every file appears under its final name complete or not at all.

:func:`atomic_write` is the one primitive; :func:`write_json` and :func:`write_parquet` are the
writers of run directories (``simulation.run.directory``) and of the CLI's other outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["atomic_write", "json_text", "sha256_file", "write_json", "write_parquet"]


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, then rename it.

    The temporary file is fsynced and renamed with :func:`os.replace`, so readers see either
    the old file or the complete new one; on failure it is removed. An OS error (a full disk,
    a read-only directory) is re-raised naming ``target`` when it names no file.
    """
    target = Path(target)
    try:
        return _atomic_write(target, write)
    except OSError as exc:
        if exc.filename is not None:
            raise
        code = exc.errno
        if code is None:  # pyarrow's OSError carries "[Errno 28] ..." only in its text
            found = re.search(r"\[Errno (\d+)\]", str(exc))
            code = int(found.group(1)) if found else None
        reason = exc.strerror or (os.strerror(code) if code is not None else str(exc)[:200])
        raise OSError(code, reason, str(target)) from exc


def _atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def json_text(data: Any) -> str:
    """``data`` as indented, key-sorted JSON text (NumPy scalars and arrays, paths converted)."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_json(target: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as :func:`json_text` atomically."""
    text = json_text(data)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(target, write)


def write_parquet(target: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write a DataFrame as Parquet atomically (deterministic bytes for equal frames)."""
    return atomic_write(target, lambda p: frame.to_parquet(p, engine="pyarrow", index=True))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
