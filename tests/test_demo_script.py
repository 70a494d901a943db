"""scripts/demo.sh starts JupyterLab as root (containers, fresh VMs) and as a normal user."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fake_checkout(tmp_path: Path) -> Path:
    """A copy of demo.sh beside a no-op setup.sh and a jupyter that prints its arguments."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "demo.sh", tmp_path / "scripts" / "demo.sh")
    (tmp_path / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_tour.ipynb").write_text("{}")
    jupyter = tmp_path / ".venv" / "bin" / "jupyter"
    jupyter.parent.mkdir(parents=True)
    jupyter.write_text('#!/usr/bin/env bash\necho "jupyter $*"\n')
    jupyter.chmod(0o755)
    return tmp_path


def test_demo_script_passes_allow_root_only_as_root(tmp_path):
    checkout = _fake_checkout(tmp_path)
    out = subprocess.run(["bash", str(checkout / "scripts" / "demo.sh"), "--no-browser"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("jupyter lab") and line.endswith("notebooks/01_tour.ipynb --no-browser"), line
    assert ("--allow-root" in line) == (os.geteuid() == 0), line
