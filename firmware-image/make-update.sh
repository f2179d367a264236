#!/bin/bash
# Packs a root filesystem image as an update file for the A/B slots:
#   make-update.sh ROOT_IMG VERSION OUT
# Format (read by /usr/lib/switchboard/update-apply and the console):
# "SWITCHBOARD-UPDATE 1", KEY=VALUE lines, an empty line, then the root
# filesystem compressed with zstd. rootfs-sha256 covers the uncompressed
# filesystem, so the appliance checks what it actually wrote to the slot.
set -euo pipefail
img=$1 version=$2 out=$3
size=$(stat -c %s "$img")
sum=$(sha256sum "$img" | cut -d' ' -f1)
{
    printf 'SWITCHBOARD-UPDATE 1\nversion=%s\nrootfs-size=%s\nrootfs-sha256=%s\ncompression=zstd\n\n' "$version" "$size" "$sum"
    zstd -q -c -T0 -10 "$img"
} > "$out.tmp"
mv "$out.tmp" "$out"
