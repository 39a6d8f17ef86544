"""The model's code path when the package is imported from a wheel, as spark-submit's --py-files does."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"
EXTRACT = """
import sys
from pathlib import Path
import csc_demand
from csc_demand.model.tracking import package_source
assert csc_demand.__file__.startswith(sys.argv[1]), csc_demand.__file__
print(package_source(Path(sys.argv[2])))
"""


def test_the_package_is_extracted_from_a_wheel_for_the_model(tmp_path):
    wheel = tmp_path / "csc_demand-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in sorted((LIB / "csc_demand").rglob("*.py")):
            archive.write(path, path.relative_to(LIB).as_posix())
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = subprocess.run([sys.executable, "-c", EXTRACT, str(wheel), str(workdir)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(wheel), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(done.stdout.strip())
    assert folder == workdir / "code" / "csc_demand"
    shipped = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    assert shipped == sorted(p.relative_to(LIB / "csc_demand").as_posix() for p in (LIB / "csc_demand").rglob("*.py"))
    assert "model/tracking.py" in shipped
    shutil.rmtree(workdir)
