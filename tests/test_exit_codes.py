"""Exit codes (README): 0 done, 1 files refused, 2 usage or configuration, 3 unexpected. Code 1 is asserted by the
ingest tests (test_ingest.py, test_ingest_hostile.py), which refuse files; here the others, through ``cli.main`` and
through a real process."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from csc_demand import cli
from csc_demand.codes import INDICATOR_NAMES
from csc_demand.errors import MissingTableError


def test_exit_codes_are_distinct_and_listed_in_help(capsys):
    assert (cli.OK, cli.FILES_REFUSED, cli.USAGE, cli.UNEXPECTED, cli.INTERRUPTED) == (0, 1, 2, 3, 130)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"  {code}  {meaning}" in out for code, meaning in cli.EXIT_CODES.items())


def test_no_verb_prints_the_help_with_every_verb_and_exits_2_and_version_says_the_version(capsys):
    from csc_demand import __version__

    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: csc-demand") and all(f"    {verb} " in err for verb in cli.VERBS)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert (exited.value.code, capsys.readouterr().out) == (0, f"csc-demand {__version__}\n")


def test_a_short_key_is_a_configuration_error(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    code = cli.main(["ingest", "--source", str(tmp_path), "--lakehouse", str(tmp_path / "lh"),
                     "--set", "pseudonym_key=short"])
    assert code == 2
    assert "has 5 characters; it needs at least 32" in capsys.readouterr().err


def test_a_date_that_is_not_one_names_the_option_and_the_form(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["outcomes", "--end-date", "2021-13-01"])
    assert exited.value.code == 2
    assert ("argument --end-date: '2021-13-01' is not a date as YYYY-MM-DD (month must be in 1..12)"
            in capsys.readouterr().err)


@pytest.mark.parametrize("argv, message", [
    (["synth", "--scale", "0", "--out", "{tmp}/out"], "scale must be in (0, 2], got 0.0"),
    (["synth", "--out", "{tmp}/a_file/out"], "--out {tmp}/a_file/out: {tmp}/a_file is a file: give a folder that "
                                             "exists or can be created"),
    (["fit", "--k-min", "5", "--k-max", "3"], "need 1 <= --k-min <= --k-max, got 5 and 3"),
    (["fit", "--starts", "0"], "--starts must be at least 1, got 0"),
    (["ingest", "--source", "{tmp}/nope"], "source folder {tmp}/nope does not exist or is not a folder: give the "
                                           "folder that holds the returns"),
    (["ingest", "--source", "file:{tmp}/a_file"], "source folder file:{tmp}/a_file does not exist or is not a "
                                                  "folder: give the folder that holds the returns"),
    (["classify", "--params", "{tmp}/a_file"], "{tmp}/a_file: expected a mapping with class_sizes and "
                                               "conditional_probabilities"),
    *[([verb, *options], f"Delta table silver.{table} not found at {{tmp}}/lh/silver/{table}: run the stage that "
                         "writes it first (bronze/silver: `csc-demand ingest`, gold: `csc-demand classify` or "
                         "`outcomes`)")
      for verb, options, table in [("fit", [], "assessments"), ("classify", ["--params", "{tmp}/params.json"],
                                   "assessments"), ("outcomes", [], "children")]],
    (["report"], "no gold tables to report on in {tmp}/lh: run `csc-demand classify` and `csc-demand outcomes` "
                 "first")])
def test_settings_a_stage_cannot_use_are_refused_before_spark_starts(monkeypatch, tmp_path, capsys, argv, message):
    verb, started = argv[0], []
    monkeypatch.setenv("CSC_PSEUDONYM_KEY", "a-key-long-enough-for-the-check-before-it")
    monkeypatch.setattr(cli._stage(verb), "get_spark", lambda *_: started.append(verb) or pytest.fail("Spark"))
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "params.json").write_text(json.dumps({"class_sizes": [0.5, 0.5], "conditional_probabilities": [
        [0.2] * len(INDICATOR_NAMES), [0.6] * len(INDICATOR_NAMES)]}))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main([*argv, "--lakehouse", str(tmp_path / "lh")]) == 2
    assert f"error: {message.replace('{tmp}', str(tmp_path))}" in capsys.readouterr().err
    assert started == []  # (report starts Spark on a thread of its own, where pytest.fail fails no test)


def test_synth_into_a_folder_of_returns_it_did_not_write_deletes_nothing(monkeypatch, tmp_path, capsys):
    from csc_demand.io.synthetic_files import would_be_lost, write_listing

    monkeypatch.setattr(cli._stage("synth"), "get_spark", lambda *_: pytest.fail("synth started Spark first"))
    returns = tmp_path / "cin_census" / "2015"
    returns.mkdir(parents=True)
    (returns / "cin_201_2015.xml").write_text("<Message>an LA's own return</Message>")
    (tmp_path / "notes.txt").write_text("beside the folders synth replaces: kept either way")
    assert cli.main(["synth", "--out", str(tmp_path), "--lakehouse", str(tmp_path / "lh")]) == 2
    assert (f"error: --out {tmp_path}: synth replaces the cin_census/, ssda903/ and npd/ folders there, and 1 file(s) "
            "in them are not ones it wrote (e.g. cin_census/2015/cin_201_2015.xml): give an empty folder, or one "
            "synth wrote, so that no returns are deleted") in capsys.readouterr().err
    assert (returns / "cin_201_2015.xml").read_text() == "<Message>an LA's own return</Message>"
    (tmp_path / "_truth").mkdir()
    write_listing(tmp_path)  # as synth lists what it wrote
    assert would_be_lost(tmp_path) == []
    (returns / "cin_201_2015.xml").write_text("<Message>replaced by hand</Message>")
    assert would_be_lost(tmp_path) == ["cin_census/2015/cin_201_2015.xml"]
    (tmp_path / "_work").mkdir()  # a synth stopped before it listed its files
    assert would_be_lost(tmp_path) == []


def test_a_lakehouse_that_is_a_file_is_a_configuration_error(tmp_path, capsys):
    a_file = tmp_path / "lakehouse"
    a_file.write_text("not a folder")
    assert cli.main(["fit", "--lakehouse", str(a_file / "lh")]) == 2  # where it used to crash writing its summary
    assert (f"configuration error: --lakehouse {a_file}/lh: {a_file} is a file: give a folder that exists or can be "
            "created") in capsys.readouterr().err


def test_an_unexpected_error_exits_3_and_saves_the_summary_as_failed(monkeypatch, tmp_path, capsys):
    def crash(args, cfg, log):
        log.step("about to fail")
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(cli._stage("classify"), "run", crash)
    assert cli.main(["classify", "--lakehouse", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError: disk on fire" in err and "unexpected error (RuntimeError), exit code 3" in err
    summary = json.loads(next((tmp_path / "_runs").glob("classify-*.json")).read_text())
    assert (summary["status"], summary["steps"][-1]["message"]) == (
        "failed", "failed unexpectedly: RuntimeError: disk on fire")


@pytest.mark.parametrize("program, expected", [
    ("from csc_demand import cli; sys.exit(cli.main(['ingest', '--source', D, '--lakehouse', D, "
     "'--set', 'pseudonym_key=short']))", 2),
    ("from csc_demand import cli; cli._stage('classify').run = lambda *a: 1 / 0; "
     "sys.exit(cli.main(['classify', '--lakehouse', D]))", 3),
    ("from csc_demand import cli; sys.exit(cli.main(['ingest', '--no-such-option']))", 2),
])
def test_the_process_exit_status_is_the_code(tmp_path, monkeypatch, program, expected):
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    done = subprocess.run([sys.executable, "-c", f"import sys; D = {str(tmp_path)!r}; {program}"],
                          capture_output=True, text=True, timeout=900)  # imports are slow on a busy machine
    assert done.returncode == expected, done.stderr


def start_synth(tmp_path) -> subprocess.Popen:
    """A real `csc-demand synth` in its own process group (a terminal's Ctrl-C goes to the group; the signal is sent
    to this process alone, so the group tells which of its processes are left after it exits). Its stderr goes to
    a file: a JVM left running would hold a pipe open."""
    return subprocess.Popen(
        [sys.executable, "-m", "csc_demand", "synth", "--scale", "0.001", "--out", str(tmp_path / "out"),
         "--lakehouse", str(tmp_path / "lh")], stderr=(tmp_path / "stderr.txt").open("w"), stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal, even under nohup


def processes_in_group(group: int) -> list[str]:
    """Names of the live processes in a process group (from /proc: field 5 of stat is the group)."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if int(fields[2]) == group and fields[0] != "Z":
            names.append(name)
    return names


def wait_until(condition, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def assert_interrupted_cleanly(synth: subprocess.Popen, tmp_path) -> str:
    """Exit 130, the one line, the summary saved as interrupted, and no process of its group left; its stderr."""
    code = synth.wait(timeout=300)
    err = (tmp_path / "stderr.txt").read_text()
    assert code == 130, err
    assert err.endswith(f"csc-demand synth: interrupted: each Delta table keeps its last committed version; run "
                        f"`csc-demand synth` again to finish. The run summary is in {tmp_path / 'lh' / '_runs'}\n")
    assert "[csc-demand] Ctrl-C: stopping; Spark's running jobs are cancelled" in err
    assert "py4j" not in err.lower() and "csc_demand" + os.sep not in err  # no traceback of this process
    summary = json.loads(next((tmp_path / "lh" / "_runs").glob("synth-*.json")).read_text())
    assert (summary["status"], summary["steps"][-1]["message"]) == ("interrupted", "interrupted")
    # Spark's JVM ends when its stdin, a pipe from the process that exited, closes
    wait_until(lambda: not processes_in_group(synth.pid), "no process of the group left", 60)
    return err


def test_ctrl_c_while_a_spark_job_runs_cancels_it_exits_130_in_one_line_and_saves_the_summary_as_interrupted(
        tmp_path):
    """SIGINT while the main thread waits in a py4j call for a Spark job (synth's referral histories, one Python
    task per LA): pyspark's own handler made a py4j call inside that call and broke it (exit 3, a traceback)."""
    synth = start_synth(tmp_path)
    try:
        wait_until(lambda: "one task per LA" in (tmp_path / "stderr.txt").read_text(), "synth's referral histories")
        time.sleep(1)
        synth.send_signal(signal.SIGINT)
        assert_interrupted_cleanly(synth, tmp_path)
    finally:
        if processes_in_group(synth.pid):
            os.killpg(synth.pid, signal.SIGKILL)


def test_ctrl_c_while_spark_starts_stops_it_once_started_and_leaves_no_jvm(tmp_path):
    """SIGINT once Spark's JVM is there but before it has answered: in pyspark's own start-up the KeyboardInterrupt
    left that JVM running after the process exited."""
    synth = start_synth(tmp_path)
    try:
        wait_until(lambda: "java" in processes_in_group(synth.pid), "Spark's JVM started", 120)
        synth.send_signal(signal.SIGINT)
        err = assert_interrupted_cleanly(synth, tmp_path)
        assert "Traceback" not in err and "children: scale" not in err  # stopped before synth's first step
    finally:
        if processes_in_group(synth.pid):
            os.killpg(synth.pid, signal.SIGKILL)


def test_ctrl_c_inside_a_py4j_call_is_raised_once_the_call_has_returned(monkeypatch):
    """The handler's own logic, without Spark (the tests above send real SIGINTs to real verbs): a Ctrl-C while
    code of py4j's package runs waits for it to return, then interrupts the code after it."""
    from csc_demand import interrupt

    cancelled: list[int] = []
    monkeypatch.setattr(interrupt, "cancel_spark_jobs", lambda: cancelled.append(1))  # the session other tests use
    call: dict = {"answered": []}
    exec(compile("import _thread, signal, time\n"
                 "def call():\n"
                 "    _thread.interrupt_main(signal.SIGINT)  # Ctrl-C while the call is in flight\n"
                 "    started = time.monotonic()\n"
                 "    while time.monotonic() - started < 0.5:\n"
                 "        pass\n"
                 "    answered.append(1)\n", os.path.join(os.sep, "site", "py4j", "fake.py"), "exec"), call)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal (CI runs under nohup)
    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            with interrupt.handled():
                call["call"]()
                time.sleep(30)  # interrupted here
        assert call["answered"] == [1]  # not inside the call
        assert time.monotonic() - started < 10 and cancelled and interrupt.requested()
        assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job started in the background: Ctrl-C is not its
        with interrupt.handled():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN and not interrupt.requested()
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_report_interrupted_says_its_folder_holds_an_incomplete_one(monkeypatch, tmp_path, capsys):
    def interrupted(args, cfg, log):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli._stage("report"), "run", interrupted)
    assert cli.main(["report", "--lakehouse", str(tmp_path)]) == 130
    assert capsys.readouterr().err.endswith(
        f"csc-demand report: interrupted: its folder holds an incomplete report; run `csc-demand report` again to "
        f"finish. The run summary is in {tmp_path / '_runs'}\n")


def test_a_project_error_prints_one_line_and_exits_2(monkeypatch, tmp_path, capsys):
    def missing(args, cfg, log):
        raise MissingTableError("Delta table gold.x not found: run `csc-demand classify` first")
    monkeypatch.setattr(cli._stage("report"), "run", missing)
    assert cli.main(["report", "--lakehouse", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "csc-demand report: error: Delta table gold.x not found: run `csc-demand classify` first\n" in err
    assert "Traceback" not in err


def test_a_value_error_that_is_not_ours_shows_its_traceback_and_exits_3(monkeypatch, tmp_path, capsys):
    def spark_fails(args, cfg, log):
        raise ValueError("a library's own error")  # e.g. pyspark's PySparkValueError, a ValueError
    monkeypatch.setattr(cli._stage("report"), "run", spark_fails)
    assert cli.main(["report", "--lakehouse", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: a library's own error" in err


def test_progress_lines_go_through_logging_so_a_notebook_can_quieten_them(tmp_path, capsys):
    from csc_demand.runlog import RunLog, logger
    RunLog("ingest", None).step("loud")
    logger.setLevel(logging.WARNING)
    try:
        RunLog("ingest", None).step("quiet")
    finally:
        logger.setLevel(logging.INFO)
    err = capsys.readouterr().err
    assert "loud" in err and "quiet" not in err
