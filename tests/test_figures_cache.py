"""The batch cache of ``python -m tvclab.figures``: a notebook reruns only when one of its inputs changed."""
import json
import shutil
import time

import pytest

from tvclab import batch_cache, figures
from tvclab.paths import NOTEBOOKS


@pytest.fixture
def tree(tmp_path):
    """A copy of the library and of the real notebook sources (so neither edits here nor work elsewhere in the
    checkout reach the other), and a figures root."""
    package = tmp_path / "lib" / "tvclab"
    shutil.copytree(batch_cache.PACKAGE_ROOT, package, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    (tmp_path / "notebooks").mkdir()
    for src in figures.discover(NOTEBOOKS):
        shutil.copy(src, tmp_path / "notebooks" / src.name)
    return package, figures.discover(tmp_path / "notebooks"), tmp_path / "figures"


def _recorded(src, figs, package, tier="smoke", seed=None):
    """Pretend notebook ``src`` ran: write a results.json and record its inputs; return its folder."""
    out = figs / src.stem
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"tier": tier}))
    batch_cache.record(src, out, tier, seed, package_root=package)
    return out


def _closure(src, package):
    return {batch_cache.module_name(p, package) for p in batch_cache.tvclab_modules(src, package)}


def test_import_walk_finds_package_lazy_relative_and_dynamic_imports(tmp_path):
    pkg = tmp_path / "lib" / "tvclab"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "dyn").mkdir()
    files = {
        "__init__.py": "",
        "a.py": "from . import b\n\ndef later():\n    from .sub import deep  # lazy, relative, a submodule\n",
        "b.py": "import os\nfrom tvclab.sub import helper_function  # an attribute, not a module\n",
        "sub/__init__.py": "helper_function = print\n",
        "sub/deep.py": "import importlib\nmod = importlib.import_module('tvclab.lit')\n",
        "lit.py": "",
        "dyn/__init__.py": "import importlib\n\ndef __getattr__(n):\n    return importlib.import_module(f'{__name__}.{n}')\n",
        "dyn/one.py": "", "dyn/two.py": "",
        "unused.py": "import tvclab.a\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    nb = tmp_path / "00_nb.py"
    nb.write_text("# %%\nimport numpy\nimport tvclab.a\n\n# %%\nfrom tvclab.dyn import one_thing\n")
    got = _closure(nb, pkg)
    assert got == {f"lib/tvclab/{n}" for n in ("__init__.py", "a.py", "b.py", "sub/__init__.py", "sub/deep.py",
                                                 "lit.py", "dyn/__init__.py", "dyn/one.py", "dyn/two.py")}


def test_real_notebooks_import_what_they_use():
    srcs = {p.stem[:2]: p for p in figures.discover()}
    one = _closure(srcs["01"], batch_cache.PACKAGE_ROOT)
    assert {"lib/tvclab/__init__.py", "lib/tvclab/toy.py", "lib/tvclab/models/blocks.py"} <= one
    two = _closure(srcs["02"], batch_cache.PACKAGE_ROOT)
    assert {"lib/tvclab/data.py", "lib/tvclab/metrics/image.py"} <= two  # psnr via tvclab.metrics' lazy __getattr__
    assert "data" in batch_cache.inputs(srcs["02"], "smoke", None)


def test_library_edit_marks_only_its_importers_stale(tree):
    package, srcs, figs = tree
    outs = [_recorded(src, figs, package) for src in srcs]
    assert all(batch_cache.stale(s, o, "smoke", None, package_root=package) == [] for s, o in zip(srcs, outs))
    closures = {s.stem: _closure(s, package) for s in srcs}
    only_01 = sorted(closures[srcs[1].stem] - closures[srcs[0].stem])
    assert only_01, "notebook 01 imports no module that notebook 00 does not"
    edited = "lib/tvclab/toy.py" if "lib/tvclab/toy.py" in only_01 else only_01[0]
    with open(package.parent.parent / edited, "a") as f:
        f.write("\n# a comment changes no result\n")
    assert all(batch_cache.stale(s, o, "smoke", None, package_root=package) == [] for s, o in zip(srcs, outs))
    with open(package.parent.parent / edited, "a") as f:
        f.write("\n_EDITED = 1\n")
    for src, out in zip(srcs, outs):
        expected = [edited] if edited in closures[src.stem] else []
        assert batch_cache.stale(src, out, "smoke", None, package_root=package) == expected, src.stem


def test_parameter_notebook_and_package_changes_are_named(tree, monkeypatch):
    package, srcs, figs = tree
    src = srcs[0]
    out = _recorded(src, figs, package, tier="smoke", seed=None)
    assert batch_cache.stale(src, out, "cpu", None, package_root=package) == ["parameter tier: smoke -> cpu"]
    assert batch_cache.stale(src, out, "smoke", 3, package_root=package) == ["parameter seed: default -> 3"]
    versions = batch_cache.package_versions()
    monkeypatch.setattr(batch_cache, "package_versions", lambda: {**versions, "numpy": "0.0.1"})
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == [
        f"packages (numpy {versions.get('numpy', 'absent')} -> 0.0.1)"]
    monkeypatch.undo()
    src.write_text(src.read_text() + "\n# %%\nprint('one more cell')\n")
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == ["notebook source"]


def test_data_change_is_named(tree, monkeypatch):
    package, srcs, figs = tree
    src = next(s for s in srcs if "lib/tvclab/data.py" in _closure(s, package))
    fake = {"fashion_mnist": {"folder": "/x", "files": [{"file": "t10k.gz", "size": 1, "head_tail_sha256": "a"}]}}
    monkeypatch.setattr(batch_cache, "data_identity", lambda: fake)
    out = _recorded(src, figs, package)
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == []
    fake["fashion_mnist"]["folder"] = "/elsewhere"  # the same files in another place: still fresh
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == []
    fake["fashion_mnist"]["files"][0]["size"] = 2
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == ["data (fashion_mnist)"]


def test_missing_or_rewritten_outputs_are_stale(tree):
    package, srcs, figs = tree
    src = srcs[0]
    out = figs / src.stem
    assert batch_cache.stale(src, out, "smoke", None, package_root=package)[0].startswith("no recorded outputs")
    _recorded(src, figs, package)
    batch_cache.forget(out)  # what the runner does before a run: a failed run leaves no manifest
    assert batch_cache.stale(src, out, "smoke", None, package_root=package)[0].startswith("no recorded outputs")
    _recorded(src, figs, package)
    (out / "results.json").write_text("{}")  # rewritten by a run outside the batch
    assert batch_cache.stale(src, out, "smoke", None, package_root=package) == [
        "results.json (rewritten since its inputs were recorded)"]


def test_unchanged_tree_is_fresh_in_seconds(tree):
    package, srcs, figs = tree
    outs = [_recorded(src, figs, package) for src in srcs]
    batch_cache._IMPORTS.clear()  # parse every file again, as a new process would
    t0 = time.perf_counter()
    assert [batch_cache.stale(s, o, "smoke", None, package_root=package) for s, o in zip(srcs, outs)] == \
        [[]] * len(srcs)
    assert time.perf_counter() - t0 < 5


TINY = ('# %% tags=["parameters"]\ntier: str = "cpu"\nseed: int = 0\nout_dir: str = "figures/{name}"\n\n'
        '# %%\nfrom pathlib import Path\n{imports}\nPath(out_dir).mkdir(parents=True, exist_ok=True)\n'
        '(Path(out_dir) / "results.json").write_text(json.dumps({{"tier": tier, "seed": seed}}))\n')


def test_batch_skips_unchanged_notebooks_and_force_reruns(tmp_path, capsys):
    nbs, figs = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    (nbs / "00_a.py").write_text(TINY.format(name="00_a", imports="import json"))
    (nbs / "01_b.py").write_text(TINY.format(name="01_b", imports="import json\nfrom tvclab import io"))
    cli = ["--notebooks", str(nbs), "--tier", "smoke", "--out-root", str(figs)]
    assert figures.main(cli) == 0
    out = capsys.readouterr().out
    assert "run  00_a: no recorded outputs" in out and "run  01_b: no recorded outputs" in out
    assert (figs / "00_a" / "inputs.json").is_file() and (figs / "01_b" / "inputs.json").is_file()
    written = {n: (figs / n / "results.json").stat().st_mtime_ns for n in ("00_a", "01_b")}

    t0 = time.perf_counter()
    assert figures.main(cli) == 0
    assert time.perf_counter() - t0 < 10, "an unchanged tree is skipped in seconds"
    out = capsys.readouterr().out
    assert "skip 00_a (inputs unchanged since" in out and "skip 01_b (inputs unchanged since" in out
    assert "skipped 2 (inputs unchanged): 00_a, 01_b" in out and "ran 0" in out
    assert written == {n: (figs / n / "results.json").stat().st_mtime_ns for n in ("00_a", "01_b")}

    assert figures.main(cli + ["--force", "--only", "01"]) == 0
    out = capsys.readouterr().out
    assert "run  01_b: forced (--force)" in out and "run  00_a" not in out
    assert (figs / "01_b" / "results.json").stat().st_mtime_ns != written["01_b"]
    assert batch_cache.stale(nbs / "01_b.py", figs / "01_b", "smoke", None) == []
