"""Print which machine and which numeric libraries a test run uses (issue 26).

A failure report then says which processor produced it: torch's float32 kernels, OpenBLAS's
and oneDNN's choose their code paths by processor, so numbers from a forward pass or BLAS
differ in the last bits between machines. Used by scripts/test.sh and the pytest header.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata


def processor() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), else platform's word."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lines() -> list[str]:
    out = [f"processor: {processor()} ({platform.machine()}, {os.cpu_count()} cores)"]
    versions = [f"python {platform.python_version()}"]
    for name in ("numpy", "torch", "scipy", "ripser", "persim", "gudhi", "giotto-ph", "plotly"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:  # a missing package is reported, not fatal
            versions.append(f"{name} missing")
    out.append("versions: " + ", ".join(versions))
    try:
        import numpy  # noqa: F401  (loads its BLAS, so threadpoolctl can name the kernel)
        import torch

        out.append(f"torch cpu capability: {torch.backends.cpu.get_cpu_capability()}")
    except Exception:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        out.append("blas: " + (", ".join(blas) or "none loaded"))
    except Exception:
        pass
    overrides = {k: v for k, v in os.environ.items()
                 if k.startswith(("OPENBLAS_", "ATEN_CPU", "ONEDNN_", "DNNL_", "MKL_"))}
    if overrides:
        out.append("kernel overrides: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())))
    return out


if __name__ == "__main__":
    print("\n".join(lines()))
