"""Exit codes (README): 0 done, 1 files refused, 2 usage or configuration, 3 unexpected. Code 1 is asserted by the
ingest tests (test_ingest.py, test_ingest_hostile.py), which refuse files; here the others, through ``cli.main`` and
through a real process."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from csc_demand import cli


def test_exit_codes_are_distinct_and_listed_in_help(capsys):
    assert (cli.OK, cli.FILES_REFUSED, cli.USAGE, cli.UNEXPECTED) == (0, 1, 2, 3)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"  {code}  {meaning}" in out for code, meaning in cli.EXIT_CODES.items())


def test_a_short_key_is_a_configuration_error(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    code = cli.main(["ingest", "--source", str(tmp_path), "--lakehouse", str(tmp_path / "lh"),
                     "--set", "pseudonym_key=short"])
    assert code == 2
    assert "has 5 characters; it needs at least 32" in capsys.readouterr().err


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
