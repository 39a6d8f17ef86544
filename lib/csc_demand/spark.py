"""The one place that builds or reuses a SparkSession.

- local: ``local[2]`` in this process, Delta extensions and catalog, Delta jars fetched through Ivy on first use.
- cluster: ``spark-submit`` has set master, resources and ``--packages``; we only add the Delta settings.
- databricks: reuse the active session; Delta is built in.
- Spark Connect (``spark.remote`` in the config or the ``SPARK_REMOTE`` environment variable; Databricks serverless,
  whose active session is a Connect one): a client session. It has no SparkContext, RDDs or JVM, so everything
  else here and in ``io.hadoop_fs``, ``io.file_check``, ``io.delta`` and ``runlog`` asks ``is_connect`` first.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from py4j.java_gateway import JVMView
from pyspark import SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from csc_demand.config import Config
from csc_demand.errors import ConfigurationError, SparkStartError

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
COMMON_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    # HotSpot does not JIT-compile methods over 8,000 bytes of bytecode; whole-stage code for a table's rules grew
    # past that and ran interpreted (README, ingest benchmark). Spark generates smaller, split code for such plans
    # instead.
    "spark.sql.codegen.hugeMethodLimit": "8000",
    # Cached DataFrames stay uncompressed: ingest caches records full of 64-character hex keys, which compression
    # shrank a little while its dictionary building took a large share of ingest CPU (README, ingest benchmark).
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    # PySpark otherwise records the Python call site of every DataFrame function (a stack walk and four py4j
    # round trips each) for its error messages: half the driver time of building synth's large expressions
    # (profile in benchmarks/results/synth_profile.json). Errors still name the failing expression.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


def _base_builder(cfg: Config, app_name: str) -> SparkSession.Builder:
    builder = SparkSession.builder.appName(app_name)
    settings = {
        **COMMON_CONF,
        **DELTA_CONF,
        "spark.sql.shuffle.partitions": str(cfg.spark.shuffle_partitions),
        "spark.ui.enabled": str(cfg.spark.ui).lower(),
        **{k: str(v) for k, v in cfg.spark.extra.items()},
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder


def is_connect(spark: SparkSession) -> bool:
    """A Spark Connect session (pyspark's own class for it), not a classic one with a SparkContext."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:  # the Connect client's packages (grpcio...) are not installed: no Connect session either
        return False
    return isinstance(spark, ConnectSession)


def _remote(cfg: Config) -> str | None:
    return cfg.spark.remote or os.environ.get("SPARK_REMOTE") or None


def _connect(cfg: Config, url: str, app_name: str) -> SparkSession:
    """A Connect session to ``url`` with the runtime SQL settings this project uses. The server's own settings
    (Delta's extension and catalog, memory, packages) are the server's: its operator sets them at start
    (docs/running.md, "Spark Connect and serverless")."""
    refuse_unanswered_connect(url)
    spark = SparkSession.builder.remote(url).appName(app_name).getOrCreate()
    settings = {**COMMON_CONF, "spark.sql.shuffle.partitions": str(cfg.spark.shuffle_partitions),
                **{k: str(v) for k, v in cfg.spark.extra.items()}}
    for key, value in settings.items():
        if spark.conf.isModifiable(key):
            spark.conf.set(key, value)
    return spark


def connect_progress_handler(spark: SparkSession) -> None:
    """Keep the latest progress of each running Connect operation for the heartbeat (runlog.spark_progress), as
    statusTracker does for a classic session; the server sends it while an operation runs."""
    from csc_demand import runlog

    spark.registerProgressHandler(runlog.record_connect_progress)


def get_spark(cfg: Config, app_name: str = "csc-demand") -> SparkSession:
    active = SparkSession.getActiveSession()
    if active is None and SparkContext._active_spark_context is not None:
        # A session started on another thread (the active session is per thread): take it as it is. A builder
        # with this config's options would set them on it, changing the SQL settings its owner chose.
        active = SparkSession.builder.getOrCreate()
    if active is not None:
        if is_connect(active):
            connect_progress_handler(active)
        return active
    url = _remote(cfg)
    if url:
        spark = _connect(cfg, url, app_name)
        connect_progress_handler(spark)
        # The server's Python workers run this project's functions (mapInArrow, UDFs): fail now if they cannot.
        sys.stderr.write(f"[csc-demand] Spark Connect server {url}; its Python workers: {executors_python(spark)}\n")
        return spark
    if cfg.profile == "databricks" or "DATABRICKS_RUNTIME_VERSION" in os.environ:
        spark = SparkSession.builder.getOrCreate()  # on serverless a Connect session
        if is_connect(spark):
            connect_progress_handler(spark)
        return spark
    builder = _base_builder(cfg, app_name)
    if cfg.profile == "local" or cfg.spark.master:
        from delta import (
            configure_spark_with_delta_pip,  # jars through Ivy, version matched to delta-spark
        )

        master = cfg.spark.master or "local[2]"
        refuse_unanswered_master(master)
        builder = builder.master(master)
        # Python workers (mapInArrow, pandas functions) must run this interpreter, which has the package installed.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if cfg.spark.driver_memory:
            builder = builder.config("spark.driver.memory", cfg.spark.driver_memory)
        builder = configure_spark_with_delta_pip(builder, extra_packages=cfg.spark.packages)
        spark = start_stoppably(lambda: start_fetching_jars(builder, cfg.spark.packages))
    else:
        spark = start_stoppably(builder.getOrCreate)
    spark.sparkContext.setLogLevel("WARN")
    _drop_jars_from_python_path(spark.sparkContext)
    require_delta(spark)
    if not (cfg.profile == "local" or cfg.spark.master):
        # Under spark-submit: one task now, so an executor Python that cannot start, or differs from the driver's
        # version, fails here and not at the first Python task (the E-step) after hours of ingest.
        sys.stderr.write(f"[csc-demand] executors' Python: {executors_python(spark)}\n")
    return spark


def refuse_unanswered_master(master: str) -> None:
    """A standalone master (``spark://host:port``, several for a standby pair) that nothing answers at: said at once.
    Spark itself tries to register for a minute and then fails with "Cannot call methods on a stopped SparkContext"."""
    if master.startswith("spark://"):
        _refuse_unanswered("spark.master", master, master[len("spark://"):].split(","), 7077,
                           "start the standalone master (e.g. deploy/standalone/start.sh) or give the master's address "
                           "(spark://HOST:PORT, port 7077 by default)")


def refuse_unanswered_connect(url: str) -> None:
    """A Spark Connect server (``sc://host:port/;params``) that nothing answers at: said at once; the client retries
    for minutes, silent. Not checked behind a proxy (gRPC would go through it, not straight to the host)."""
    if url.startswith("sc://") and not any(os.environ.get(v) for v in ("grpc_proxy", "https_proxy", "http_proxy")):
        _refuse_unanswered("spark.remote", url, [url[len("sc://"):].split("/")[0]], 15002,
                           "start the Connect server (e.g. deploy/connect/start.sh) or give its address "
                           "(sc://HOST:PORT, port 15002 by default)")


def _refuse_unanswered(setting: str, location: str, addresses: list[str], default_port: int, what_to_do: str,
                       timeout: float = 5.0) -> None:
    """SparkStartError unless one of ``addresses`` (host:port, or host with ``default_port``) takes a connection."""
    for address in addresses:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", str(default_port))
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError):
            continue
    raise SparkStartError(f"nothing answers at {setting} {location}: {what_to_do}, then run again")


JAR_FETCH_RETRY_SECONDS = 10


def start_stoppably(start: Callable[[], SparkSession]) -> SparkSession:
    """``start()`` on a helper thread while the main thread waits, so that Ctrl-C while Spark starts stops it.

    A KeyboardInterrupt inside pyspark's own start-up leaves its JVM running with nothing to stop it (before the JVM
    has answered, pyspark deletes the folder the JVM writes its port to). Off the main thread pyspark also installs
    no SIGINT handler of its own, which would replace `interrupt`'s. Ctrl-C here waits for the start to finish,
    stops the session and raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        return start()
    sessions: list[SparkSession] = []
    errors: list[BaseException] = []
    started = threading.Event()  # not Thread.join: a join interrupted by Ctrl-C marks the thread stopped (bpo-45274)

    def starting() -> None:
        try:
            sessions.append(start())
        except BaseException as err:  # handed to the main thread, which raises it
            errors.append(err)
        finally:
            started.set()

    threading.Thread(target=starting, name="csc-demand-spark-start", daemon=True).start()
    try:
        while not started.wait(0.1):
            pass
    except KeyboardInterrupt:
        while not started.wait(0.1):
            pass
        for session in sessions:
            session.stop()
        raise
    if errors:
        raise errors[0]
    return sessions[0]


SUPPORTED_JAVA = (17, 21)  # the Java versions Spark 4.1 runs on


def java_problem() -> str | None:
    """What is wrong with the Java that Spark's launcher runs (``$JAVA_HOME/bin/java``, else ``java`` on the PATH),
    or None when it is a version Spark runs on. Asked only when a JVM did not start."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    fix = "install Java 17, which this project is tested on (Debian: openjdk-17-jdk-headless), and set JAVA_HOME to it"
    if not java or not os.access(java, os.X_OK):
        return f"no Java found ({'JAVA_HOME=' + home if home else 'JAVA_HOME unset and no java on the PATH'}): {fix}"
    try:
        version = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{java} -version failed ({err}): {fix}"
    found = re.search(r'version "(?:1\.)?(\d+)', version)
    if found is None or int(found[1]) in SUPPORTED_JAVA:
        return None
    return (f"Spark 4.1 runs on Java {' or '.join(map(str, SUPPORTED_JAVA))}, and {java} is Java {found[1]}: "
            f"{fix}")


def start_fetching_jars(builder: SparkSession.Builder, packages: list[str]) -> SparkSession:
    """Start a session whose JVM first fetches Delta's jars (and ``packages``) through Ivy. A JVM that exits before
    starting on a Java that Spark does not run on stops at once, saying so; otherwise it is retried once: two
    processes starting at once on a new machine fetch into the same Ivy cache, and one can read the other's
    half-written jar. A second failure stops with what to check."""
    for attempt in (1, 2):
        try:
            return builder.getOrCreate()
        except PySparkRuntimeError as err:
            if err.getCondition() != "JAVA_GATEWAY_EXITED":
                raise
            problem = java_problem()
            if problem:
                raise SparkStartError(f"Spark's JVM exited before it started: {problem}") from err
            if attempt == 2:
                fetched = "Delta's jars" + (f" and {', '.join(packages)}" if packages else "")
                raise SparkStartError(
                    f"Spark's JVM exited before it started, twice (its messages are above). In local mode it first "
                    f"fetches {fetched} from Maven Central into the Ivy cache (~/.ivy2.5.2): check that Maven "
                    "Central is reachable from here (behind a proxy, give Java its https.proxyHost and "
                    "https.proxyPort in JAVA_TOOL_OPTIONS) and that every coordinate in spark.packages exists, "
                    "then run again") from err
            sys.stderr.write(f"[csc-demand] Spark's JVM exited before it started; retrying in "
                             f"{JAR_FETCH_RETRY_SECONDS} s (another process may be fetching the same jars)\n")
            time.sleep(JAR_FETCH_RETRY_SECONDS)
    raise AssertionError("unreachable")


def _drop_jars_from_python_path(sc: SparkContext) -> None:
    """spark-submit puts every ``--packages`` jar on the Python workers' path (a jar may hold Python code), and a
    Python task re-reads the directory of every archive on that path when it starts (``importlib.invalidate_caches``):
    Delta's and Hadoop's jars, tens of thousands of entries (README, latent class benchmark). Those jars hold no
    Python; archives of Python code (``--py-files``) stay."""
    sc._python_includes = [name for name in sc._python_includes or [] if not name.lower().endswith(".jar")]


def executors_python(spark: SparkSession) -> str:
    """The interpreter a Python task runs on an executor (``spark.pyspark.python`` there)."""
    from pyspark.sql import functions as F

    # A one-row DataFrame and a Python UDF, not an RDD, so that a Spark Connect session (no RDDs) is checked too.
    where = F.udf(lambda _: sys.executable, "string")
    try:
        return str(spark.range(1).select(where("id")).first()[0])  # type: ignore[index]
    except Exception as err:  # the error holds the executor's stack trace; its "Cannot run program" part is enough
        cannot_run = re.search(r'Cannot run program "[^"]*"[^\n]*', str(err))
        reason = cannot_run.group(0) if cannot_run else str(err)[:300]
        configured = "the server's" if is_connect(spark) else spark.sparkContext.pythonExec
        raise ConfigurationError(
            f"the executors cannot run Python (spark.pyspark.python={configured}): {reason}. "
            "Submit with deploy/spark-submit.sh, which ships the executors' Python environment with --archives "
            "(workers need the base Python it was made from at the same path), or see docs/running.md, section 2"
        ) from err


def jvm(spark: SparkSession) -> JVMView:
    """The driver's view of the JVM (Hadoop's FileSystem, Delta's classes); pyspark types it optional because it
    is unset before a context starts."""
    view = spark.sparkContext._jvm
    assert view is not None, "no Spark context"
    return view


def require_delta(spark: SparkSession) -> None:
    """Stop with what to do when Delta's jars are missing (else the first table read fails with py4j's
    "'JavaPackage' object is not callable")."""
    from py4j.java_gateway import JavaClass

    if is_connect(spark):
        # No JVM to look in. Databricks has Delta built in; a Connect server started without it fails the first
        # Delta read or write with the server's own "Failed to find data source: delta".
        return
    if not isinstance(jvm(spark).io.delta.tables.DeltaTable, JavaClass):
        raise ConfigurationError(
            "Delta Lake is not on the Spark classpath. Submit jobs with deploy/spark-submit.sh, which adds it, or give "
            "spark-submit --packages io.delta:delta-spark_4.1_2.13:<delta-spark version> and the two Delta settings in "
            "docs/running.md (spark.sql.extensions, spark.sql.catalog.spark_catalog)")
