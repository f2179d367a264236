//! `switchboard update apply FILE` and `switchboard update status`: the
//! command line's side of system updates. Checking and staging the file
//! and reading the status are `switchboard::update`'s (the same as the
//! console's and the API's); this refuses off the appliance image unless
//! `--stage-only`, and prints. Never writes a disk or the boot loader: the
//! image's root-owned applier does, once the file is staged.

use std::path::Path;

use anyhow::{bail, Context, Result};
use switchboard::update::{self, UpdateStatus, APPLIER, MAX_UPDATE};

use super::UpdateCmd;

pub async fn update(cmd: UpdateCmd, data: &Path) -> Result<()> {
    match cmd {
        UpdateCmd::Apply { file, stage_only } => apply(&file, stage_only, data).await,
        UpdateCmd::Status => {
            print!("{}", describe(&update::status(data)));
            Ok(())
        }
    }
}

async fn apply(file: &Path, stage_only: bool, data: &Path) -> Result<()> {
    let here = update::status(data);
    if !here.supported && !stage_only {
        bail!("updates apply only on the appliance image (this machine has no {APPLIER}); --stage-only checks and stages the file without applying it, for tests");
    }
    let f = tokio::fs::File::open(file).await.with_context(|| format!("reading {}", file.display()))?;
    let h = update::stage_update(data, f, MAX_UPDATE).await.with_context(|| format!("{}: not staged", file.display()))?;
    println!("{}: version {} staged (root filesystem of {} bytes, sha256 {})", file.display(), h.version, h.rootfs_size, h.rootfs_sha256);
    if here.supported {
        let target = match here.slot {
            Some('A') => "slot B",
            Some('B') => "slot A",
            _ => "the other slot",
        };
        println!("the appliance now writes it to {target}, checks it and reboots into it (calls in progress are cut off);");
        println!("`switchboard update status` follows it");
    } else {
        println!("staged only: this machine is not the appliance image, so nothing applies it");
    }
    Ok(())
}

/// `update status`: one `name  value` line each.
fn describe(s: &UpdateStatus) -> String {
    let slot = s.slot.map(String::from).unwrap_or_else(|| "unknown (not started from the appliance image)".into());
    let last = s.last.as_deref().unwrap_or("none");
    let image = if s.supported { "yes" } else { "no (updates apply only on the appliance image)" };
    format!("version   {}\nslot      {slot}\nlast      {last}\nappliance {image}\n", s.running_version)
}
