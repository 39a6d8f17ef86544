"""spark-submit entry for `csc-demand report`: deploy/spark-submit.sh jobs/report.py [OPTIONS] (profile cluster by default)."""
import sys

from csc_demand.entrypoints import submit_job

if __name__ == "__main__":
    sys.exit(submit_job("report"))
