//! What the update side can tell about this machine: the running version,
//! the root slot it booted from, the last status line of the update
//! machinery (ours, the applier's or the boot check's), and whether the
//! appliance image's applier is installed here.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::{APPLIER, STATUS, UPDATE_DIR};

/// The longest status line read (the applier writes one short line).
const STATUS_MAX: u64 = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UpdateStatus {
    /// This switchboard's version.
    #[schema(example = "0.1.0")]
    pub running_version: String,
    /// The root slot the appliance booted from (`sb.slot=` on the kernel
    /// command line); null when not booted from the appliance image.
    #[schema(value_type = Option<String>, example = "A")]
    pub slot: Option<char>,
    /// The last status line of an update: `staged: ...`, `writing: ...`,
    /// `rebooting: ...`, `failed: ...` or `ok: ...`; null before the first.
    #[schema(example = "ok: slot B is active, running switchboard 0.1.0")]
    pub last: Option<String>,
    /// Whether this machine runs the appliance image (its privileged
    /// applier is installed): updates apply only there.
    pub supported: bool,
}

/// The update status of this machine with data directory `data`.
pub fn status(data: &Path) -> UpdateStatus {
    let cmdline = std::fs::read_to_string("/proc/cmdline").ok();
    status_from(data, cmdline.as_deref(), Path::new(APPLIER))
}

fn status_from(data: &Path, cmdline: Option<&str>, applier: &Path) -> UpdateStatus {
    UpdateStatus {
        running_version: env!("CARGO_PKG_VERSION").to_string(),
        slot: cmdline.and_then(slot_of),
        last: last_status(&data.join(UPDATE_DIR)),
        supported: applier.is_file(),
    }
}

/// The booted slot from a kernel command line: the last valid `sb.slot=`,
/// as the applier's `sed` finds it.
fn slot_of(cmdline: &str) -> Option<char> {
    cmdline
        .split_whitespace()
        .filter_map(|w| match w.strip_prefix("sb.slot=") {
            Some("A") => Some('A'),
            Some("B") => Some('B'),
            _ => None,
        })
        .next_back()
}

/// The first line of `<dir>/status`, without its line end; `None` when
/// there is no such file or it is blank.
pub(super) fn last_status(dir: &Path) -> Option<String> {
    let mut raw = Vec::new();
    std::fs::File::open(dir.join(STATUS)).ok()?.take(STATUS_MAX).read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let line = text.lines().next().unwrap_or_default().trim_end();
    (!line.is_empty()).then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_comes_from_the_kernel_command_line() {
        assert_eq!(slot_of("BOOT_IMAGE=/vmlinuz root=PARTLABEL=sb-root-a ro quiet sb.slot=A"), Some('A'));
        assert_eq!(slot_of("sb.slot=B console=ttyS0\n"), Some('B'));
        assert_eq!(slot_of("root=/dev/sda1 ro quiet"), None, "not the appliance image");
        assert_eq!(slot_of("sb.slot=C sb.slot= xsb.slot=A sb.slot=a"), None);
        assert_eq!(slot_of("sb.slot=A sb.slot=B"), Some('B'), "the last one, as the applier reads it");
        assert_eq!(slot_of(""), None);
    }

    #[test]
    fn status_reads_the_last_line_and_the_applier() {
        let data = tempfile::tempdir().unwrap();
        let applier = data.path().join("update-apply");
        let s = status_from(data.path(), None, &applier);
        assert_eq!(s, UpdateStatus { running_version: env!("CARGO_PKG_VERSION").into(), slot: None, last: None, supported: false });
        std::fs::create_dir(data.path().join(UPDATE_DIR)).unwrap();
        std::fs::write(data.path().join(UPDATE_DIR).join(STATUS), "ok: slot B is active, running switchboard 0.1.0\nignored\n").unwrap();
        std::fs::write(&applier, "#!/bin/bash\n").unwrap();
        let s = status_from(data.path(), Some("ro sb.slot=B"), &applier);
        assert_eq!((s.slot, s.last.as_deref(), s.supported), (Some('B'), Some("ok: slot B is active, running switchboard 0.1.0"), true));
        std::fs::write(data.path().join(UPDATE_DIR).join(STATUS), "\n").unwrap();
        assert_eq!(status_from(data.path(), None, &applier).last, None, "blank");
        assert!(!status_from(data.path(), None, data.path()).supported, "a folder is not the applier");
        let json = serde_json::to_value(status_from(data.path(), Some("sb.slot=A"), &applier)).unwrap();
        assert_eq!(json["slot"], "A");
    }
}
