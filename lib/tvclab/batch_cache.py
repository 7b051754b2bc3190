"""The batch cache of ``python -m tvclab.figures``: a notebook is rerun only when one of its inputs changed.

A notebook's inputs (``inputs``), each under a name:

- ``notebook source``: the sha256 of ``notebooks/NN_name.py``;
- ``lib/tvclab/<module>.py``: the sha256 of every ``tvclab`` module the notebook imports, transitively, with the
  ``__init__.py`` of each package on the way (Python runs them) (``tvclab_modules``), taken of the module's syntax
  tree (``module_fingerprint``): an edit to a comment or to the layout changes no result and reruns nothing, an
  edit to code or to a docstring does. The notebook's own source is hashed byte for byte (its comments are its
  markdown cells);
- ``parameter tier``, ``parameter seed``: the values the runner injects (seed ``default``: the notebook's own);
- ``packages``: the sha256 of the Python version and the installed versions of the distributions the numbers
  depend on (``PACKAGES``);
- ``data``: for a notebook that imports ``tvclab.data``, a cheap identity of the data files the loader would read
  (``data_identity``).

Not inputs: the training runs under ``runs/`` (a cache of their own, keyed by config, ``tvclab.train``) and the
classifier cache; the library modules that the notebook does not import.

After a successful run the runner writes ``<out_dir>/inputs.json`` (``record``), committed beside results.json::

    {"format": 1, "notebook": "01_flow_alignment_toy", "recorded": "2025-06-01T10:00:00Z",
     "inputs": {"notebook source": "<sha256>", "lib/tvclab/toy.py": "<sha256>", ..., "parameter tier": "cpu",
                "parameter seed": "default", "packages": "<sha256>", "data": "<sha256>"},
     "packages": {"python": "3.11.7", "torch": "2.14.1", ...},
     "data": {"fashion_mnist": {"folder": "...", "files": [{"file": "...", "size": 0, "head_tail_sha256": "..."}]}},
     "results_sha256": "<sha256 of the results.json that run wrote>"}

``stale`` compares it with the inputs now and names what changed (``["lib/tvclab/toy.py", "parameter tier: smoke
-> cpu"]``; empty: fresh). A folder without results.json or inputs.json (never run by the batch, or its last run
failed: the runner deletes inputs.json before a run, ``forget``) is always stale, and so is one whose results.json
was rewritten since (a notebook run by hand).
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from .io import atomic_write_json

FORMAT = 2  # 2: library modules fingerprinted by their syntax tree (1: by their bytes)
MANIFEST = "inputs.json"
RESULTS = "results.json"
PACKAGE_ROOT = Path(__file__).resolve().parent  # lib/tvclab
# Distributions whose versions change a notebook's outputs (importlib.metadata names); only the installed ones
# are recorded. torch / torchvision are pinned in pyproject.toml, the rest are whatever pip resolved.
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-learn", "matplotlib", "seaborn", "pillow",
            "torch-fidelity", "lpips", "faiss-cpu", "faiss-gpu", "papermill", "jupytext", "nbclient", "ipykernel")
# Data sets whose files are identified for a notebook that imports tvclab.data: the embedded default and the
# other data set a notebook parameter can choose. (ImageNet is a folder tree too large to list on every run.)
DATA_SETS = ("fashion_mnist", "cifar10")
FINGERPRINT_BYTES = 64 * 1024  # read from each end of a data file


@dataclass(frozen=True)
class Snapshot:
    """A notebook's inputs now: ``inputs`` (name -> hash or parameter value) and the details behind two of them."""
    inputs: dict[str, str]
    packages: dict[str, str] = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def inputs(src: str | Path, tier: str, seed: int | None, *, package_root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The named hashes (and parameter values) of notebook ``src``'s inputs, see the module docstring."""
    return snapshot(src, tier, seed, package_root=package_root).inputs


def snapshot(src: str | Path, tier: str, seed: int | None, *, package_root: Path = PACKAGE_ROOT) -> Snapshot:
    """``inputs`` with the package versions and data files behind them (what ``record`` stores)."""
    src, package_root = Path(src), Path(package_root)
    named = {"notebook source": _sha256(src.read_bytes())}
    modules = tvclab_modules(src, package_root)
    for path in modules:
        named[module_name(path, package_root)] = module_fingerprint(path)
    named["parameter tier"] = str(tier)
    named["parameter seed"] = "default" if seed is None else str(seed)
    packages = package_versions()
    named["packages"] = _sha256(json.dumps(packages, sort_keys=True).encode())
    data = {}
    if package_root / "data.py" in modules:
        data = data_identity()
        named["data"] = _sha256(json.dumps(_hashed_data(data), sort_keys=True).encode())
    return Snapshot(named, packages, data)


def stale(src: str | Path, out_dir: str | Path, tier: str, seed: int | None, *,
          package_root: Path = PACKAGE_ROOT) -> list[str]:
    """What changed since ``out_dir``'s outputs were recorded, one entry per input; ``[]``: fresh, skip it."""
    out_dir = Path(out_dir)
    if not (out_dir / RESULTS).is_file():
        return ["no recorded outputs (no results.json)"]
    manifest = read_manifest(out_dir)
    if manifest is None:
        return [f"no recorded outputs (no readable {MANIFEST}: never run by the batch, or its last run failed)"]
    if manifest.get("format") != FORMAT:
        return [f"cache format {manifest.get('format')} -> {FORMAT}"]
    if manifest.get("results_sha256") != _sha256((out_dir / RESULTS).read_bytes()):
        return [f"{RESULTS} (rewritten since its inputs were recorded)"]
    return differences(manifest, snapshot(src, tier, seed, package_root=package_root))


def record(src: str | Path, out_dir: str | Path, tier: str, seed: int | None, *, before: Snapshot | None = None,
           package_root: Path = PACKAGE_ROOT) -> Path:
    """Write ``<out_dir>/inputs.json`` (atomically) after a successful run. ``before``: the inputs taken when the
    run started (the runner passes them, so an edit made during the run leaves the notebook stale); default now."""
    out_dir = Path(out_dir)
    snap = before or snapshot(src, tier, seed, package_root=package_root)
    results = out_dir / RESULTS
    return atomic_write_json(out_dir / MANIFEST, {
        "format": FORMAT, "notebook": Path(src).stem,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": snap.inputs, "packages": snap.packages, "data": snap.data,
        "results_sha256": _sha256(results.read_bytes()) if results.is_file() else None,
    })


def forget(out_dir: str | Path) -> None:
    """Delete ``<out_dir>/inputs.json`` (before a run: a run that fails leaves its folder stale)."""
    (Path(out_dir) / MANIFEST).unlink(missing_ok=True)


def read_manifest(out_dir: str | Path) -> dict | None:
    """``<out_dir>/inputs.json``, or None when missing or unreadable."""
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("inputs"), dict) else None


def recorded_time(out_dir: str | Path) -> str:
    """When ``out_dir``'s inputs were recorded, for messages (``2025-06-01 10:00 UTC``)."""
    when = (read_manifest(out_dir) or {}).get("recorded", "an unknown time")
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.strptime(when, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return str(when)


def differences(manifest: dict, now: Snapshot) -> list[str]:
    """The inputs whose recorded value differs from ``now``'s, each described: a module path, ``parameter tier:
    smoke -> cpu``, ``packages (numpy 1.26.4 -> 2.0.0)``, ``data (fashion_mnist)``, ``notebook source``."""
    old = manifest["inputs"]
    out = []
    for name, value in now.inputs.items():
        if old.get(name) == value:
            continue
        if name not in old:
            out.append(f"{name} (newly imported)" if name.endswith(".py") else f"{name} (new input)")
        elif name.startswith("parameter "):
            out.append(f"{name}: {old[name]} -> {value}")
        elif name == "packages":
            out.append(f"packages ({_changed_versions(manifest.get('packages') or {}, now.packages)})")
        elif name == "data":
            sets = [k for k in sorted(set(now.data) | set(manifest.get("data") or {}))
                    if _hashed_data(now.data).get(k) != _hashed_data(manifest.get("data") or {}).get(k)]
            out.append(f"data ({', '.join(sets) or 'files'})")
        else:
            out.append(name)
    out += [f"{name} (no longer imported)" if name.endswith(".py") else f"{name} (no longer an input)"
            for name in old if name not in now.inputs]
    return out


def _changed_versions(old: dict, new: dict) -> str:
    return ", ".join(f"{d} {old.get(d, 'absent')} -> {new.get(d, 'absent')}"
                     for d in sorted(set(old) | set(new)) if old.get(d) != new.get(d)) or "versions"


# ---------------------------------------------------------------- which tvclab modules a notebook imports
#
# A static walk over the ``import`` statements of the notebook and of every tvclab module it reaches, rather than
# ``modulefinder.ModuleFinder``: modulefinder follows every import into torch, numpy and the standard library
# (seconds per notebook, and its result varies with what is installed), while the walk reads only the ~100 files of
# the package, in milliseconds, with the same answer on every machine. ``ast.walk`` visits the whole module, so
# imports inside functions (lazy imports) are found too. A call ``importlib.import_module(...)`` with a literal name
# is followed; with a computed name (``tvclab.metrics``'s lazy ``__getattr__``, ``tvclab.bench``'s dispatcher) every
# module of the package it names, or of the caller's package, is taken: more reruns, never a missed edit.

_IMPORTS: dict[tuple[str, str, str | None], frozenset[str]] = {}  # (file, sha256, module name) -> imported names
_TREES: dict[tuple[str, str], ast.AST | None] = {}  # (file, sha256) -> its syntax tree (None: does not parse)


def _parsed(path: Path) -> tuple[bytes, str, ast.AST | None]:
    """A file's bytes, their sha256 and its syntax tree, parsed once for the import walk and the fingerprint."""
    source = Path(path).read_bytes()
    digest = _sha256(source)
    key = (str(path), digest)
    if key not in _TREES:
        try:
            _TREES[key] = ast.parse(source, filename=str(path))
        except SyntaxError:
            _TREES[key] = None
    return source, digest, _TREES[key]


def tvclab_modules(src: str | Path, package_root: Path = PACKAGE_ROOT) -> list[Path]:
    """The files of the ``tvclab`` modules that ``src`` (a notebook's .py source or a module) imports,
    transitively, sorted; with the ``__init__.py`` of every package on the way."""
    package_root = Path(package_root)
    found: dict[str, Path] = {}
    todo: list[tuple[Path, str | None]] = [(Path(src), None)]  # (file, its dotted module name; None: a script)
    while todo:
        path, name = todo.pop()
        for dotted in _imported_names(path, name, package_root):
            for prefix in _with_parents(dotted):
                if prefix in found:
                    continue
                file = _module_file(prefix, package_root)
                if file is not None:
                    found[prefix] = file
                    todo.append((file, prefix))
    return sorted(found.values())


def module_name(path: Path, package_root: Path = PACKAGE_ROOT) -> str:
    """A module's input name: its path from the repository root, ``lib/tvclab/toy.py``."""
    return Path(path).relative_to(Path(package_root).parent.parent).as_posix()


def _imported_names(path: Path, name: str | None, package_root: Path) -> frozenset[str]:
    _, digest, tree = _parsed(path)
    key = (str(path), digest, name)
    if key not in _IMPORTS:
        if tree is not None:
            _IMPORTS[key] = _imports_in(tree, name, path.name == "__init__.py", package_root)
        else:  # a notebook that does not parse may import anything; a broken module fails its run
            _IMPORTS[key] = _all_modules(package_root.name, package_root) if name is None else frozenset()
    return _IMPORTS[key]


def _imports_in(tree: ast.AST, name: str | None, is_package: bool, package_root: Path) -> frozenset[str]:
    """Dotted names that ``tree`` (module ``name``; None for a script) may import from the package: ``import a.b``
    gives a.b; ``from a import b`` gives a and a.b (a.b is kept only if it is a module, by the caller)."""
    top = package_root.name
    here = name if is_package else (name or "").rpartition(".")[0]  # the package relative imports start from
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not here:
                    continue  # a relative import in a script: not ours
                base = ".".join(here.split(".")[: len(here.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, ast.Call) and _is_import_call(node) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)  # a literal module name
            else:  # computed: every module of the package it names, else of the caller's package
                fixed = _fixed_prefix(arg, name).rpartition(".")[0]
                ours = fixed == top or fixed.startswith(top + ".")
                out |= _all_modules(fixed if ours else (here or top), package_root)
    return frozenset(n for n in out if n == top or n.startswith(top + "."))


def _is_import_call(node: ast.Call) -> bool:
    f = node.func
    called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    return called in ("import_module", "__import__")


def _fixed_prefix(arg: ast.AST, name: str | None) -> str:
    """The leading fixed part of a computed module name: an f-string's text up to its first field, with
    ``{__name__}`` filled in (``f"{__name__}.{sub}"`` in tvclab.metrics gives ``tvclab.metrics.``); else empty."""
    fixed = ""
    for part in arg.values if isinstance(arg, ast.JoinedStr) else ():
        if isinstance(part, ast.Constant):
            fixed += str(part.value)
        elif isinstance(part.value, ast.Name) and part.value.id == "__name__" and name:
            fixed += name
        else:
            break
    return fixed


def _all_modules(package: str, package_root: Path) -> frozenset[str]:
    """Every module under package ``package`` (dotted), itself included."""
    folder = package_root.joinpath(*package.split(".")[1:])
    if not (folder / "__init__.py").is_file():
        return frozenset({package})
    return frozenset(".".join((package_root.name, *p.relative_to(package_root).with_suffix("").parts))
                     .removesuffix(".__init__") for p in folder.rglob("*.py"))


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _module_file(dotted: str, package_root: Path) -> Path | None:
    """The file of module ``dotted`` under ``package_root``, or None (not a module: an attribute, or absent)."""
    parts = dotted.split(".")
    if parts[0] != package_root.name:
        return None
    base = package_root.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if len(parts) > 1 and base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


# ---------------------------------------------------------------- packages and data

def package_versions() -> dict[str, str]:
    """Python's version and the installed versions of ``PACKAGES`` (the ones not installed are left out)."""
    versions = {"python": platform.python_version()}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def data_identity() -> dict:
    """For each of ``DATA_SETS`` found where ``tvclab.data`` would look (no download, no network), its folder and
    per file the name, the size and the sha256 of its first and last 64 KiB.

    Cheap (a few hundred KiB read, not the 30 MB files) and free of mtimes and absolute paths, so the committed
    manifest still matches on another machine holding the same files; for a ``.gz`` file the tail is the gzip
    trailer, a CRC-32 of the whole uncompressed content. The folder is recorded but not hashed."""
    from . import data

    out = {}
    for name in DATA_SETS:
        files = data.located_files(name)
        if files:
            out[name] = {"folder": str(files[0].parent),
                         "files": [{"file": f.name, "size": f.stat().st_size, "head_tail_sha256": _head_tail(f)}
                                   for f in files]}
    return out


def _hashed_data(data: dict) -> dict:
    return {name: entry.get("files") for name, entry in data.items()}


def _head_tail(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(FINGERPRINT_BYTES)
        f.seek(max(0, f.seek(0, 2) - FINGERPRINT_BYTES))
        return _sha256(head + f.read())


def module_fingerprint(path: Path) -> str:
    """sha256 of a Python module's syntax tree (``ast.dump``): comments and layout do not count, code and docstrings
    do. A file that does not parse is hashed by its bytes (so any edit to it counts)."""
    source, _, tree = _parsed(path)
    if tree is None:
        return _sha256(source)
    return _sha256(ast.dump(tree, include_attributes=False).encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
