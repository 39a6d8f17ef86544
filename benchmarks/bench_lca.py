"""LCA speed: this estimator vs StepMix on the same data, and full model selection at scale 1.0.

1. 1 million assessments simulated from a 12-class model (the synthetic generator's true parameters when
   csc_demand.synth is installed, else helpers.simulate.study_like_parameters), k = 12, 10 starts:
   - LatentClassAnalysis: Spark DataFrame in, compression + EM, end to end;
   - StepMix 3.0 on the identical data given as distinct patterns with counts (``fit(..., sample_weight=counts)``:
     the same likelihood, so its best log-likelihood over 10 full starts), timed;
   - StepMix on the raw rows (numpy array), ``--stepmix-raw-starts`` starts (default 1) timed; its time for 10
     starts is projected from the measured time per start (StepMix runs starts one after another).
   All stop at the same tolerance: ours at a relative log-likelihood change of 1e-8, StepMix at an absolute change
   of the mean log-likelihood of 1e-8 x |mean log-likelihood| (the same criterion).
2. Full selection k = 2..15, 10 starts each, on 3.6 million simulated assessments (the study's count with factors).
3. Patterns that do not compress (issue 15): the same 3.6 million simulated rows with every indicator flipped
   independently with probability ``--noise`` (default 0.08: about 1.15 million distinct patterns, above
   maxDriverPatterns, so the E-step runs distributed on Spark), selection k = 2..15, 10 starts each, by the code path
   ``csc-demand fit`` takes (preparePatterns, then fit_range: all k at once, sharing passes), with the passes over
   the patterns counted and timed; then
   StepMix on the same raw rows, one start at k = 12, its 14 k x 10 starts projected from that start. A reduced run
   (``--noise-k 12 12``) projects the 14 k as time proportional to k; every projected figure is named so.

Usage: python benchmarks/bench_lca.py [--rows 1000000] [--selection-rows 3600000] [--skip-stepmix-raw] [--update]
       python benchmarks/bench_lca.py --skip-comparison --skip-selection [--noise 0.08] [--noise-k 2 15] --update
Writes benchmarks/results/lca.json: the previous file's figures move to its "previous" field, unless --update, which
only replaces the sections run now (to split the benchmark over several runs).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from csc_demand.config import load_config
from csc_demand.model import LatentClassAnalysis
from csc_demand.model.selection import choose_k, fit_range
from csc_demand.spark import get_spark
from results_file import commit, load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/helpers, shared with the tests
from helpers.simulate import (  # noqa: E402
    assessments_frame,
    compress,
    simulate,
    study_like_parameters,
)

RESULTS = Path(__file__).parent / "results" / "lca.json"


def truth_parameters():
    try:
        from csc_demand.synth import params as synth
        sizes = np.mean([synth.class_sizes(y) for y in synth.CALIBRATION_YEARS], axis=0)
        return "csc_demand.synth.params (synthetic generator truth)", sizes, synth.conditional_probabilities()
    except ImportError:
        p = study_like_parameters()
        return "helpers.simulate.study_like_parameters", np.array(p["class_sizes"]), np.array(
            p["conditional_probabilities"])


def stepmix_fit(X, weights, n_init: int, seed: int, max_iter: int, mean_ll: float, k: int = 12):
    """StepMix from its own random starts; returns (seconds, log-likelihood of the data, iterations of the best)."""
    from stepmix.stepmix import StepMix

    model = StepMix(n_components=k, measurement="binary", n_init=n_init, random_state=seed, max_iter=max_iter,
                    abs_tol=1e-8 * abs(mean_ll), progress_bar=0, verbose=0)
    started = time.time()
    model.fit(X, sample_weight=weights)
    seconds = time.time() - started
    n_obs = len(X) if weights is None else float(np.sum(weights))
    return seconds, float(model.score(X, sample_weight=weights) * n_obs), int(model.n_iter_)


def add_noise(X: np.ndarray, p: float, seed: int, chunk: int = 500_000) -> np.ndarray:
    """X with every indicator flipped independently with probability p, in place (deterministic for a seed). The
    result is again a latent class model: the same class sizes, conditional probabilities theta (1 - p) + (1 - theta) p.
    """
    rng = np.random.default_rng(seed)
    for lo in range(0, len(X), chunk):
        X[lo:lo + chunk] ^= (rng.random(X[lo:lo + chunk].shape, dtype=np.float32) < p).astype(X.dtype)
    return X


def noncompressing(args, spark, sizes, theta, result: dict, save) -> None:
    """Section 3: selection on rows that do not compress, timed with its distributed E-steps, then StepMix."""
    ks = range(args.noise_k[0], args.noise_k[1] + 1)
    full_ks = range(2, 16)
    X, _ = simulate(sizes, theta, args.noise_rows, seed=args.seed + 2)
    add_noise(X, args.noise, args.seed + 3)
    masks = np.zeros(len(X), dtype=np.int64)
    for j in range(X.shape[1]):  # column by column: no (rows x J) int64 temporary
        masks |= X[:, j].astype(np.int64) << j
    distinct = len(np.unique(masks))
    del masks
    print(f"non-compressing: {args.noise_rows} rows, each indicator flipped with probability {args.noise}: "
          f"{distinct} distinct patterns", flush=True)
    section = result["noncompressing"] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "commit": commit(), "rows": args.noise_rows,
        "noise": args.noise, "data_seed": args.seed + 2, "noise_seed": args.seed + 3, "distinct_patterns": distinct,
        "starts": args.starts, "k_range": [ks[0], ks[-1]]}
    frame = assessments_frame(spark, X).select("indicators").cache()
    frame.count()
    load_before = load()
    started = time.time()
    estimator = LatentClassAnalysis(nStarts=args.starts, seed=args.seed)  # as csc-demand fit builds it
    if args.max_driver_patterns is not None:
        estimator.setParams(maxDriverPatterns=args.max_driver_patterns)
    patterns = estimator.preparePatterns(frame)
    compress_seconds = time.time() - started
    data = patterns.data
    partitions = data.df.rdd.getNumPartitions() if patterns.distributed else None
    print(f"compressed to {patterns.n_patterns} patterns in {compress_seconds:.1f} s; E-step "
          f"{'distributed over ' + str(partitions) + ' partition(s)' if patterns.distributed else 'on the driver'}",
          flush=True)
    passes: list[tuple[int, int, float]] = []  # (E-step requests, scoring requests, seconds) of every pass
    reduce_many = data.reduce_many

    def timed_reduce_many(requests):
        t0 = time.time()
        out = reduce_many(requests)
        e_steps = sum(fn.__name__ == "sufficient_stats" for fn, _ in requests)
        passes.append((e_steps, len(requests) - e_steps, time.time() - t0))
        return out

    data.reduce_many = timed_reduce_many  # type: ignore[method-assign]
    per_k: list[dict] = []

    def on_fit(f):  # the k run at once, sharing passes: seconds are each k's wall time among the others
        per_k.append({"k": f.k, "seconds": round(f.metrics["seconds"], 2), "loglik": f.metrics["loglik"],
                      "bic": f.metrics["bic"], "entropy_r2": f.metrics["entropy_r2"], "n_iter": f.metrics["n_iter"],
                      "converged": bool(f.metrics["converged"])})
        print(f"k={f.k:2d}  done after {f.metrics['seconds']:7.1f} s  loglik {f.metrics['loglik']:.1f}  "
              f"{f.metrics['n_iter']} E-steps for its best start", flush=True)

    try:
        fits = fit_range(estimator, patterns, ks, on_fit=on_fit)
    finally:
        patterns.release()
        frame.unpersist()
    total = time.time() - started
    fit_seconds = total - compress_seconds
    section.update(
        patterns=patterns.n_patterns, distributed_e_step=patterns.distributed, pattern_partitions=partitions,
        compress_seconds=round(compress_seconds, 2), measured_seconds=round(total, 2),
        load_average_before=load_before, load_average_after=load(), per_k=per_k,
        passes=len(passes), pass_seconds=round(sum(p[2] for p in passes), 2),
        e_step_requests=sum(p[0] for p in passes), scoring_requests=sum(p[1] for p in passes),
        most_requests_in_a_pass=max((p[0] + p[1] for p in passes), default=0))
    print(f"{len(passes)} passes over the patterns, {section['pass_seconds']} s, carrying {section['e_step_requests']} "
          f"E-steps and {section['scoring_requests']} scoring passes of single k", flush=True)
    if list(ks) == list(full_ks):
        section.update(chosen_k=choose_k(fits), total_seconds=round(total, 2), total_seconds_projected=False)
        figure = f"measured {total:.1f} s"
    else:  # time per k taken as proportional to k, at the measured seconds per class
        per_class = fit_seconds / sum(ks)
        projected = compress_seconds + per_class * sum(full_ks)
        section.update(total_seconds=round(projected, 2), total_seconds_projected=True,
                       projection="compression measured; k 2..15 projected as (fit seconds / sum of k measured) x "
                                  f"sum of k 2..15, from k {ks[0]}..{ks[-1]} measured (from k 12 likely an "
                                  "overestimate: small k converge in far fewer E-steps)")
        figure = f"measured {total:.1f} s for k {ks[0]}..{ks[-1]}, PROJECTED {projected:.0f} s for k 2..15"
    section["under_10_minutes"] = section["total_seconds"] < 600
    print(f"non-compressing selection, {args.starts} starts, {patterns.n_patterns} patterns: {figure} "
          f"(compression {compress_seconds:.1f} s, load {load_before} -> {section['load_average_after']})", flush=True)
    save()

    if args.skip_noise_stepmix:
        return
    at_k = [f for f in fits if f.k == args.noise_stepmix_k] or [fits[-1]]
    mean_ll = at_k[0].metrics["loglik"] / args.noise_rows  # the tolerance criterion of section 1
    load_before = load()
    seconds, ll, n_iter = stepmix_fit(X.astype(float), None, 1, args.seed, args.stepmix_max_iter, mean_ll,
                                      k=args.noise_stepmix_k)
    flat = seconds * 10 * len(full_ks)
    k_scaled = seconds * 10 * sum(full_ks) / args.noise_stepmix_k
    section["stepmix"] = {
        "k": args.noise_stepmix_k, "starts_run": 1, "seconds_measured": round(seconds, 2), "loglik": ll,
        "iterations": n_iter, "max_iter": args.stepmix_max_iter, "tolerance_from_our_fit_at_k": at_k[0].k,
        "load_average_before": load_before, "load_average_after": load(),
        "seconds_projected_14k_x_10_starts": round(flat, 2),
        "seconds_projected_14k_x_10_starts_proportional_to_k": round(k_scaled, 2),
        "projection": "measured seconds of one start x 10 starts x 14 k (each k at this k's cost); the second figure "
                      "scales each k by k / this k (E-step cost is linear in k)"}
    print(f"StepMix on the raw {args.noise_rows} rows, 1 start at k={args.noise_stepmix_k}: measured {seconds:.1f} s, "
          f"{n_iter} iterations, loglik {ll:.1f}; PROJECTED 14 k x 10 starts: {flat:.0f} s "
          f"({k_scaled:.0f} s with time proportional to k) (load {load_before} -> {load()})", flush=True)
    save()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--selection-rows", type=int, default=3_600_000)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--skip-comparison", action="store_true")
    parser.add_argument("--skip-stepmix", action="store_true")
    parser.add_argument("--skip-stepmix-patterns", action="store_true")
    parser.add_argument("--skip-stepmix-raw", action="store_true")
    parser.add_argument("--stepmix-raw-starts", type=int, default=1)
    parser.add_argument("--stepmix-max-iter", type=int, default=500)
    parser.add_argument("--skip-selection", action="store_true")
    parser.add_argument("--skip-noncompressing", action="store_true")
    parser.add_argument("--noise", type=float, default=0.08,
                        help="probability each indicator is flipped in the non-compressing section")
    parser.add_argument("--noise-rows", type=int, default=3_600_000)
    parser.add_argument("--noise-k", type=int, nargs=2, default=[2, 15], metavar=("K_MIN", "K_MAX"),
                        help="k range of the non-compressing selection (less than 2..15: total projected)")
    parser.add_argument("--noise-stepmix-k", type=int, default=12)
    parser.add_argument("--skip-noise-stepmix", action="store_true")
    parser.add_argument("--max-driver-patterns", type=int,
                        help="the estimator's maxDriverPatterns (default: its own, as csc-demand fit uses; 0 forces "
                             "the distributed E-step on a small test run)")
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.update:
        result = old
    else:
        result = {"previous": {key: value for key, value in old.items() if key != "previous"}}
    source, sizes, theta = truth_parameters()
    tmp = tempfile.mkdtemp(prefix="bench-lca-")
    cfg = load_config(profile="local", overrides={"lakehouse": tmp, "spark.driver_memory": args.driver_memory})
    spark = get_spark(cfg, "bench-lca")
    result.update({"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                               "platform": platform.platform()}, "truth": source})
    if not (args.skip_comparison and args.skip_selection):  # what sections 1 and 2 ran with
        result.update({"k": 12, "starts": args.starts, "seed": args.seed})

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))

    if not args.skip_comparison:
        X_compare, _ = simulate(sizes, theta, args.rows, seed=args.seed)
        frame = assessments_frame(spark, X_compare).select("indicators").cache()
        frame.count()
        load_before = load()
        started = time.time()
        model = LatentClassAnalysis(k=12, nStarts=args.starts, seed=args.seed).fit(frame)
        ours_seconds = time.time() - started
        frame.unpersist()
        comparison = result.setdefault("comparison", {})
        comparison.update(rows=args.rows, ours_seconds=round(ours_seconds, 2), ours_load_average=load_before,
                          ours_loglik=model.logLikelihood, ours_patterns=model.numPatterns,
                          ours_iterations_best=model.fitInfo["n_iter"])
        print(f"ours:    {ours_seconds:8.1f} s  loglik {model.logLikelihood:.2f}  ({model.numPatterns} patterns, "
              f"load {load_before})", flush=True)
        save()
        mean_ll = model.logLikelihood / args.rows
        if not (args.skip_stepmix or args.skip_stepmix_patterns):
            patterns, counts = compress(X_compare)
            load_before = load()
            seconds, ll, n_iter = stepmix_fit(patterns.astype(float), counts.astype(float), args.starts, args.seed,
                                              args.stepmix_max_iter, mean_ll)
            comparison.update(stepmix_patterns_starts=args.starts, stepmix_patterns_seconds=round(seconds, 2),
                              stepmix_patterns_loglik=ll, stepmix_patterns_iterations_best=n_iter,
                              stepmix_patterns_load_average=load_before,
                              speedup_vs_stepmix_patterns=round(seconds / ours_seconds, 1),
                              loglik_difference_vs_stepmix_patterns=model.logLikelihood - ll)
            print(f"StepMix on the {len(counts)} weighted patterns, {args.starts} starts: {seconds:8.1f} s  loglik "
                  f"{ll:.2f}  (load {load_before})", flush=True)
            save()
    if not args.skip_selection:
        X, _ = simulate(sizes, theta, args.selection_rows, seed=args.seed + 1)
        frame = assessments_frame(spark, X).select("indicators").cache()
        frame.count()
        del X
        load_before = load()
        started = time.time()
        estimator = LatentClassAnalysis(nStarts=args.starts, seed=args.seed)
        patterns = estimator.preparePatterns(frame)
        compress_seconds = time.time() - started
        fits = fit_range(estimator, patterns, range(2, 16),
                         on_fit=lambda f: print(f"k={f.k:2d}  {f.metrics['seconds']:6.1f} s  loglik "
                                                f"{f.metrics['loglik']:.1f}", flush=True))
        total = time.time() - started
        result["selection"] = {
            "rows": args.selection_rows, "k_range": [2, 15], "patterns": patterns.n_patterns,
            "compress_seconds": round(compress_seconds, 2), "total_seconds": round(total, 2),
            "load_average_before": load_before, "load_average_after": load(),
            "chosen_k": choose_k(fits),
            "per_k": [{"k": f.k, "seconds": round(f.metrics["seconds"], 2), "loglik": f.metrics["loglik"],
                       "bic": f.metrics["bic"], "entropy_r2": f.metrics["entropy_r2"]} for f in fits]}
        print(f"selection k 2..15 x {args.starts} starts on {args.selection_rows} rows: {total:.1f} s "
              f"(compression {compress_seconds:.1f} s, chosen k {result['selection']['chosen_k']}, "
              f"load {load_before} -> {load()})", flush=True)
        save()

    if not (args.skip_comparison or args.skip_stepmix or args.skip_stepmix_raw):  # last: by far the longest step
        load_before = load()
        seconds, ll, n_iter = stepmix_fit(X_compare.astype(float), None, args.stepmix_raw_starts, args.seed,
                                          args.stepmix_max_iter, mean_ll)
        per_start = seconds / args.stepmix_raw_starts
        comparison.update(stepmix_raw_starts_run=args.stepmix_raw_starts, stepmix_raw_seconds=round(seconds, 2),
                          stepmix_raw_seconds_per_start=round(per_start, 2),
                          stepmix_raw_seconds_projected=round(per_start * args.starts, 2),
                          stepmix_raw_loglik=ll, stepmix_raw_iterations_best=n_iter,
                          stepmix_raw_load_average=load_before,
                          speedup_vs_stepmix_raw_projected=round(per_start * args.starts / ours_seconds, 1))
        print(f"StepMix on the raw rows, {args.stepmix_raw_starts} start(s): {seconds:8.1f} s  loglik {ll:.2f}; "
              f"{args.starts} starts projected at {per_start * args.starts:.0f} s (load {load_before})", flush=True)
        save()

    if not args.skip_noncompressing:  # after the others: its StepMix start on 3.6M raw rows is longer still
        noncompressing(args, spark, sizes, theta, result, save)

    save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
