"""LCA speed: this estimator vs StepMix on the same data, and full model selection at scale 1.0.

1. 1 million assessments simulated from a 12-class model (the synthetic generator's true parameters when
   csc_demand.synth is installed, else csc_demand.model.simulate.study_like_parameters), k = 12, 10 starts:
   LatentClassAnalysis (Spark DataFrame in: compression + EM) and StepMix (numpy array in), one run, same data.
   Both stop at a comparable tolerance: ours at a relative log-likelihood change of 1e-8, StepMix at an absolute
   change of the mean log-likelihood of 1e-8 x |mean log-likelihood| (the same criterion).
2. Full selection k = 2..15, 10 starts each, on 3.6 million simulated assessments (the study's count with factors).

Usage: python benchmarks/bench_lca.py [--rows 1000000] [--selection-rows 3600000] [--skip-stepmix]
Writes benchmarks/results/lca.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from csc_demand.config import load_config
from csc_demand.spark import get_spark
from csc_demand.model import LatentClassAnalysis
from csc_demand.model.selection import choose_k, fit_range
from csc_demand.model.simulate import assessments_frame, simulate, study_like_parameters

RESULTS = Path(__file__).parent / "results" / "lca.json"


def truth_parameters():
    try:
        from csc_demand.synth import params as synth
        sizes = np.mean([synth.class_sizes(y) for y in synth.CALIBRATION_YEARS], axis=0)
        return "csc_demand.synth.params (synthetic generator truth)", sizes, synth.conditional_probabilities()
    except ImportError:
        p = study_like_parameters()
        return "csc_demand.model.simulate.study_like_parameters", np.array(p["class_sizes"]), np.array(
            p["conditional_probabilities"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--selection-rows", type=int, default=3_600_000)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-stepmix", action="store_true")
    parser.add_argument("--stepmix-starts", type=int, default=None,
                        help="starts StepMix actually runs (default: --starts); StepMix runs starts one after "
                             "another, so its time for --starts starts is projected linearly when this is smaller")
    parser.add_argument("--stepmix-max-iter", type=int, default=500)
    parser.add_argument("--skip-selection", action="store_true")
    args = parser.parse_args()

    source, sizes, theta = truth_parameters()
    tmp = tempfile.mkdtemp(prefix="bench-lca-")
    cfg = load_config(profile="local", overrides={"lakehouse": tmp, "spark.driver_memory": "8g"})
    spark = get_spark(cfg, "bench-lca")
    result = {"machine": {"cpus": __import__("os").cpu_count(), "python": sys.version.split()[0],
                          "platform": platform.platform()},
              "truth": source, "k": 12, "starts": args.starts, "seed": args.seed}

    X_compare, _ = simulate(sizes, theta, args.rows, seed=args.seed)
    frame = assessments_frame(spark, X_compare).select("indicators").cache()
    frame.count()
    started = time.time()
    model = LatentClassAnalysis(k=12, nStarts=args.starts, seed=args.seed).fit(frame)
    ours_seconds = time.time() - started
    frame.unpersist()
    result["comparison"] = {"rows": args.rows, "ours_seconds": round(ours_seconds, 2),
                            "ours_loglik": model.logLikelihood, "ours_patterns": model.numPatterns,
                            "ours_iterations_best": model.fitInfo["n_iter"]}
    print(f"ours:    {ours_seconds:8.1f} s  loglik {model.logLikelihood:.2f}  ({model.numPatterns} patterns)",
          flush=True)

    if not args.skip_selection:
        X, _ = simulate(sizes, theta, args.selection_rows, seed=args.seed + 1)
        frame = assessments_frame(spark, X).select("indicators").cache()
        frame.count()
        del X
        started = time.time()
        estimator = LatentClassAnalysis(nStarts=args.starts, seed=args.seed)
        patterns = estimator.prepare_patterns(frame)
        compress_seconds = time.time() - started
        fits = fit_range(estimator, patterns, range(2, 16),
                         on_fit=lambda f: print(f"k={f.k:2d}  {f.metrics['seconds']:6.1f} s  BIC {f.metrics['bic']:.1f}",
                                                flush=True))
        total = time.time() - started
        result["selection"] = {
            "rows": args.selection_rows, "k_range": [2, 15], "patterns": patterns.n_patterns,
            "compress_seconds": round(compress_seconds, 2), "total_seconds": round(total, 2),
            "chosen_k": choose_k(fits),
            "per_k": [{"k": f.k, "seconds": round(f.metrics["seconds"], 2), "loglik": f.metrics["loglik"],
                       "bic": f.metrics["bic"], "entropy_r2": f.metrics["entropy_r2"]} for f in fits]}
        print(f"selection k 2..15 x {args.starts} starts on {args.selection_rows} rows: {total:.1f} s "
              f"(chosen k {result['selection']['chosen_k']})", flush=True)
        RESULTS.write_text(json.dumps(result, indent=2))
    if not args.skip_stepmix:
        from stepmix.stepmix import StepMix

        Xf = X_compare.astype(float)
        mean_ll = model.logLikelihood / args.rows
        stepmix_starts = args.stepmix_starts or args.starts
        reference = StepMix(n_components=12, measurement="binary", n_init=stepmix_starts, random_state=args.seed,
                            max_iter=args.stepmix_max_iter, abs_tol=1e-8 * abs(mean_ll), progress_bar=0, verbose=0)
        started = time.time()
        reference.fit(Xf)
        measured = time.time() - started
        stepmix_seconds = measured * args.starts / stepmix_starts
        stepmix_ll = float(reference.score(Xf) * args.rows)
        result["comparison"].update(stepmix_starts_run=stepmix_starts, stepmix_measured_seconds=round(measured, 2),
                                    stepmix_iterations_last_start=int(reference.n_iter_),
                                    stepmix_seconds=round(stepmix_seconds, 2), stepmix_loglik=stepmix_ll,
                                    stepmix_seconds_projected=stepmix_starts < args.starts,
                                    speedup=round(stepmix_seconds / ours_seconds, 1),
                                    loglik_difference=model.logLikelihood - stepmix_ll)
        print(f"StepMix: {stepmix_seconds:8.1f} s  loglik {stepmix_ll:.2f}  ({stepmix_starts} start(s) run in "
              f"{measured:.1f} s{', time projected to ' + str(args.starts) + ' starts' if stepmix_starts < args.starts else ''})",
              flush=True)
        print(f"ratio:   {stepmix_seconds / ours_seconds:8.1f} x faster; loglik difference (ours - StepMix) "
              f"{model.logLikelihood - stepmix_ll:+.2f}", flush=True)
        RESULTS.write_text(json.dumps(result, indent=2))

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
