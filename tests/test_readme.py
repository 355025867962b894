"""The README's Python API section runs as written (its python code blocks, in order)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _api_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Python API")
    end = text.index("\n## ", start + 1)
    return _BLOCK.findall(text[start:end])


def test_readme_api_section_has_code() -> None:
    blocks = _api_blocks()
    assert len(blocks) >= 3 and "autoabs.run(" in blocks[0]


@pytest.mark.slow
def test_readme_api_blocks_run_as_written(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)  # relative paths as in the README; runs/ lands in tmp_path
    namespace: dict[str, object] = {"__name__": "readme"}
    for i, block in enumerate(_api_blocks()):
        code = compile(block, f"{README}:python block {i + 1}", "exec")
        exec(code, namespace)  # noqa: S102 - the README's own code, run as a user would
    assert (tmp_path / "runs" / "prime" / "summary.json").is_file()
    assert os.path.isfile("/tmp/tape.csv")
