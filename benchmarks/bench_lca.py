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

Usage: python benchmarks/bench_lca.py [--rows 1000000] [--selection-rows 3600000] [--skip-stepmix-raw] [--update]
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


def stepmix_fit(X, weights, n_init: int, seed: int, max_iter: int, mean_ll: float):
    """StepMix from its own random starts; returns (seconds, log-likelihood of the data, iterations of the best)."""
    from stepmix.stepmix import StepMix

    model = StepMix(n_components=12, measurement="binary", n_init=n_init, random_state=seed, max_iter=max_iter,
                    abs_tol=1e-8 * abs(mean_ll), progress_bar=0, verbose=0)
    started = time.time()
    model.fit(X, sample_weight=weights)
    seconds = time.time() - started
    n_obs = len(X) if weights is None else float(np.sum(weights))
    return seconds, float(model.score(X, sample_weight=weights) * n_obs), int(model.n_iter_)


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


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
                               "platform": platform.platform()},
                   "truth": source, "k": 12, "starts": args.starts, "seed": args.seed})

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))

    if not args.skip_comparison:
        X_compare, _ = simulate(sizes, theta, args.rows, seed=args.seed)
        frame = assessments_frame(spark, X_compare).select("indicators").cache()
        frame.count()
        load = load_average()
        started = time.time()
        model = LatentClassAnalysis(k=12, nStarts=args.starts, seed=args.seed).fit(frame)
        ours_seconds = time.time() - started
        frame.unpersist()
        comparison = result.setdefault("comparison", {})
        comparison.update(rows=args.rows, ours_seconds=round(ours_seconds, 2), ours_load_average=load,
                          ours_loglik=model.logLikelihood, ours_patterns=model.numPatterns,
                          ours_iterations_best=model.fitInfo["n_iter"])
        print(f"ours:    {ours_seconds:8.1f} s  loglik {model.logLikelihood:.2f}  ({model.numPatterns} patterns, "
              f"load {load})", flush=True)
        save()
        mean_ll = model.logLikelihood / args.rows
        if not (args.skip_stepmix or args.skip_stepmix_patterns):
            patterns, counts = compress(X_compare)
            load = load_average()
            seconds, ll, n_iter = stepmix_fit(patterns.astype(float), counts.astype(float), args.starts, args.seed,
                                              args.stepmix_max_iter, mean_ll)
            comparison.update(stepmix_patterns_starts=args.starts, stepmix_patterns_seconds=round(seconds, 2),
                              stepmix_patterns_loglik=ll, stepmix_patterns_iterations_best=n_iter,
                              stepmix_patterns_load_average=load,
                              speedup_vs_stepmix_patterns=round(seconds / ours_seconds, 1),
                              loglik_difference_vs_stepmix_patterns=model.logLikelihood - ll)
            print(f"StepMix on the {len(counts)} weighted patterns, {args.starts} starts: {seconds:8.1f} s  loglik "
                  f"{ll:.2f}  (load {load})", flush=True)
            save()
    if not args.skip_selection:
        X, _ = simulate(sizes, theta, args.selection_rows, seed=args.seed + 1)
        frame = assessments_frame(spark, X).select("indicators").cache()
        frame.count()
        del X
        load = load_average()
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
            "load_average_before": load, "load_average_after": load_average(),
            "chosen_k": choose_k(fits),
            "per_k": [{"k": f.k, "seconds": round(f.metrics["seconds"], 2), "loglik": f.metrics["loglik"],
                       "bic": f.metrics["bic"], "entropy_r2": f.metrics["entropy_r2"]} for f in fits]}
        print(f"selection k 2..15 x {args.starts} starts on {args.selection_rows} rows: {total:.1f} s "
              f"(compression {compress_seconds:.1f} s, chosen k {result['selection']['chosen_k']}, "
              f"load {load} -> {load_average()})", flush=True)
        save()

    if not (args.skip_comparison or args.skip_stepmix or args.skip_stepmix_raw):  # last: by far the longest step
        load = load_average()
        seconds, ll, n_iter = stepmix_fit(X_compare.astype(float), None, args.stepmix_raw_starts, args.seed,
                                          args.stepmix_max_iter, mean_ll)
        per_start = seconds / args.stepmix_raw_starts
        comparison.update(stepmix_raw_starts_run=args.stepmix_raw_starts, stepmix_raw_seconds=round(seconds, 2),
                          stepmix_raw_seconds_per_start=round(per_start, 2),
                          stepmix_raw_seconds_projected=round(per_start * args.starts, 2),
                          stepmix_raw_loglik=ll, stepmix_raw_iterations_best=n_iter,
                          stepmix_raw_load_average=load,
                          speedup_vs_stepmix_raw_projected=round(per_start * args.starts / ours_seconds, 1))
        print(f"StepMix on the raw rows, {args.stepmix_raw_starts} start(s): {seconds:8.1f} s  loglik {ll:.2f}; "
              f"{args.starts} starts projected at {per_start * args.starts:.0f} s (load {load})", flush=True)
        save()

    save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
