#!/bin/bash
# Builds the appliance disk image without loop devices or mounts (the build
# machine may be a sandbox): mmdebstrap makes the Debian root as a tarball,
# mke2fs -d turns directories into ext4 images, mtools fills the FAT ESP,
# sfdisk + dd assemble the disk, and GRUB's BIOS stage is written by hand.
#
#   firmware-image/build.sh [--binary PATH] [--out DIR]
#
# Output in firmware-image/out/:
#   switchboard-<version>.img       raw disk image (sparse)
#   switchboard-<version>.img.zst   the same, compressed (write with zstdcat | dd)
#   switchboard-<version>.update    root filesystem for the A/B update
#   SHA256SUMS
#
# Disk layout (GPT, fixed GUIDs so two builds of one tree agree):
#   1 sb-bios    1 MiB   GRUB's BIOS core image
#   2 sb-esp    64 MiB   FAT: shim, GRUB (both signed by Debian), grub.cfg, grubenv
#   3 sb-root-a  1 GiB   ext4, read-only root, slot A
#   4 sb-root-b  1 GiB   slot B (empty until the first update)
#   5 sb-data  256 MiB   ext4 at /var; grows to fill the disk at first boot
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BINARY=$REPO/target/release/switchboard
OUT=$HERE/out
while [ $# -gt 0 ]; do
    case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR]" >&2; exit 2 ;;
    esac
done

# shellcheck source=firmware-image/layout.sh
. "$HERE/layout.sh"

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -n1)
# The commit time, so two builds of one commit stamp files alike.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || stat -c %Y "$REPO/Cargo.toml")}
export SOURCE_DATE_EPOCH
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
WORK=$OUT/work
START=$(date +%s)

stage() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { echo "image build: $*" >&2; exit 1; }

# --- host tools -------------------------------------------------------------
stage "checking host tools"
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root builds the root filesystem)"
missing=""
for pair in mmdebstrap:mmdebstrap mke2fs:e2fsprogs debugfs:e2fsprogs mkfs.vfat:dosfstools \
            mcopy:mtools mmd:mtools objcopy:binutils sfdisk:fdisk grub-mkimage:grub-common zstd:zstd \
            dpkg-deb:dpkg apt-get:apt sha256sum:coreutils; do
    command -v "${pair%%:*}" >/dev/null || missing="$missing ${pair%%:*} (Debian package ${pair#*:})\n"
done
[ -d /usr/lib/grub/i386-pc ] || missing="$missing /usr/lib/grub/i386-pc (Debian package grub-pc-bin)\n"
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing="$missing debian-archive-keyring.gpg (Debian package debian-archive-keyring)\n"
[ -z "$missing" ] || die "missing host tools:\n$(printf "$missing")\ninstall them with: make image-deps"
[ -x "$BINARY" ] || die "no release binary at $BINARY (run: cargo build --release)"
crate=$(ls ~/.cargo/registry/cache/*/spandsp-sys-*.crate 2>/dev/null | sort | tail -n1)
[ -n "$crate" ] || die "spandsp-sys crate source not in ~/.cargo/registry/cache (build the binary first)"

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"

# --- root filesystem ----------------------------------------------------------
stage "root filesystem: mmdebstrap $SUITE (minbase) into a tarball"
# What the appliance needs at run time, and nothing else: no compiler, no
# SSH. ghostscript rasterises PDFs for fax sending; libtiff/libjpeg/libopus
# are the binary's shared libraries; zstd, fdisk and e2fsprogs serve
# updates and the first-boot partition growth.
PACKAGES=systemd,systemd-sysv,udev,dbus,systemd-timesyncd,systemd-resolved,linux-image-amd64,initramfs-tools,zstd,kmod,iproute2,ca-certificates,tzdata,ghostscript,libtiff6,libjpeg62-turbo,libopus0,fdisk,e2fsprogs
# Development shortcut: REUSE_ROOTFS=1 keeps the Debian tarball between
# builds while the package list and the hook are unchanged.
key=$(printf '%s\n' "$SUITE" "$PACKAGES" | cat - "$HERE/customize-debian.sh" $(find "$HERE/initramfs" -type f | sort) | sha256sum | cut -c1-16)
CACHE=$OUT/cache/rootfs-$key.tar
if [ -n "${REUSE_ROOTFS:-}" ] && [ -f "$CACHE" ]; then
    echo "    reusing $CACHE (REUSE_ROOTFS)"
    cp "$CACHE" "$WORK/rootfs.tar"
else
mmdebstrap --mode=root --variant=minbase --format=tar \
    --include="$PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=most\nCOMPRESS=zstd\nRESUME=none\n" > "$1/etc/initramfs-tools/conf.d/switchboard.conf"' \
    --customize-hook="\"$HERE/customize-debian.sh\" \"\$1\"" \
    "$SUITE" "$WORK/rootfs.tar" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main"
    if [ -n "${REUSE_ROOTFS:-}" ]; then mkdir -p "$OUT/cache" && cp "$WORK/rootfs.tar" "$CACHE"; fi
fi

stage "switchboard's layer: binary, prompts, dialplans, units, licences and source"
mkdir -p "$WORK/root" "$WORK/var"
tar -C "$WORK/root" --numeric-owner -xpf "$WORK/rootfs.tar"
SB_BINARY=$BINARY SB_REPO=$REPO SB_VERSION=$VERSION SB_CRATE=$crate "$HERE/install-switchboard.sh" "$WORK/root"

stage "splitting / (read-only, slot A) from /var (data partition)"
# /var's packaged contents (dpkg's database, systemd state) seed the data
# partition; the root keeps an empty mount point.
(cd "$WORK/root/var" && tar --numeric-owner -cf - .) | tar -C "$WORK/var" --numeric-owner -xpf -
find "$WORK/root/var" -mindepth 1 -delete
# Everything stamped with the commit time (mke2fs copies mtimes).
find "$WORK/root" "$WORK/var" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
du -sh "$WORK/root" "$WORK/var" | sed 's/^/    /'

stage "ext4 images (mke2fs -d, fixed UUIDs)"
rootfs_mib=$(( $(du -sm "$WORK/root" | cut -f1) * 115 / 100 + 64 ))
[ "$rootfs_mib" -le "$SLOT_MIB" ] || die "the root filesystem needs ${rootfs_mib} MiB, more than a ${SLOT_MIB} MiB slot"
mke2fs -q -t ext4 -b 4096 -L sb-root -U "$ROOT_FS_UUID" -E "hash_seed=$ROOT_FS_UUID,root_owner=0:0" \
    -O ^has_journal -m 0 -d "$WORK/root" "$WORK/root.img" "${rootfs_mib}M"
mke2fs -q -t ext4 -b 4096 -L sb-data -U "$DATA_FS_UUID" -E "hash_seed=$DATA_FS_UUID,root_owner=0:0" \
    -d "$WORK/var" "$WORK/data.img" "${DATA_MIB}M"
echo "    root filesystem ${rootfs_mib} MiB (slot ${SLOT_MIB} MiB), data ${DATA_MIB} MiB"

stage "ESP: Debian's signed shim and GRUB (apt-get download), grub.cfg, grubenv"
mkdir -p "$WORK/debs" "$WORK/efi"
(cd "$WORK/debs" && apt-get download -q shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed >/dev/null 2>&1) \
    || (cd "$WORK/debs" && apt-get update -qq && apt-get download -q shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed) \
    || die "cannot download shim-signed and grub-efi-amd64-signed from the Debian archive"
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/efi"; done
cp "$WORK/efi/usr/lib/shim/shimx64.efi.signed" "$WORK/BOOTX64.EFI"
cp "$WORK/efi/usr/lib/shim/mmx64.efi.signed" "$WORK/mmx64.efi"
cp "$WORK/efi/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$WORK/grubx64.efi"
sed -e "s/@VERSION@/$VERSION/g" -e "s/@ROOT_A_PARTUUID@/$ROOT_A_PARTUUID/g" \
    -e "s/@ROOT_B_PARTUUID@/$ROOT_B_PARTUUID/g" "$HERE/grub/grub.cfg" > "$WORK/grub.cfg"
GRUBENV="$WORK/grubenv" "$HERE/rootfs/usr/lib/switchboard/grubenv" set slot=A
touch -d "@$SOURCE_DATE_EPOCH" "$WORK"/{BOOTX64.EFI,mmx64.efi,grubx64.efi,grub.cfg,grubenv}
rm -f "$WORK/esp.img"
mkfs.vfat -C --invariant -i "$ESP_FS_ID" -n SB-ESP "$WORK/esp.img" $(( ESP_MIB * 1024 )) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$WORK/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/debian
# Removable-media path (any firmware finds it, no NVRAM entry needed); shim
# loads grubx64.efi next to itself, and GRUB reads /EFI/debian (its prefix).
# fbx64.efi is left out on purpose: it would write boot entries and reset.
mcopy -m -i "$WORK/esp.img" "$WORK/BOOTX64.EFI" "$WORK/mmx64.efi" "$WORK/grubx64.efi" ::/EFI/BOOT/
mcopy -m -i "$WORK/esp.img" "$WORK/grub.cfg" "$WORK/grubenv" ::/EFI/debian/

stage "GRUB for BIOS: core image into the BIOS boot partition"
# The BIOS boot disk is always GRUB's hd0, and the ESP its partition 2:
# normal mode reads $prefix/grub.cfg, the file UEFI boots read too.
grub-mkimage -O i386-pc -o "$WORK/core.img" -p "(hd0,gpt2)/EFI/debian" \
    biosdisk part_gpt fat ext2 search search_fs_uuid configfile normal linux echo test \
    loadenv regexp serial terminal sleep
core_sectors=$(( ($(stat -c %s "$WORK/core.img") + 511) / 512 ))
[ "$core_sectors" -le $(( BIOS_MIB * 2048 )) ] || die "GRUB core image ($core_sectors sectors) does not fit the BIOS boot partition"

stage "disk: GPT with sfdisk, partitions with dd"
IMG=$OUT/switchboard-$VERSION.img
rm -f "$IMG"
total_mib=$(( 1 + BIOS_MIB + ESP_MIB + 2 * SLOT_MIB + DATA_MIB + 1 ))
truncate -s "${total_mib}M" "$IMG"
sfdisk -q --no-reread --no-tell-kernel "$IMG" <<EOF
label: gpt
label-id: $DISK_GUID
first-lba: 2048
start=$(( 1 * 2048 )), size=$(( BIOS_MIB * 2048 )), type=21686148-6449-6E6F-744E-656564454649, uuid=$BIOS_PARTUUID, name=sb-bios
size=$(( ESP_MIB * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name=sb-esp
size=$(( SLOT_MIB * 2048 )), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_A_PARTUUID, name=sb-root-a
size=$(( SLOT_MIB * 2048 )), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_B_PARTUUID, name=sb-root-b
size=$(( DATA_MIB * 2048 )), type=4D21B016-B534-45C2-A9FB-5C16E091FD2D, uuid=$DATA_PARTUUID, name=sb-data
EOF
put() { dd if="$1" of="$IMG" bs=1M seek="$2" conv=notrunc,sparse status=none; }
put "$WORK/core.img" 1
put "$WORK/esp.img" $(( 1 + BIOS_MIB ))
put "$WORK/root.img" $(( 1 + BIOS_MIB + ESP_MIB ))
put "$WORK/data.img" $(( 1 + BIOS_MIB + ESP_MIB + 2 * SLOT_MIB ))
# The MBR boot code is boot.img's first 440 bytes (the partition table
# after them stays). What grub-bios-setup would patch, done by hand: where
# core.img starts (boot.img, offset 0x5c) and where the rest of core.img
# lies (the block list at the end of core.img's first sector: LBA, count).
core_lba=2048
printf '%016x' "$core_lba" | sed 's/../& /g' | awk '{for(i=NF;i>0;i--) printf "\\x%s",$i}' > "$WORK/lba.esc"
cp /usr/lib/grub/i386-pc/boot.img "$WORK/boot.img"
printf "$(cat "$WORK/lba.esc")" | dd of="$WORK/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
dd if="$WORK/boot.img" of="$IMG" bs=440 count=1 conv=notrunc status=none
printf '%016x' $(( core_lba + 1 )) | sed 's/../& /g' | awk '{for(i=NF;i>0;i--) printf "\\x%s",$i}' > "$WORK/lba1.esc"
printf "$(cat "$WORK/lba1.esc")" | dd of="$IMG" bs=1 seek=$(( core_lba * 512 + 0x1f4 )) conv=notrunc status=none
printf "\\x$(printf %02x $(( (core_sectors - 1) & 255 )))\\x$(printf %02x $(( (core_sectors - 1) >> 8 )))" \
    | dd of="$IMG" bs=1 seek=$(( core_lba * 512 + 0x1fc )) conv=notrunc status=none
touch -d "@$SOURCE_DATE_EPOCH" "$IMG"

stage "update file: header + zstd root filesystem"
UPD=$OUT/switchboard-$VERSION.update
"$HERE/make-update.sh" "$WORK/root.img" "$VERSION" "$UPD"

stage "compressing the disk image (zstd)"
zstd -q -f -T0 -10 --sparse "$IMG" -o "$IMG.zst"
(cd "$OUT" && sha256sum "$(basename "$IMG")" "$(basename "$IMG").zst" "$(basename "$UPD")" > SHA256SUMS)
touch -d "@$SOURCE_DATE_EPOCH" "$IMG"
[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"

stage "done"
ls -lsh "$IMG" "$IMG.zst" "$UPD" | sed 's/^/    /'
echo "    write it to a disk: zstdcat $(basename "$IMG").zst | dd of=/dev/sdX bs=4M conv=fsync"
