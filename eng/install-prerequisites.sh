#!/usr/bin/env bash
# Installs what ImageSimilarity needs on a Linux machine. Safe to run again: every step
# first checks whether it is needed, says what it does, and does nothing otherwise.
#
#   eng/install-prerequisites.sh            what the library needs at run time
#   eng/install-prerequisites.sh --test     also the reference tools the test suite uses (and chromium for the web test)
#   eng/install-prerequisites.sh --bench    also numpy and FAISS for benchmarks/peers/search_peers.py
#   eng/install-prerequisites.sh --postgres PostgreSQL 17 + pgvector only (also part of --test)
#
# Root (or sudo) is needed only for the apt steps.
set -euo pipefail

want_test=0
want_bench=0
want_postgres=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    --postgres) want_postgres=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-prerequisites: unknown argument '$arg' (use --test, --bench, --postgres or --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'install-prerequisites: %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__none__"; fi
as_root() {
  if [ "$SUDO" = "__none__" ]; then
    say "this step needs root: run as root or install sudo, then run again: $*" >&2
    exit 1
  fi
  $SUDO "$@"
}

id_like=""; os_id=""; version_id=""; codename=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  os_id="${ID:-}"; id_like="${ID_LIKE:-}"; version_id="${VERSION_ID:-}"; codename="${VERSION_CODENAME:-}"
fi

if [ "$(uname -s)" != "Linux" ]; then
  say "$(uname -s): nothing to install; TorchSharp-cpu and SkiaSharp ship their own native libraries."
  exit 0
fi

# TorchSharp-cpu 0.107 (libtorch 2.10) needs libstdc++ with GLIBCXX_3.4.32 (GCC 13+).
libstdcxx=""
for candidate in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
  if [ -e "$candidate" ]; then libstdcxx="$candidate"; break; fi
done
has_glibcxx_3_4_32() {
  [ -n "$libstdcxx" ] && grep -aq 'GLIBCXX_3\.4\.32' "$libstdcxx"
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
}

is_debian_family=0
case " $os_id $id_like " in *" debian "*|*" ubuntu "*) is_debian_family=1 ;; esac

add_trixie_source() {
  if [ ! -e /etc/apt/sources.list.d/imagesimilarity-trixie.sources ]; then
    as_root tee /etc/apt/sources.list.d/imagesimilarity-trixie.sources >/dev/null <<'SRC'
# Added by ImageSimilarity's eng/install-prerequisites.sh: TorchSharp needs libstdc++ from GCC 13+.
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_updated=0  # the new source needs an apt-get update even if one ran before
  fi
  if [ ! -e /etc/apt/preferences.d/imagesimilarity-trixie.pref ]; then
    as_root tee /etc/apt/preferences.d/imagesimilarity-trixie.pref >/dev/null <<'PIN'
# Added by ImageSimilarity's eng/install-prerequisites.sh: take packages from trixie only when asked with -t trixie.
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  fi
}

if has_glibcxx_3_4_32; then
  say "libstdc++ already provides GLIBCXX_3.4.32 ($libstdcxx): nothing to do for TorchSharp."
elif [ "$os_id" = "debian" ] && [ "$version_id" = "12" ]; then
  say "Debian 12: libstdc++ lacks GLIBCXX_3.4.32, which TorchSharp's native library needs."
  say "adding Debian 13 (trixie) to apt at pin priority 100 (never preferred on its own) and installing libstdc++6 from it"
  add_trixie_source
  apt_update_once
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  if has_glibcxx_3_4_32; then say "libstdc++6 from trixie installed."; else say "libstdc++6 from trixie did not provide GLIBCXX_3.4.32" >&2; exit 1; fi
else
  say "this system's libstdc++ lacks GLIBCXX_3.4.32, which TorchSharp-cpu 0.107 needs."
  say "install libstdc++ from GCC 13 or newer (Ubuntu 24.04+, Debian 13+, Fedora 39+ have it), then run again."
  exit 1
fi

# ensure_debian_packages WHAT PACKAGE...: installs the packages that are missing, or says they are all there.
ensure_debian_packages() {
  local what="$1"; shift
  if [ "$is_debian_family" -ne 1 ]; then
    say "$what needs these packages (Debian names): $*; install their equivalents with your package manager."
    exit 1
  fi
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then missing+=("$pkg"); fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing $what: ${missing[*]}"
    apt_update_once
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "$what already installed ($*)."
  fi
}

if [ "$want_test" -eq 1 ]; then
  ensure_debian_packages "the Python reference used by the parity tests" python3-torch python3-torchvision python3-pil python3-numpy
  # The ResNet18 preprocessing reference reads the mean image from the package's ONNX file with the onnx module.
  ensure_debian_packages "the ONNX reader of the ResNet18 preprocessing reference" python3-onnx
  ensure_debian_packages "the HDF5 writer of the Keras weights tests" python3-h5py
  ensure_debian_packages "the sqlite3 shell (the storage tests run the queries of docs/storage.md with it)" sqlite3
  ensure_debian_packages "the headless browser of the web app's browser test" chromium chromium-driver
fi
if [ "$want_bench" -eq 1 ]; then
  ensure_debian_packages "the peers of the benchmarks (PyTorch, numpy, FAISS)" python3-torch python3-torchvision python3-numpy python3-faiss
fi

# PostgreSQL 17 + pgvector for the ImageSimilarity.PgVector tests. Debian 13 (trixie) has both (pgvector 0.8.0);
# Debian 12 takes them from trixie through the same pin-priority-100 source as libstdc++ above (never preferred on
# its own: only these packages and what they need come from trixie). The tests start their own server as a
# non-root user on 127.0.0.1 in a temporary data directory; nothing here starts or enables a server.
if [ "$want_test" -eq 1 ] || [ "$want_postgres" -eq 1 ]; then
  pg_bin=/usr/lib/postgresql/17/bin
  if [ -x "$pg_bin/postgres" ] && [ -e /usr/share/postgresql/17/extension/vector.control ]; then
    say "PostgreSQL 17 with pgvector already installed ($pg_bin)."
  elif [ "$os_id" = "debian" ] && { [ "$version_id" = "12" ] || [ "$version_id" = "13" ] || [ "$codename" = "trixie" ]; }; then
    if [ "$version_id" = "12" ]; then
      say "Debian 12: PostgreSQL 17 + pgvector come from Debian 13 (trixie), added to apt at pin priority 100 (never preferred on its own)"
      add_trixie_source
    fi
    say "installing PostgreSQL 17 + pgvector from Debian 13 (trixie): postgresql-17-pgvector (server only; no cluster is created or started)"
    # postgresql-common would otherwise create and start a 'main' cluster on installation; the tests run their own.
    if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
      as_root mkdir -p /etc/postgresql-common
      echo "create_main_cluster = false" | as_root tee -a /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    apt_update_once
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie --no-install-recommends postgresql-17-pgvector >/dev/null
    if [ -x "$pg_bin/postgres" ] && [ -e /usr/share/postgresql/17/extension/vector.control ]; then
      say "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') with pgvector $(dpkg-query -W -f='${Version}' postgresql-17-pgvector) installed ($pg_bin)."
    else
      say "postgresql-17-pgvector installed but $pg_bin/postgres or the vector extension is missing" >&2; exit 1
    fi
  else
    say "the PostgreSQL tests need PostgreSQL 17 with pgvector 0.8 (Debian 13: postgresql-17-pgvector); install them, or point IMAGESIMILARITY_PG_BIN at the server's bin folder."
  fi
fi
say "done."
