"""Demo section: honest p-values (iid vs effective n vs block permutation)."""

from __future__ import annotations


def run(ctx) -> None:
    import imcorr

    ref, mov = ctx.reference, ctx.moving
    rows = []
    for method in ("iid", "effective_n", "block_permutation"):
        res = imcorr.pearson(ref, mov, pvalue_method=method, permutations=199, seed=0)
        ci = res.confidence_interval()
        n_eff = res.n if res.n_effective is None else res.n_effective
        rows.append((method, res.r, res.pvalue, n_eff, (ci.low, ci.high)))
    # an unrelated pair: the reference against a flipped copy of itself
    flipped = ref[::-1, ::-1]
    for method in ("iid", "effective_n"):
        res = imcorr.pearson(ref, flipped, pvalue_method=method)
        rows.append((f"{method} (vs flipped copy)", res.r, res.pvalue, res.n_effective or res.n, "-"))
    ctx.table(
        "significance of r: neighbouring pixels are not independent",
        rows,
        columns=("p-value method", "r", "p", "n (effective)", "95% CI"),
    )
    ctx.table(
        "autocorrelation length (1/e) of the images",
        [("reference", imcorr.autocorrelation_length(ref)), ("moving", imcorr.autocorrelation_length(mov))],
        columns=("image", "pixels"),
    )
