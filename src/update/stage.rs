//! Staging an update for the image's applier: the upload is streamed to
//! `pending.update.part` (64 KiB at a time, never whole in memory), its
//! header checked from the first bytes before anything is written, synced,
//! renamed to `pending.update`; then the status line `staged: version X`
//! and the marker `apply` that wakes the root-owned path unit. Refused
//! while an update is under way. A refused or broken-off upload leaves
//! nothing behind (the `.part` file goes even when the caller's future is
//! dropped, e.g. the client went away).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::header::{UpdateHeader, HEADER_MAX, ZSTD_MAGIC};
use super::status::last_status;
use super::{UpdateError, MARKER, PART, PENDING, STATUS, UPDATE_DIR};

/// One staging at a time in this process: the API and the console share
/// the one `.part` file.
static STAGING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// What the header check needs: the longest header and the payload's magic.
const PROBE: usize = HEADER_MAX + ZSTD_MAGIC.len();
const CHUNK: usize = 64 * 1024;
/// An upload that sends nothing for this long is given up: it would
/// otherwise hold the one staging slot for as long as its connection lives.
const STALL: Duration = Duration::from_secs(120);
/// Our status line is written here, then renamed over `status` (not
/// `status.new`, which the root-owned applier uses and may leave behind).
const STATUS_TMP: &str = "status.staging";

/// Streams an update file from `reader` into `<data>/update/` and asks the
/// applier to apply it. At most `max_bytes` are taken (then
/// [`UpdateError::TooLarge`]); the header must parse
/// ([`UpdateHeader::parse`]); [`UpdateError::InProgress`] while another
/// update waits, is written or is being uploaded.
pub async fn stage_update(data: &Path, mut reader: impl AsyncRead + Unpin, max_bytes: u64) -> Result<UpdateHeader, UpdateError> {
    let Ok(_one) = STAGING.try_lock() else { return Err(UpdateError::InProgress("another update is being uploaded right now".into())) };
    let dir = data.join(UPDATE_DIR);
    if let Some(why) = busy(&dir, boot_time()) {
        return Err(UpdateError::InProgress(why));
    }
    // Checked from memory first, so a refused file leaves nothing on disk.
    let mut head = Vec::with_capacity(PROBE);
    match tokio::time::timeout(STALL, (&mut reader).take(PROBE as u64).read_to_end(&mut head)).await {
        Ok(read) => read.map_err(UpdateError::Read)?,
        Err(_) => return Err(stalled()),
    };
    if head.len() as u64 > max_bytes {
        return Err(UpdateError::TooLarge(max_bytes));
    }
    let (header, _) = UpdateHeader::parse(&head)?;
    tokio::fs::create_dir_all(&dir).await.map_err(UpdateError::Storage)?;
    let part = Part { path: dir.join(PART), armed: true };
    write_part(&part.path, &head, &mut reader, max_bytes).await?;
    // Another process (the CLI) may have staged meanwhile.
    if let Some(why) = busy(&dir, boot_time()) {
        return Err(UpdateError::InProgress(why));
    }
    let pending = dir.join(PENDING);
    tokio::fs::rename(&part.path, &pending).await.map_err(UpdateError::Storage)?;
    part.keep();
    if let Err(e) = announce(&dir, &header).await {
        // Without its marker the file would never be applied, and a
        // `staged:` line beside it would read as "being applied".
        let _ = tokio::fs::remove_file(&pending).await;
        let _ = write_status(&dir, &format!("failed: staging version {} failed: {e}", header.version)).await;
        return Err(UpdateError::Storage(e));
    }
    Ok(header)
}

/// The `.part` file, removed when dropped unless kept (renamed).
struct Part {
    path: PathBuf,
    armed: bool,
}

impl Part {
    fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `head` and the rest of `reader` to `path`, synced; at most `max` bytes in all.
async fn write_part(path: &Path, head: &[u8], reader: &mut (impl AsyncRead + Unpin), max: u64) -> Result<(), UpdateError> {
    let mut out = tokio::fs::File::create(path).await.map_err(UpdateError::Storage)?;
    out.write_all(head).await.map_err(UpdateError::Storage)?;
    let mut total = head.len() as u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = tokio::time::timeout(STALL, reader.read(&mut buf)).await.map_err(|_| stalled())?.map_err(UpdateError::Read)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > max {
            return Err(UpdateError::TooLarge(max));
        }
        out.write_all(&buf[..n]).await.map_err(UpdateError::Storage)?;
    }
    out.flush().await.map_err(UpdateError::Storage)?;
    out.sync_all().await.map_err(UpdateError::Storage)
}

fn stalled() -> UpdateError {
    UpdateError::Read(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("nothing arrived for {} s", STALL.as_secs())))
}

/// After the rename: the rename made durable, the status line, the marker.
async fn announce(dir: &Path, header: &UpdateHeader) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await?;
    write_status(dir, &format!("staged: version {}", header.version)).await?;
    match tokio::fs::OpenOptions::new().write(true).create_new(true).open(dir.join(MARKER)).await {
        // Already there: another process staged at the same moment, and
        // the file its marker points at is now ours, as the status says.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
        Ok(f) => f.sync_all().await,
    }
}

/// Replaces the status line atomically.
async fn write_status(dir: &Path, line: &str) -> std::io::Result<()> {
    let tmp = dir.join(STATUS_TMP);
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(format!("{line}\n").as_bytes()).await?;
    f.sync_all().await?;
    tokio::fs::rename(&tmp, dir.join(STATUS)).await
}

/// Why a new update cannot be staged now, if it cannot. A status line
/// written before this boot (`boot`; `None`: unknown, counts as this boot)
/// is over whatever it says: a write cut off by a power loss is not going
/// on any more, and must not block updates for good.
fn busy(dir: &Path, boot: Option<SystemTime>) -> Option<String> {
    if dir.join(MARKER).exists() {
        return Some("an update is already waiting to be applied".into());
    }
    let last = last_status(dir)?;
    let this_boot = match (std::fs::metadata(dir.join(STATUS)).and_then(|m| m.modified()), boot) {
        (Ok(written), Some(boot)) => written >= boot,
        _ => true,
    };
    if !this_boot {
        return None;
    }
    if last.starts_with("writing:") {
        return Some(format!("the appliance is writing an update ({last})"));
    }
    // The applier takes the marker away first and says `writing:` only
    // after its checks: in between, the staged file is being read.
    if last.starts_with("staged:") && dir.join(PENDING).exists() {
        return Some(format!("the appliance is applying an update ({last})"));
    }
    None
}

/// When this machine booted (`btime` of /proc/stat).
fn boot_time() -> Option<SystemTime> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: u64 = stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A whole update file with `payload_len` bytes of (fake) zstd payload.
    fn update_file(version: &str, payload_len: usize) -> Vec<u8> {
        let mut f = UpdateHeader { version: version.into(), rootfs_size: 4096, rootfs_sha256: SHA.into(), compression: "zstd".into() }.to_bytes();
        f.extend_from_slice(&ZSTD_MAGIC);
        f.extend((0..payload_len).map(|i| (i * 7 % 251) as u8));
        f
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
        n.sort();
        n
    }

    /// Yields `data`, then fails.
    struct Broken(Vec<u8>);

    impl AsyncRead for Broken {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
            if self.0.is_empty() {
                return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")));
            }
            let n = self.0.len().min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0.drain(..n);
            Poll::Ready(Ok(()))
        }
    }

    // The tests share the process-wide lock, so each waits for it rather
    // than seeing another test's upload as "in progress".
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn a_good_file_is_staged_with_its_status_and_marker() {
        let _s = SERIAL.lock().await;
        let data = tempfile::tempdir().unwrap();
        let file = update_file("0.2.0", 300_000);
        let h = stage_update(data.path(), &file[..], 1 << 20).await.unwrap();
        assert_eq!((h.version.as_str(), h.rootfs_size), ("0.2.0", 4096));
        let dir = data.path().join(UPDATE_DIR);
        assert_eq!(names(&dir), [MARKER, PENDING, STATUS]);
        assert!(std::fs::read(dir.join(PENDING)).unwrap() == file, "byte-identical");
        assert_eq!(std::fs::read_to_string(dir.join(STATUS)).unwrap(), "staged: version 0.2.0\n");
        // The marker is still there: a second one is refused, nothing changes.
        let e = stage_update(data.path(), &update_file("0.3.0", 10)[..], 1 << 20).await.unwrap_err();
        assert!(matches!(&e, UpdateError::InProgress(w) if w.contains("waiting")), "{e}");
        assert!(std::fs::read(dir.join(PENDING)).unwrap() == file);
        // The applier took the marker but has not said `writing:` yet.
        std::fs::remove_file(dir.join(MARKER)).unwrap();
        let e = stage_update(data.path(), &update_file("0.3.0", 10)[..], 1 << 20).await.unwrap_err();
        assert!(matches!(&e, UpdateError::InProgress(w) if w.contains("applying")), "{e}");
        // It failed (and removed the file): a new one is welcome.
        std::fs::remove_file(dir.join(PENDING)).unwrap();
        std::fs::write(dir.join(STATUS), "failed: checksum mismatch after writing slot B: the file is damaged\n").unwrap();
        stage_update(data.path(), &update_file("0.3.0", 10)[..], 1 << 20).await.unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(STATUS)).unwrap(), "staged: version 0.3.0\n");
    }

    #[tokio::test]
    async fn refused_files_leave_nothing_behind() {
        let _s = SERIAL.lock().await;
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join(UPDATE_DIR);
        let mut not_zstd = update_file("1", 0);
        let n = not_zstd.len();
        not_zstd[n - 4..].copy_from_slice(b"\x1f\x8b\x08\x00");
        for (bytes, want) in [(b"GIF89a".to_vec(), "not a switchboard update file"), (not_zstd, "payload is not zstd"), (Vec::new(), "not a switchboard update file")] {
            let e = stage_update(data.path(), &bytes[..], 1 << 20).await.unwrap_err();
            assert_eq!(e.to_string(), want);
            assert!(e.is_bad_file());
            assert!(!dir.exists(), "nothing created for a refused header");
        }
        // Over the limit, found while streaming: the part file goes.
        let e = stage_update(data.path(), &update_file("1", 200_000)[..], 100_000).await.unwrap_err();
        assert!(matches!(e, UpdateError::TooLarge(100_000)) && !e.is_bad_file(), "{e}");
        assert_eq!(e.to_string(), "the update file is larger than 100000 bytes");
        assert_eq!(UpdateError::TooLarge(super::super::MAX_UPDATE).to_string(), "the update file is larger than 2 GiB");
        assert_eq!(names(&dir), Vec::<String>::new());
        // The upload breaks off half way.
        let e = stage_update(data.path(), Broken(update_file("1", 100_000)), 1 << 20).await.unwrap_err();
        assert!(matches!(e, UpdateError::Read(_)), "{e}");
        assert_eq!(names(&dir), Vec::<String>::new());
        // Nothing was staged by any of these.
        assert!(last_status(&dir).is_none());
    }

    #[tokio::test]
    async fn an_upload_dropped_mid_way_removes_its_part_file() {
        let _s = SERIAL.lock().await;
        let data = tempfile::tempdir().unwrap();
        let (mut tx, rx) = tokio::io::duplex(1 << 16);
        let file = update_file("1", 100_000);
        let stage = stage_update(data.path(), rx, 1 << 20);
        let feed = async {
            tx.write_all(&file[..50_000]).await.unwrap();
            // Keep the stream open: the upload stalls, then is given up.
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        let (staged, ()) = tokio::join!(tokio::time::timeout(Duration::from_millis(200), stage), feed);
        assert!(staged.is_err(), "timed out");
        let dir = data.path().join(UPDATE_DIR);
        assert!(dir.exists(), "it had started writing");
        assert_eq!(names(&dir), Vec::<String>::new());
        // And the lock was released with it.
        stage_update(data.path(), &file[..], 1 << 20).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_upload_is_given_up() {
        let _s = SERIAL.lock().await;
        let data = tempfile::tempdir().unwrap();
        let (mut tx, rx) = tokio::io::duplex(1 << 16);
        tx.write_all(&update_file("1", 100_000)[..20_000]).await.unwrap();
        let started = tokio::time::Instant::now();
        let e = stage_update(data.path(), rx, 1 << 20).await.unwrap_err();
        assert!(matches!(&e, UpdateError::Read(io) if io.kind() == std::io::ErrorKind::TimedOut), "{e}");
        assert!(started.elapsed() >= STALL, "{:?}", started.elapsed());
        assert_eq!(names(&data.path().join(UPDATE_DIR)), Vec::<String>::new());
        drop(tx);
    }

    #[test]
    fn a_write_cut_off_by_a_reboot_does_not_block_updates() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join(UPDATE_DIR);
        assert_eq!(busy(&dir, None), None, "no folder yet");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(STATUS), "writing: version 0.2.0 into slot B\n").unwrap();
        let written = std::fs::metadata(dir.join(STATUS)).unwrap().modified().unwrap();
        assert!(busy(&dir, Some(written - Duration::from_secs(60))).is_some_and(|w| w.contains("(writing: version 0.2.0")), "booted before it was written");
        assert!(busy(&dir, None).is_some(), "boot time unknown: assume it is going on");
        assert_eq!(busy(&dir, Some(written + Duration::from_secs(60))), None, "written before this boot");
        for done in ["rebooting: version 0.2.0 written to slot B; it boots on trial", "failed: no update file", "ok: slot B is active, running switchboard 0.2.0"] {
            std::fs::write(dir.join(STATUS), format!("{done}\n")).unwrap();
            assert_eq!(busy(&dir, None), None, "{done}");
        }
        std::fs::write(dir.join(MARKER), "").unwrap();
        assert!(busy(&dir, Some(SystemTime::now() + Duration::from_secs(3600))).is_some(), "a marker waits whatever the time");
    }

    #[test]
    fn boot_time_is_in_the_past() {
        let b = boot_time().expect("/proc/stat has btime");
        assert!(b < SystemTime::now() && b > UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    }
}
