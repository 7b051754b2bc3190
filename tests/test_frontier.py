"""The rate-distortion frontier: interpolation on a synthetic monotone sweep returns the known value."""
import numpy as np
import pytest

from tvclab import claims, frontier


def test_interpolation_on_a_monotone_sweep_returns_the_known_value():
    rate = [2.0, 4.0, 6.0, 8.0]          # nats / image
    psnr = [10.0, 14.0, 16.0, 17.0]      # dB, concave like a real frontier
    assert frontier.interpolate(rate, psnr, 5.0) == pytest.approx(15.0)
    assert frontier.interpolate(rate[::-1], psnr[::-1], 3.0) == pytest.approx(12.0)  # order does not matter
    assert frontier.interpolate(rate, psnr, 9.0) is None                               # no extrapolation
    # a point at rate 5 with PSNR 16: the frontier needs rate 6 for 16 dB -> saves 1 nat; gains 1 dB at rate 5
    assert frontier.rate_saving(rate, psnr, 5.0, 16.0) == pytest.approx(1.0)
    assert frontier.psnr_gain(rate, psnr, 5.0, 16.0) == pytest.approx(1.0)
    assert frontier.rate_saving(rate, psnr, 7.0, 15.0) == pytest.approx(-2.0)         # below the frontier


def test_bootstrap_gap_and_its_verdict():
    rng = np.random.default_rng(0)
    sweep = {k: [(r + rng.normal(0, 0.05), p + rng.normal(0, 0.05)) for _ in range(3)]
             for k, r, p in ((8, 2.0, 10.0), (32, 4.0, 14.0), (256, 8.0, 17.0))}
    above = [(4.0 + rng.normal(0, 0.05), 16.0 + rng.normal(0, 0.05)) for _ in range(3)]
    on = [(6.0 + e, 15.5 + e) for e in (-0.3, 0.0, 0.3)]  # (6, 15.5) lies on the 4 -> 8 segment
    g = frontier.bootstrap_gap(sweep, above, "rate_saving")
    assert g["value"] == pytest.approx(frontier.rate_saving([np.mean([a[0] for a in sweep[k]]) for k in sorted(sweep)],
                                                           [np.mean([a[1] for a in sweep[k]]) for k in sorted(sweep)],
                                                           np.mean([a[0] for a in above]), np.mean([a[1] for a in above])))
    assert g["lo"] > 0 and claims.threshold("above", g, 0.0, better="higher")["verdict"] == "holds"
    g_on = frontier.bootstrap_gap(sweep, on, "rate_saving")
    assert g_on["lo"] < 0 < g_on["hi"]
    assert claims.threshold("above", g_on, 0.0, better="higher")["verdict"] == "inconclusive"
    single = frontier.bootstrap_gap({k: v[:1] for k, v in sweep.items()}, above[:1], "rate_saving")
    assert single["lo"] is None and claims.threshold("above", single, 0.0, better="higher")["verdict"] == "inconclusive"
    # below the sweep's lowest PSNR only the anchor (rate 0, the constant image's PSNR) defines the frontier
    low = [(3.0, 8.0)] * 2
    assert frontier.bootstrap_gap(sweep, low, "rate_saving")["value"] is None
    anchored = frontier.bootstrap_gap(sweep, low, "rate_saving", anchor=(0.0, 6.0))
    assert anchored["value"] == pytest.approx(np.mean([a[0] for a in sweep[8]]) * (8.0 - 6.0) /
                                              (np.mean([a[1] for a in sweep[8]]) - 6.0) - 3.0, rel=1e-6)
    assert claims.threshold("above", frontier.bootstrap_gap(sweep, low, "rate_saving"), 0.0,
                            better="higher")["verdict"] == "inconclusive"  # no value: nothing decides
    with pytest.raises(ValueError, match="kind must be"):
        frontier.bootstrap_gap(sweep, above, kind="nope")


def test_matched_snapshots_read_only_the_validation_split(monkeypatch):
    """W Table 1's matched-rFID selection: the target and the snapshots come from validation images only."""
    import torch

    from tvclab import evaluation

    asked = []

    def fake_reference(dataset, split, n, image_size=None, root=None):
        asked.append(split)
        return torch.zeros(n, 1, 28, 28)

    curves = {"a": {50: 9.0, 100: 6.0, 150: 4.0}, "b": {50: 8.0, 100: 7.0, 150: 6.5}, "c": {50: 6.7, 100: 5.0}}
    monkeypatch.setattr(evaluation, "reference_images", fake_reference)
    monkeypatch.setattr(evaluation, "snapshot_curve", lambda d, real, *a, **k: curves[d])
    m = evaluation.matched_snapshots({"a": "a", "b": "b", "c": "c"}, "fashion_mnist", 16)
    assert asked == ["val"] and m["split"] == "val"
    assert m["target"] == 6.5                       # the worst run's best value: every run reaches it
    # the first snapshot within 5% of it (<= 6.825): c's 6.7 at step 50 counts, though above the target
    assert m["steps"] == {"a": 100, "b": 150, "c": 50} and m["value"]["a"] == 6.0 and m["tolerance"] == 0.05
    assert all(v <= 1.05 for v in m["ratio"].values())
    assert evaluation.first_reaching(curves["a"], 6.0) == 100 and evaluation.first_reaching(curves["b"], 5.0) is None


def test_smooth_curve_is_a_centred_running_mean():
    """smooth_curve: window 1 is the identity, window 3 averages each snapshot with its neighbours (two at the ends),
    and an even window is refused with the fix."""
    import pytest

    from tvclab import evaluation

    c = {10: 3.0, 20: 9.0, 30: 3.0, 40: 6.0}
    assert evaluation.smooth_curve(c, 1) == c
    assert evaluation.smooth_curve(c, 3) == {10: 6.0, 20: 5.0, 30: 6.0, 40: 4.5}
    with pytest.raises(ValueError, match="odd"):
        evaluation.smooth_curve(c, 2)


def test_matched_snapshots_smoothed_and_set_by_the_compared_rows(monkeypatch):
    """The target is the worst best value of the rows in ``among`` on the smoothed curves; a row outside ``among``
    that never reaches it gets None; a one-snapshot dip that the raw curve would match is smoothed away."""
    import torch

    from tvclab import evaluation

    curves = {"a": {10: 9.0, 20: 5.0, 30: 9.0, 40: 6.0, 50: 6.0, 60: 6.0},   # one dip at 20, then flat at 6
              "b": {10: 8.0, 20: 7.0, 30: 6.0, 40: 6.0, 50: 6.0, 60: 6.0},
              "far": {10: 20.0, 20: 19.0, 30: 18.0, 40: 18.0, 50: 18.0, 60: 18.0}}
    monkeypatch.setattr(evaluation, "reference_images", lambda *a, **k: torch.zeros(4, 1, 28, 28))
    monkeypatch.setattr(evaluation, "snapshot_curve", lambda d, real, *a, **k: curves[d])
    raw = evaluation.matched_snapshots({r: r for r in curves}, "fashion_mnist", 16, among=["a", "b"])
    assert raw["target"] == 6.0 and raw["steps"] == {"a": 20, "b": 30, "far": None} and raw["ratio"]["far"] is None
    sm = evaluation.matched_snapshots({r: r for r in curves}, "fashion_mnist", 16, among=["a", "b"], smooth=3)
    assert sm["target"] == 6.0 and sm["steps"]["a"] == 50 and sm["steps"]["b"] == 40  # the dip no longer counts
    assert sm["raw"]["a"] == 6.0 and abs(sm["ratio"]["b"] - 1.0) < 1e-12 and sm["smooth"] == 3
