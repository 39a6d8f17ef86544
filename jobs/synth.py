"""spark-submit entry for `csc-demand synth`: deploy/spark-submit.sh jobs/synth.py [OPTIONS] (profile cluster by default)."""
import sys

from csc_demand.entrypoints import submit_job

if __name__ == "__main__":
    sys.exit(submit_job("synth"))
