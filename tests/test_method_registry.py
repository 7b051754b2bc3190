"""A method is one registered module (issue: no shared file changes to add one). A code-usage entropy penalty,
written into a temporary folder, registers its config section, presets and cross-paper row
(``configs.register_method``) and its stage-1 objective (``objectives.register``); stage 1 runs with it at the smoke
tier, notebook 06's row is built from it, and the repository is left as it was."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tvclab import configs, crosspaper

ROOT = Path(__file__).resolve().parents[1]

METHOD = '''
"""A code-usage entropy penalty: -weight * H(mean soft code assignment) (a test method, not a paper's)."""
from dataclasses import dataclass

import torch

from tvclab import configs
from tvclab.objectives import Objective, register


@dataclass
class EntropyConfig:
    weight: float = 0.0           # 0: off


def _checks(cfg):
    if cfg.entropy.weight > 0 and cfg.quantizer.kind != "vq":
        yield "entropy.weight > 0 needs discrete tokens (quantizer.kind=vq)"


METHOD = configs.register_method(configs.MethodSpec(
    name="entropy_penalty", paper="test", section="entropy", config=EntropyConfig, stage="stage1",
    rules={EntropyConfig: {"weight": configs.WEIGHT}}, check=_checks,
    presets={"entropy_pen": dict(smoke=lambda: configs.base("smoke"), cpu=lambda: configs.base("cpu"),
                                 paper=lambda: configs.base("paper_w"), method={"entropy.weight": 0.1})},
    rows=(configs.CrossPaperRow("entropy", "entropy_pen", "code-usage entropy", "not a paper's"),),
))


@register
class EntropyPenalty(Objective):
    name = "entropy"
    section = "entropy"

    @staticmethod
    def enabled(cfg):
        return cfg.entropy.weight > 0

    def forward(self, x, enc, rnd, tok):
        p = tok.quantizer.soft_codes(enc.visual.latent, self.cfg.quantizer.prob_tau).probs.mean(dim=(0, 1))
        h = -(p * p.clamp_min(1e-9).log()).sum()
        return {"code_entropy": h.detach(), "loss": -self.cfg.entropy.weight * h}
'''

SCRIPT = '''
import json, sys
sys.path.insert(0, sys.argv[1])
import entropy_method  # noqa: F401  (registers the method)
from tvclab import configs, crosspaper, train
from tvclab.io import read_jsonl

cfg = configs.get("entropy_pen", "smoke")
assert "entropy" in configs.STAGE_SECTIONS["stage1"] and "entropy.weight" in cfg.group("stage1")
run = train.run("stage1", "entropy_pen", "smoke", ["data.dataset=synthetic"])
rows = crosspaper.methods()
row = rows["entropy"]
crosspaper.check_backbone({"plain": rows["plain"], "entropy": row}, "smoke")
print(json.dumps({"run": str(run), "row": list(row), "sets": crosspaper.run_sets(row, "smoke"),
                  "stages": crosspaper.stages(row), "keys": list(read_jsonl(run / "metrics.jsonl")[0]),
                  "config": crosspaper.config(row, "smoke").entropy.weight}))
'''


def _status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def test_a_method_registered_from_a_temporary_module_runs_stage1_and_builds_its_row(tmp_path):
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "entropy_method.py").write_text(textwrap.dedent(METHOD))
    before = _status()
    env = dict(os.environ, TVCLAB_RUNS=str(folder / "runs"), OMP_NUM_THREADS="1")
    env.pop("TVCLAB_DEBUG", None)
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(out["run"]).is_relative_to(folder) and (Path(out["run"]) / "done.json").exists()
    assert "code_entropy" in out["keys"]                           # the objective's term was trained and logged
    assert out["row"][0] == "entropy_pen" and out["stages"] == ["stage1", "stage2"]
    assert out["sets"] == [] and out["config"] == 0.1
    assert _status() == before                                      # nothing changed outside the folder


def test_the_built_in_methods_are_registered_specs():
    """Config, FIELD_RULES, STAGE_SECTIONS, PRESETS and the cross-paper rows come from the specs."""
    for spec in configs.METHODS.values():
        if spec.section:
            assert spec.section in configs.STAGE_SECTIONS[spec.stage]
            assert isinstance(getattr(configs.Config(), spec.section), spec.config)
            assert all(t in configs.FIELD_RULES for t in spec.rules)
        assert set(spec.presets) <= set(configs.NAMES)
        assert {r.key for r in spec.rows} <= set(crosspaper.methods())
