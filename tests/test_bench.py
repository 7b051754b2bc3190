"""Every benchmark runs at a tiny size and ends with its ratio line (so none rots when the core changes)."""
import re

import pytest

from tvclab.bench.__main__ import available, main

TINY = {
    "flow_cost": ["--width", "16", "--blocks", "1", "--batch", "20", "--ode-steps", "2", "--repeats", "2",
                  "--ode-repeats", "1", "--threads", "1"],
    "wgf_overhead": ["--width", "32", "--heads", "2", "--batch", "2", "--steps", "2"],
    "knn": ["--targets", "200", "--queries", "20", "--dim", "8", "--k", "3", "--repeats", "1"],
}


def test_every_benchmark_has_a_tiny_run():
    assert set(available()) == set(TINY)


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_prints_its_ratio_last(name, capsys):
    assert main([name, *TINY[name]]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"\d+(\.\d+)?x", last), last
