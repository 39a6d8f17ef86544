"""spark-submit entry for the whole pipeline (`csc-demand run`): synthesises a small input set when no --source
is given, then ingest -> fit -> classify -> outcomes -> report. deploy/spark-submit.sh jobs/pipeline.py --lakehouse DIR"""
import sys

from csc_demand.entrypoints import submit_job

if __name__ == "__main__":
    sys.exit(submit_job("run"))
