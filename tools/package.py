"""Build the Managed Service for Apache Flink application: ``dist/connect-metrics-msf.zip``.

``python -m tools.package`` writes one zip that Managed Flink runs as it is (upload it to S3,
point the application at it, see README.md, "Deploying")::

    jobs/ udfs/                     the job's code; jobs/connect_metrics.py is the entry point
    lib/connect-metrics-deps.jar    the one shaded jar of Java dependencies (Kafka connector)
    python-libs/                    what the Python workers import: the job's packages again and
                                    the third-party wheels Managed Flink does not provide

Why ``python-libs/`` holds a second copy of ``jobs/`` and ``udfs/``: Managed Flink runs the
entry script on the JobManager (where the root of the zip is importable), but the TaskManagers'
Python only sees the ``pyFiles`` of the ``kinesis.analytics.flink.run.options`` property group,
and Flink puts a ``pyFiles`` *directory* itself on PYTHONPATH (not its parent). A directory that
contains the packages is therefore the one way to make ``import udfs`` work there.

Third-party wheels are downloaded for the service's platform (CPython 3.11, manylinux x86_64),
not copied from this machine, and extracted into ``python-libs/``: Managed Flink cannot
``pip install`` (no ``pyRequirements``). PyFlink itself and its dependencies come with the
runtime and are never packaged. Downloads are cached in ``target/msf-wheels/``.

The matching ``kinesis.analytics.flink.run.options`` group is in conf/application_properties.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "dist" / "connect-metrics-msf.zip"
DEFAULT_JAR = REPO_ROOT / "lib" / "connect-metrics-deps.jar"
WHEEL_CACHE = REPO_ROOT / "target" / "msf-wheels"
#: The job's own packages (what ``jobs.connect_metrics`` imports, directly or not).
CODE_PACKAGES = ("jobs", "udfs")
#: Runtime dependencies that the Managed Flink Python runtime does not provide. confluent-kafka
#: is only imported at start-up to create missing output topics (``no-create-topics`` skips it).
RUNTIME_DEPENDENCIES = ("orjson", "confluent-kafka")
ENTRY_POINT = "jobs/connect_metrics.py"
JAR_IN_ZIP = "lib/connect-metrics-deps.jar"
PYTHON_LIBS = "python-libs"
#: Managed Flink's Python: CPython 3.11 on Linux x86_64 (glibc-based).
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
PYTHON_VERSION = "3.11"
#: Fixed entry timestamps: the same inputs give a byte-identical zip.
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
SKIP_PARTS = {"__pycache__"}


class PackageError(RuntimeError):
    """The package could not be built; the message says what is missing."""


def _log(message: str) -> None:
    print(f"[package] {message}", file=sys.stderr, flush=True)


def code_files(root: Path = REPO_ROOT,
               packages: Sequence[str] = CODE_PACKAGES) -> Iterator[tuple[Path, str]]:
    """(file, path in the zip) of every source file of ``packages``."""
    for package in packages:
        base = root / package
        if not (base / "__init__.py").is_file():
            raise PackageError(f"{base} is not a Python package")
        for path in sorted(base.rglob("*")):
            if path.is_file() and not SKIP_PARTS & set(path.parts) and path.suffix != ".pyc":
                yield path, path.relative_to(root).as_posix()


def pinned_requirements(names: Iterable[str] = RUNTIME_DEPENDENCIES) -> list[str]:
    """``name==version`` as installed here, so the package runs what the tests ran."""
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise PackageError(f"{name} is not installed: run `make setup`") from None
    return pins


def _wheel_matches(wheel: Path, requirement: str) -> bool:
    name, version = requirement.split("==")
    dist, wheel_version = wheel.name.split("-")[:2]
    return (dist.lower().replace("_", "-") == name.lower().replace("_", "-")
            and wheel_version == version)


def download_wheels(requirements: Sequence[str], cache: Path = WHEEL_CACHE) -> list[Path]:
    """The wheels for Managed Flink's platform, from the cache or PyPI (``pip download``)."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [r for r in requirements
               if not any(_wheel_matches(w, r) for w in cache.glob("*.whl"))]
    if missing:
        command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                   "--quiet", "--only-binary=:all:", "--no-deps",
                   "--implementation", "cp", "--python-version", PYTHON_VERSION,
                   "--abi", "cp" + PYTHON_VERSION.replace(".", ""),
                   *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
                   "--dest", str(cache), *missing]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PackageError(f"pip download {' '.join(missing)} failed:\n{result.stderr}")
    wheels = []
    for requirement in requirements:
        found = sorted(w for w in cache.glob("*.whl") if _wheel_matches(w, requirement))
        if not found:
            raise PackageError(f"no wheel for {requirement} in {cache}")
        wheels.append(found[-1])
    return wheels


def wheel_target(name: str) -> Optional[str]:
    """Where a wheel member goes in site-packages (what ``pip install`` would do), or None.

    ``*.data/purelib/`` and ``*.data/platlib/`` contents go to the top; scripts, headers and
    data files have no use in ``python-libs/``.
    """
    first, _, rest = name.partition("/")
    if not first.endswith(".data"):
        return name
    scheme, _, inner = rest.partition("/")
    return inner if scheme in ("purelib", "platlib") and inner else None


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    archive.writestr(info, data)


def build(output: Path = DEFAULT_OUTPUT, jar: Path = DEFAULT_JAR,
          dependencies: Sequence[str] = RUNTIME_DEPENDENCIES,
          cache: Path = WHEEL_CACHE) -> Path:
    """Write the zip (atomically); returns its path."""
    if not jar.is_file():
        raise PackageError(f"{jar} not found: run `make setup` (tools/setup.sh) first")
    wheels = download_wheels(pinned_requirements(dependencies), cache)
    entries: dict[str, tuple[bytes, bool]] = {}
    for path, name in code_files():
        data = path.read_bytes()
        entries[name] = (data, False)
        entries[f"{PYTHON_LIBS}/{name}"] = (data, False)
    entries[JAR_IN_ZIP] = (jar.read_bytes(), False)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as whl:
            for info in whl.infolist():
                target = wheel_target(info.filename)
                if target and not info.is_dir():
                    executable = bool((info.external_attr >> 16) & 0o111)
                    entries[f"{PYTHON_LIBS}/{target}"] = (whl.read(info), executable)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            data, executable = entries[name]
            _add(archive, name, data, executable)
    partial.replace(output)
    return output


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.package",
        description="Build the Managed Service for Apache Flink zip: the job's code, "
                    f"{JAR_IN_ZIP} and {PYTHON_LIBS}/ (see README.md, Deploying).")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="zip to write (default: %(default)s)")
    parser.add_argument("--jar", type=Path, default=DEFAULT_JAR,
                        help="the shaded dependencies jar (default: %(default)s)")
    parser.add_argument("--wheel-cache", type=Path, default=WHEEL_CACHE,
                        help="where downloaded wheels are kept (default: %(default)s)")
    parser.add_argument("--without", action="append", default=[], metavar="PACKAGE",
                        choices=RUNTIME_DEPENDENCIES,
                        help="leave out a runtime dependency, e.g. confluent-kafka when the "
                             "job runs with no-create-topics (repeatable)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    dependencies = [d for d in RUNTIME_DEPENDENCIES if d not in args.without]
    try:
        path = build(args.output.resolve(), args.jar.resolve(), dependencies,
                     args.wheel_cache.resolve())
    except PackageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {', '.join(dependencies)}) in "
         f"{time.monotonic() - started:.1f} s")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
