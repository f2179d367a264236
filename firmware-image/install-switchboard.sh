#!/bin/bash
# switchboard's layer of the appliance root ($1, an extracted tree on the
# build host; no chroot needed): the binary, prompts, dialplans, licences
# and source, units and scripts, and the read-only-root configuration.
# Environment from build.sh: SB_BINARY, SB_REPO, SB_VERSION, SB_CRATE.
set -euo pipefail
R=$1
HERE=$(cd "$(dirname "$0")" && pwd)
echo "    installing switchboard $SB_VERSION"

# Our files: the binary, shipped prompts and dialplans, units and scripts.
# Line tables stay in the release build for developers; the image keeps the
# symbols (backtraces name functions) and drops the 100+ MB of debug info.
install -d "$R/usr/bin"
objcopy --strip-debug "$SB_BINARY" "$R/usr/bin/switchboard"
chmod 0755 "$R/usr/bin/switchboard"
mkdir -p "$R/usr/share/switchboard"
cp -R "$SB_REPO/prompts" "$SB_REPO/dialplans" "$R/usr/share/switchboard/"
cp -R "$HERE/rootfs/." "$R/"
echo "$SB_VERSION" > "$R/usr/share/switchboard/version"

# Licences and the source offer (ADR-006): spandsp is linked statically
# under LGPL-2.1, so its exact source (the pinned crate) and ours travel
# with the binary.
DOC=$R/usr/share/doc/switchboard
mkdir -p "$DOC/source"
cp "$SB_REPO/README.md" "$DOC/"
cp "$SB_REPO/Cargo.lock" "$SB_CRATE" "$DOC/source/"
if git -C "$SB_REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$SB_REPO" archive --format=tar.gz --prefix="switchboard-$SB_VERSION/" -o "$DOC/source/switchboard-$SB_VERSION.tar.gz" HEAD
else
    tar -C "$SB_REPO/.." --exclude=target --exclude=out -czf "$DOC/source/switchboard-$SB_VERSION.tar.gz" "$(basename "$SB_REPO")"
fi
cat > "$DOC/copyright" <<EOF
switchboard $SB_VERSION — LGPL-2.1-or-later (/usr/share/common-licenses/LGPL-2.1).

This program contains spandsp 3.0 (the fax engine), statically linked,
under the GNU Lesser General Public License version 2.1
(/usr/share/common-licenses/LGPL-2.1; spandsp's own COPYING and README are
inside the crate below). Source, exactly as built:
  source/$(basename "$SB_CRATE")  (spandsp-sys, as pinned in source/Cargo.lock)
  source/switchboard-$SB_VERSION.tar.gz  (this program)
To relink with a modified spandsp: unpack both, point a [patch.crates-io]
section of Cargo.toml at the modified spandsp-sys, and run cargo build
--release. The other Rust crates' licences are listed in Cargo.lock's
packages on crates.io; Debian packages carry theirs in
/usr/share/doc/<package>/copyright.
EOF

# The service account, units, and what runs at boot.
systemd-sysusers --root="$R" >/dev/null
systemctl --root="$R" enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
    switchboard.service switchboard-firstboot.service \
    switchboard-banner.service switchboard-boot-ok.service switchboard-update.path >/dev/null 2>&1
# No cable must not stall the boot; a read-only /etc has nothing to commit
# the machine id to (GRUB keeps it); nothing here updates itself with apt.
systemctl --root="$R" mask systemd-networkd-wait-online.service systemd-machine-id-commit.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service >/dev/null 2>&1

cat > "$R/etc/fstab" <<EOF
# / is mounted read-only by the kernel (root=PARTUUID=... ro, per slot).
PARTLABEL=sb-data  /var      ext4   defaults,noatime,x-systemd.growfs  0 2
PARTLABEL=sb-esp   /boot/efi vfat   umask=0077,noatime,nofail          0 0
tmpfs              /tmp      tmpfs  mode=1777,nosuid,nodev,size=25%    0 0
EOF
mkdir -p "$R/boot/efi"
echo switchboard > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tswitchboard\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
ln -sf ../run/issue "$R/etc/issue"
ln -sf /usr/share/zoneinfo/Etc/UTC "$R/etc/localtime"
echo Etc/UTC > "$R/etc/timezone"
# Never ship a machine id: empty makes systemd create one per boot, and the
# first boot keeps it in GRUB's environment (firstboot).
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
# No passwords: root stays locked (minbase's '*'); nobody can log in on
# the console, which only shows the banner.
sed -i 's/^root:[^:]*:/root:*:/' "$R/etc/shadow"

