//! System updates of the appliance image (two root filesystem slots, A and
//! B): this side only stages an uploaded update file for the image's
//! privileged applier and reads back what the applier reported.
//!
//! - `header`: the update file's text header (sans-IO parser, the checks
//!   the applier relies on, and the zstd magic right after it).
//! - `stage`: streaming an upload to `<data>/update/pending.update`
//!   (never whole in memory), then the status line `staged: version X` and
//!   the marker `<data>/update/apply`, which a root-owned systemd path unit
//!   watches; one update at a time.
//! - `status`: the running version, the booted slot (`sb.slot=` on the
//!   kernel command line), the applier's last status line, and whether this
//!   machine is the appliance image at all.
//!
//! Must not touch: any disk, partition, boot loader or GRUB environment.
//! Writing the other slot, checking its checksum, flipping GRUB and
//! rebooting are the job of `/usr/lib/switchboard/update-apply`, which runs
//! as root; this process runs unprivileged and only leaves files in its
//! data directory. Who may stage an update is the web's and CLI's concern.
//!
//! For tests and development only: staging normally needs the appliance
//! image (the applier installed); the environment variable
//! `SWITCHBOARD_UPDATE_ALWAYS_STAGE=1`, read once, lets the web API and
//! console stage anyway (nothing applies the file then). The CLI has
//! `--stage-only` for the same purpose.

mod header;
mod stage;
mod status;

use std::sync::LazyLock;

pub use header::{UpdateHeader, HEADER_MAX, MAGIC_LINE, ZSTD_MAGIC};
pub use stage::stage_update;
pub use status::{status, UpdateStatus};

/// The applier the appliance image installs; its presence is what
/// `UpdateStatus::supported` reports.
pub const APPLIER: &str = "/usr/lib/switchboard/update-apply";
/// `<data>/update/`: the only folder this module writes.
pub const UPDATE_DIR: &str = "update";
/// The staged file the applier reads.
pub const PENDING: &str = "pending.update";
/// The upload while it arrives; renamed to [`PENDING`] once complete.
pub const PART: &str = "pending.update.part";
/// The marker the image's path unit waits for.
pub const MARKER: &str = "apply";
/// One line: `staged: ...`, `writing: ...`, `rebooting: ...`, `failed:
/// ...`, `ok: ...` (the applier and the boot check write it too).
pub const STATUS: &str = "status";
/// Largest update file accepted (413 beyond); a compressed root
/// filesystem is about 200 MB.
pub const MAX_UPDATE: u64 = 2 << 30;

/// The environment variable that lets the web stage without the applier.
pub const ALWAYS_STAGE_ENV: &str = "SWITCHBOARD_UPDATE_ALWAYS_STAGE";

static ALWAYS_STAGE: LazyLock<bool> = LazyLock::new(|| std::env::var(ALWAYS_STAGE_ENV).is_ok_and(|v| v == "1"));

/// Whether `SWITCHBOARD_UPDATE_ALWAYS_STAGE=1` was set (tests, development).
pub fn always_stage() -> bool {
    *ALWAYS_STAGE
}

/// Why an update was not staged.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("not a switchboard update file")]
    NotAnUpdate,
    #[error("unsupported update file format {0:?} (this version reads format 1)")]
    UnsupportedFormat(String),
    #[error("header longer than {HEADER_MAX} bytes")]
    HeaderTooLong,
    #[error("the file ends inside its header")]
    Truncated,
    #[error("header line {0} is not KEY=VALUE text")]
    BadLine(usize),
    #[error("header has no {0}")]
    Missing(&'static str),
    #[error("header has an invalid {key}: {why}")]
    Invalid { key: &'static str, why: &'static str },
    #[error("unsupported compression {0}")]
    UnsupportedCompression(String),
    #[error("payload is not zstd")]
    NotZstd,
    #[error("the update file is larger than {}", size_text(*.0))]
    TooLarge(u64),
    /// Another update waits, is being written or uploaded (says which).
    #[error("{0}")]
    InProgress(String),
    /// The upload itself broke off or stalled (the client's side).
    #[error("reading the update file failed: {0}")]
    Read(std::io::Error),
    /// Our side: the data directory.
    #[error("storing the update file failed: {0}")]
    Storage(std::io::Error),
}

impl UpdateError {
    /// A refusal of the file itself (a client error: 422), as opposed to a
    /// refusal of the moment (409), of its size (413) or a failure to read
    /// or store it.
    pub fn is_bad_file(&self) -> bool {
        !matches!(self, UpdateError::TooLarge(_) | UpdateError::InProgress(_) | UpdateError::Read(_) | UpdateError::Storage(_))
    }
}

/// "2 GiB", or the bytes when that is not a whole number of GiB.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{bytes} bytes")
    }
}
