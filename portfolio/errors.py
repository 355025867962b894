"""Input errors that name the file, the row or field, and the problem.

Every layer raises :class:`InputError` (or a subclass) for bad user input. The CLI turns it into
one clear message and exit code 2; anything else is an internal error (exit code 1).
"""

from __future__ import annotations

from dataclasses import dataclass


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
