#!/usr/bin/env bash
# Idempotent project set-up, safe to run from any folder and cheap when nothing changed:
#   .venv/            Python 3.11 virtualenv; `pip install -e '.[test]'` whenever pyproject.toml
#                     changed (stamp: .venv/.setup-pyproject.sha256)
#   lib/*.jar         `mvn package` whenever pom.xml, java/*/pom.xml or src/main/java changed, or
#   lib/kafka/        the jars are missing (stamp: target/.setup-java.sha256; log: target/setup-mvn.log)
#   chromium          Debian's package for the wallboard browser test, when missing and root
# Needs python3.11 (override with PYTHON=...), a JDK 17+ and Maven on PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
started=$SECONDS

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# One set-up at a time (make targets and helpers may start it concurrently).
mkdir -p "$ROOT/var" "$ROOT/target"
if command -v flock >/dev/null; then
  exec 9>"$ROOT/var/.setup.lock"
  flock 9
fi

# --- prerequisites ------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null \
  || die "$PYTHON not found on PATH: install Python 3.11 (or set PYTHON=/path/to/python3.11)"
command -v java >/dev/null || die "java not found on PATH: install a JDK 17 (e.g. openjdk-17-jdk)"
command -v javac >/dev/null || die "javac not found: install a JDK 17, not just a JRE"
java_major="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}' | cut -d. -f1)"
[[ "$java_major" =~ ^[0-9]+$ && "$java_major" -ge 17 ]] \
  || die "Java 17 or newer needed, found '$(java -version 2>&1 | head -1)'"
command -v mvn >/dev/null || die "mvn not found on PATH: install Apache Maven 3.8+ (e.g. apt-get install maven)"

# --- Python -------------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
  say "created .venv ($("$VENV/bin/python" -V 2>&1))"
fi
"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die ".venv is not Python 3.11 ($("$VENV/bin/python" -V 2>&1)): remove .venv and re-run"

py_stamp="$VENV/.setup-pyproject.sha256"
py_want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ "$(cat "$py_stamp" 2>/dev/null || true)" != "$py_want" ]]; then
  say "installing Python packages: pip install -e '.[test]' (log: target/setup-pip.log) ..."
  t0=$SECONDS
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[test]' \
      >"$ROOT/target/setup-pip.log" 2>&1; then
    tail -n 25 "$ROOT/target/setup-pip.log" >&2
    die "pip install failed (full log: target/setup-pip.log)"
  fi
  echo "$py_want" >"$py_stamp"
  say "Python packages installed ($((SECONDS - t0)) s)"
else
  say "Python packages up to date"
fi

# --- Java (shaded connector jar + local Kafka broker) --------------------------------------------
java_stamp="$ROOT/target/.setup-java.sha256"
java_want="$(
  {
    sha256sum pom.xml java/*/pom.xml
    find src/main/java -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum
  } | sha256sum | cut -d' ' -f1
)"
jars_present() {
  [[ -f lib/connect-metrics-deps.jar ]] && compgen -G 'lib/kafka/kafka_2.13-*.jar' >/dev/null
}
if [[ "$(cat "$java_stamp" 2>/dev/null || true)" != "$java_want" ]] || ! jars_present; then
  say "building Java jars: mvn package (log: target/setup-mvn.log) ..."
  t0=$SECONDS
  if ! mvn -B -q -Dstyle.color=never package >"$ROOT/target/setup-mvn.log" 2>&1; then
    grep -E '^\[ERROR\]' "$ROOT/target/setup-mvn.log" | head -n 25 >&2 || true
    die "mvn package failed (full log: target/setup-mvn.log)"
  fi
  jars_present || die "mvn package succeeded but lib/ jars are missing"
  echo "$java_want" >"$java_stamp"
  say "built lib/connect-metrics-deps.jar and lib/kafka/ ($((SECONDS - t0)) s)"
else
  say "Java jars up to date"
fi

# --- Chromium (the wallboard's real-browser test; optional) ---------------------------------------
# Debian's package, never a browser download. Installed only when missing and we may (root with
# apt-get); otherwise tests/test_wallboard_browser.py skips and says why.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && [[ -z "${SKIP_CHROMIUM:-}" ]]; then
    say "installing Debian's chromium for the wallboard browser test (log: target/setup-apt.log) ..."
    t0=$SECONDS
    if { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } \
        >"$ROOT/target/setup-apt.log" 2>&1; then
      say "chromium installed ($((SECONDS - t0)) s)"
    else
      say "chromium could not be installed (see target/setup-apt.log); the browser test will skip"
    fi
  else
    say "no chromium (and no root apt-get): the wallboard browser test will skip"
  fi
fi

say "done in $((SECONDS - started)) s"
