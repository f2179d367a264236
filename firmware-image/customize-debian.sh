#!/bin/bash
# mmdebstrap's customize hook: the Debian side of the appliance's root ($1),
# what needs a chroot (depmod, the initramfs). Runs on the build host with
# the tree's /proc, /sys and /dev set up by mmdebstrap. switchboard's own
# files come later (install-switchboard.sh), so a cached tarball can be
# reused while developing (REUSE_ROOTFS=1).
set -euo pipefail
R=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/layout.sh"
echo "    trimming the root and building the initramfs"

# Size: the generic kernel's module trees for hardware an appliance
# does not have (GPUs, sound, Wi-Fi, cameras, ...). Disk, network, USB and
# input drivers stay.
for d in drivers/gpu drivers/media drivers/staging drivers/infiniband drivers/isdn drivers/iio \
         drivers/net/wireless drivers/bluetooth drivers/input/joystick drivers/input/touchscreen \
         drivers/net/can drivers/comedi sound net/wireless net/mac80211 net/bluetooth net/sunrpc \
         fs/nfs fs/nfsd fs/ocfs2 fs/gfs2 fs/ceph fs/smb fs/xfs fs/btrfs; do
    rm -rf "$R"/lib/modules/*/kernel/$d
done
# Growing the data partition happens in the initramfs (before anything
# holds the disk).
cp -R "$HERE/initramfs/." "$R/etc/initramfs-tools/"
for k in "$R"/lib/modules/*; do chroot "$R" depmod -a "$(basename "$k")"; done
chroot "$R" update-initramfs -u -k all >/dev/null
# Kernel and initrd where grub.cfg looks for them, whatever the version.
ln -sf "$(cd "$R/boot" && ls vmlinuz-* | sort -V | tail -n1 | sed 's#^#boot/#')" "$R/vmlinuz"
ln -sf "$(cd "$R/boot" && ls initrd.img-* | sort -V | tail -n1 | sed 's#^#boot/#')" "$R/initrd.img"

rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/* "$R"/var/cache/debconf/*-old "$R"/var/log/*.log \
       "$R"/usr/share/doc/*/changelog* "$R"/usr/share/doc/*/NEWS*
