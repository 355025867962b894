"""YAML input files: duplicate keys are errors, alias bombs are refused before expansion."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from portfolio._yaml import MAX_EXPANDED_NODES, load_yaml, read_yaml_file
from portfolio.errors import InputError

BOMB = "".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]\n"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)]
    + ["name: *a8\n"])
"""Nine levels of nine aliases: 9**9 = 387 million strings once expanded."""


def test_a_duplicate_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "deal.yaml"
    path.write_text("name: A\nnotes:\n  - {name: A, balance: 0.5}\nname: B\n")
    with pytest.raises(InputError, match=r"duplicate key 'name' \(first on line 1, again on "
                                         r"line 4\)") as caught:
        read_yaml_file(path)
    assert str(path) in str(caught.value)
    with pytest.raises(yaml.YAMLError, match="duplicate key 'x'"):
        load_yaml("outer:\n  x: 1\n  y: 2\n  x: 3\n")  # nested mappings too


def test_merge_keys_and_small_aliases_still_work() -> None:
    assert load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n") == {
        "base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}
    assert load_yaml("r: &r [0.1, 0.2]\ns: *r\n") == {"r": [0.1, 0.2], "s": [0.1, 0.2]}


def test_an_alias_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    started = time.perf_counter()
    with pytest.raises(InputError, match=f"more than {MAX_EXPANDED_NODES:,} nodes") as caught:
        read_yaml_file(path)
    assert time.perf_counter() - started < 2.0
    assert len(str(caught.value)) < 500  # the message never formats the input


def test_a_self_referring_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(InputError, match="recursive YAML"):
        read_yaml_file(path)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux only")
def test_the_cli_refuses_an_alias_bomb_deal_under_a_memory_limit(tmp_path: Path) -> None:
    deal = tmp_path / "deal.yaml"
    deal.write_text(BOMB.replace("name: *a8", "notes: *a8"))
    limit = 2 * 1024**3  # 2 GiB of address space: the old loader needed ~3 GB and 70-120 s

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "autoabs.cli", "paydown", str(deal)],
                          capture_output=True, text=True, timeout=120, preexec_fn=cap)
    assert done.returncode == 2, done.stderr
    assert "nodes through its aliases" in done.stderr and str(deal) in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr) < 1000

