"""The front door: README.md stays short (≤ 10,000 bytes), gives the two commands, every relative link in it
resolves to a file of the repository, and its Python example runs as printed."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_is_short_and_gives_the_two_commands():
    assert len(README.encode()) <= 10_000, f"README.md is {len(README.encode())} bytes; move detail to docs/"
    block = re.search(r"## Two commands\n.*?```bash\n(.*?)```", README, re.S).group(1)
    assert [ln.split("#")[0].strip() for ln in block.strip().splitlines()] == ["make figures", "make test"]


def test_every_relative_link_resolves():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    rel = [u for u in links if not re.match(r"^[a-z]+:", u)]
    assert rel, "the README links nowhere"
    missing = [u for u in rel if not (ROOT / u).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


@pytest.mark.slow
def test_the_python_example_runs(tmp_path):
    code = re.search(r"## Ten lines of Python\n\n```python\n(.*?)```", README, re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    env = {"TVCLAB_RUNS": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "HOME": str(Path.home())}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "pFD-clf" in r.stdout and (tmp_path / "runs" / "smoke" / "wartok" / "score.json").exists()
