"""Input errors that name the file, the row or field, and the problem.

Every layer raises :class:`InputError` (or a subclass) for bad user input. The CLI turns it into
one clear message and exit code 2; anything else is an internal error (exit code 1).
"""

from __future__ import annotations

import errno
from collections import Counter
from dataclasses import dataclass

BAD_PATH_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
    errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL,
})
"""OS errors that mean the user named a path that cannot be written or read (exit code 2);
any other (a full disk, an I/O error) is an environment failure (exit code 1)."""

SHOWN_PER_FIELD = 10
"""Problems listed per field by :meth:`InputError.summary`; the rest are counted."""


@dataclass(frozen=True)
class Problem:
    """One defect in one place of an input.

    Parameters
    ----------
    row : int or None
        1-based record number in the input (the first loan is row 1), or ``None`` when the
        problem concerns the whole file or a column.
    field : str
        Canonical column, YAML field path or option name.
    message : str
        What is wrong, naming what was expected and what was received.
    """

    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        head = f"{where}{self.field}: " if self.field else where
        return f"{head}{self.message}"


def os_error_message(exc: OSError) -> str:
    """One line naming the file, the problem and the errno of an OS error (never a traceback)."""
    path = exc.filename if exc.filename is not None else "<unnamed file>"
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    code = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
    what = exc.strerror or str(exc)[:200]
    return f"{path}: {what}" + (f" (errno {exc.errno} {code})" if code else "")


def is_bad_path(exc: OSError) -> bool:
    """True when ``exc`` is a bad path given by the user (:data:`BAD_PATH_ERRNOS`)."""
    return exc.errno in BAD_PATH_ERRNOS


class InputError(ValueError):
    """Bad user input; ``str()`` names the source, the place and every problem found."""

    def __init__(self, source: str, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.source = str(source)
        self.problems: list[Problem] = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1:
            p = self.problems[0]
            return f"{self.source}: {p}" if str(p) else self.source
        lines = [f"{self.source}: {len(self.problems)} problems"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    @property
    def capped(self) -> bool:
        """True when :meth:`summary` leaves problems out (more than the cap in one field)."""
        counts = Counter(p.field for p in self.problems)
        return any(n > SHOWN_PER_FIELD for n in counts.values())

    def summary(self, per_field: int = SHOWN_PER_FIELD) -> str:
        """The message with at most ``per_field`` problems of each field, and the counts.

        A tape whose 500,000 rows are all bad is summarised in a few dozen lines: the first
        problems of each field in input order, then ``balance: 499,990 more (500,000 in
        all)`` for each field cut short.
        """
        counts = Counter(p.field for p in self.problems)
        if all(n <= per_field for n in counts.values()):
            return self._format()
        shown: Counter[str] = Counter()
        lines = [f"{self.source}: {len(self.problems):,} problems"]
        for p in self.problems:
            shown[p.field] += 1
            if shown[p.field] <= per_field:
                lines.append(f"  {p}")
        for name, n in counts.items():
            if n > per_field:
                lines.append(f"  {name or '<file>'}: {n - per_field:,} more ({n:,} in all)")
        return "\n".join(lines)
