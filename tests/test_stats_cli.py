"""``imcorr corr --pvalue ...`` (the statistics options of the corr command)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import imcorr
from imcorr.cli import main


@pytest.fixture
def pair(tmp_path):
    a, b = imcorr.gaussian_random_field_pair((96, 96), 3, rho=0.2, seed=1)
    pa, pb = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(pa, a)
    np.save(pb, b)
    return str(pa), str(pb), a, b


def test_corr_pvalue_effective_n_json(pair, capsys):
    pa, pb, a, b = pair
    assert main(["corr", pa, pb, "--pvalue", "effective_n", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ref = imcorr.pearson(a, b, pvalue_method="effective_n")
    assert d["pvalue_method"] == "effective_n"
    assert d["n_effective"] == pytest.approx(ref.n_effective) and d["pvalue"] == pytest.approx(ref.pvalue)
    assert d["confidence_interval"]["low"] == pytest.approx(ref.confidence_interval().low)


def test_corr_pvalue_block_permutation_table_and_json(pair, capsys):
    pa, pb, a, b = pair
    args = ["corr", pa, pb, "--pvalue", "block_permutation", "--permutations", "99", "--seed", "5"]
    assert main(args + ["--block-size", "8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ref = imcorr.pearson(a, b, pvalue_method="block_permutation", permutations=99, seed=5, block_size=8)
    assert d["permutations"] == 99 and d["seed"] == 5 and d["block_size"] == [8, 8]
    assert d["pvalue"] == pytest.approx(ref.pvalue)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "block_permutation" in out and "99 permutations" in out


def test_corr_pvalue_errors(pair, capsys):
    pa, pb, _, _ = pair
    assert main(["corr", pa, pb, "--pvalue", "effective_n", "--method", "spearman"]) == 2
    assert "pearson only" in capsys.readouterr().err
    assert main(["corr", pa, pb, "--pvalue", "block_permutation", "--block-size", "500"]) == 2  # option refused
    assert "larger than the image" in capsys.readouterr().err
    assert main(["corr", pa, pb, "--pvalue", "bogus"]) == 2
