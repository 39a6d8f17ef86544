"""spark-submit entry for `csc-demand fit`: deploy/spark-submit.sh jobs/fit.py [OPTIONS] (profile cluster by default)."""
import sys

from csc_demand.entrypoints import submit_job

if __name__ == "__main__":
    sys.exit(submit_job("fit"))
