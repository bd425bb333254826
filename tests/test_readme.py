"""The README's examples run as written, so the README cannot rot (issue 15).

* ``pycon`` blocks run as doctests (output compared exactly, as printed);
  ``python`` blocks are executed.
* ``console`` blocks whose commands are all ``spanlike ...`` (or
  ``.venv/bin/spanlike``) and ``head -N FILE`` run in order in one scratch
  folder beside which ``../shared`` points at the real shared data; each output
  line the README shows (``...`` lines stand for omitted ones) must appear in
  the command's output, in the README's order. Blocks with other commands
  (``curl``, a background server) are skipped with that reason.
* Every row of the "Commands" table runs as written and exits 0.
* Whatever reads ``../shared/data`` is skipped when that data is absent,
  saying where it comes from.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
NO_SHARED = ("needs ../shared/data (the public Takasbank SPAN file and Yahoo daily closes; see the README's "
             "'Data in ../shared/data'), which is absent here")

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def _blocks(kind: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in _FENCE.finditer(text) if m.group(1) == kind]


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """``(command, output lines shown)`` of a console block; continuation lines (``\\``) joined."""
    out: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            out.append((cmd, []))
        elif out:
            out[-1][1].append(line.rstrip())
        i += 1
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that looks like the checkout (its data folders linked) with ../shared beside it."""
    base = tmp_path_factory.mktemp("readme")
    work = base / "main"
    work.mkdir()
    for name in ("spanlike", "tests", "docs"):
        (work / name).symlink_to(ROOT / name)
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED)
    return work


def _run(cmd: str, cwd: Path) -> tuple[int, str]:
    argv = shlex.split(cmd)
    if argv[0] == "head":  # head -N FILE
        n = int(argv[1].lstrip("-")) if len(argv) == 3 else 10
        return 0, "".join((cwd / argv[-1]).read_text(encoding="utf-8").splitlines(keepends=True)[:n])
    assert argv[0] in ("spanlike", ".venv/bin/spanlike"), argv[0]
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "spanlike", *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def _runnable(commands: list[tuple[str, list[str]]]) -> bool:
    return all(shlex.split(c)[0] in ("spanlike", ".venv/bin/spanlike", "head") for c, _ in commands)


def _assert_shown(shown: list[str], output: str, cmd: str) -> None:
    got = [line.rstrip() for line in output.splitlines()]
    at = 0
    for line in shown:
        if line.strip() in ("", "..."):
            continue
        try:
            at = got.index(line, at) + 1
        except ValueError:
            raise AssertionError(f"README line not in the output of `{cmd}` (in order):\n  {line}\n"
                                 f"output was:\n{output}") from None


CONSOLE = _blocks("console")


@pytest.mark.parametrize("line,block", CONSOLE, ids=[f"console-line{n}" for n, _ in CONSOLE])
def test_console_block(line: int, block: str, scratch: Path) -> None:
    commands = _commands(block)
    if not _runnable(commands):
        pytest.skip(f"README line {line}: the block runs commands other than spanlike (a server, curl)")
    if "../shared/data" in block and not SHARED.joinpath("data").is_dir():
        pytest.skip(NO_SHARED)
    for cmd, shown in commands:
        code, output = _run(cmd, scratch)
        assert code == 0, f"`{cmd}` exited {code}:\n{output}"
        _assert_shown(shown, output, cmd)


PYCON = _blocks("pycon")
PYTHON = _blocks("python")


@pytest.mark.parametrize("line,block", PYCON, ids=[f"pycon-line{n}" for n, _ in PYCON])
def test_pycon_block(line: int, block: str, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scratch)
    test = doctest.DocTestParser().get_doctest(block, {}, f"README.md line {line}", str(README), line)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
    assert runner.tries > 0


@pytest.mark.parametrize("line,block", PYTHON, ids=[f"python-line{n}" for n, _ in PYTHON])
def test_python_block(line: int, block: str, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "../shared/data" in block and not SHARED.joinpath("data").is_dir():
        pytest.skip(NO_SHARED)
    monkeypatch.chdir(scratch)
    exec(compile(block, f"README.md line {line}", "exec"), {"__name__": "__readme__"})


def _table_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Commands"):]
    section = section[:section.index("\n## ", 4)]
    rows = [ln for ln in section.splitlines() if ln.startswith("| `spanlike")]
    # A row's first cell; "\|" is an escaped pipe inside it.
    return [re.match(r"\| `(spanlike [^`]*)`", ln.replace("\\|", "|")).group(1) for ln in rows]


TABLE = _table_commands()


def test_commands_table_is_concrete() -> None:
    assert len(TABLE) >= 10
    for cmd in TABLE:
        assert not re.search(r"\bFILE\b|\bNAME\b|\.\.\.", cmd), f"placeholder in a command row: {cmd}"


@pytest.mark.parametrize("cmd", TABLE)
def test_commands_table_row_runs(cmd: str, scratch: Path) -> None:
    if "../shared/data" in cmd and not SHARED.joinpath("data").is_dir():
        pytest.skip(NO_SHARED)
    code, output = _run(cmd, scratch)
    assert code == 0, f"`{cmd}` exited {code}:\n{output[-3000:]}"
