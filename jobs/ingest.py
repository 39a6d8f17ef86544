"""spark-submit entry for `csc-demand ingest`: deploy/spark-submit.sh jobs/ingest.py [OPTIONS] (profile cluster by default)."""
import sys

from csc_demand.entrypoints import submit_job

if __name__ == "__main__":
    sys.exit(submit_job("ingest"))
