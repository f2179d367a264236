//! The dialplan in force, swapped atomically when its files change. Calls
//! take an `Arc` of the plan at their start and keep it: an edit never
//! changes a call in progress. A broken edit is reported (`file:line:col`)
//! and the previous plan stays in force. Polls file stamps (no inotify
//! dependency; a two-second delay is fine for admin edits).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::{load_dir, Dialplan};

/// Name, modification time and length of every `*.toml` file.
type Stamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

pub struct LivePlan {
    dir: PathBuf,
    current: RwLock<Arc<Dialplan>>,
    /// (stamp of the plan in force, a newer stamp seen once and waiting to
    /// be seen again unchanged).
    stamp: Mutex<(Stamp, Option<Stamp>)>,
}

/// What a reload check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    /// The new plan is in force.
    Swapped,
    /// The files changed but do not load; the old plan stays.
    Rejected(Vec<String>),
}

fn stamp(dir: &Path) -> Stamp {
    let mut v: Stamp = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| {
                    let md = std::fs::metadata(&p).ok();
                    let (m, l) = (md.as_ref().and_then(|m| m.modified().ok()), md.map_or(0, |m| m.len()));
                    (p, m, l)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A folder without dialplan files is an empty plan for the running
/// appliance (calls are routed without one); `check-config` still says so.
fn load_or_empty(dir: &Path, files: &Stamp) -> Result<Dialplan, Vec<String>> {
    if files.is_empty() && dir.is_dir() {
        return Ok(Dialplan::default());
    }
    load_dir(dir)
}

impl LivePlan {
    /// Loads `dir`; a directory that does not load is an error (the
    /// appliance should not start on a broken plan).
    pub fn load(dir: &Path) -> Result<LivePlan, Vec<String>> {
        let s = stamp(dir);
        let plan = load_or_empty(dir, &s)?;
        Ok(LivePlan { dir: dir.to_path_buf(), current: RwLock::new(Arc::new(plan)), stamp: Mutex::new((s, None)) })
    }

    /// Watches `dir` even when it does not load yet: the appliance runs with
    /// an empty plan (every call routed without it) until the files are fixed.
    pub fn start(dir: &Path) -> (LivePlan, Result<(), Vec<String>>) {
        match LivePlan::load(dir) {
            Ok(l) => (l, Ok(())),
            Err(e) => {
                let l = LivePlan { dir: dir.to_path_buf(), current: RwLock::new(Arc::new(Dialplan::default())), stamp: Mutex::new((stamp(dir), None)) };
                (l, Err(e))
            }
        }
    }

    /// A fixed plan (tests, or no dialplan directory).
    pub fn fixed(plan: Dialplan) -> LivePlan {
        LivePlan { dir: PathBuf::new(), current: RwLock::new(Arc::new(plan)), stamp: Mutex::new((Vec::new(), None)) }
    }

    /// The plan in force.
    pub fn get(&self) -> Arc<Dialplan> {
        self.current.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// Reloads when files were added, removed or changed and have then
    /// stayed the same for one more look: an editor (or `cp`) still writing
    /// a file is not read half-way.
    pub fn check(&self) -> Reload {
        if self.dir.as_os_str().is_empty() {
            return Reload::Unchanged;
        }
        let now = stamp(&self.dir);
        {
            let Ok(mut st) = self.stamp.lock() else { return Reload::Unchanged };
            let (last, pending) = &mut *st;
            if *last == now {
                *pending = None;
                return Reload::Unchanged;
            }
            if pending.as_ref() != Some(&now) {
                *pending = Some(now);
                return Reload::Unchanged;
            }
            *last = now;
            *pending = None;
        }
        let files = self.stamp.lock().map(|s| s.0.clone()).unwrap_or_default();
        let loaded = load_or_empty(&self.dir, &files);
        // Changed while we read it: try again on the next look.
        if stamp(&self.dir) != files {
            if let Ok(mut st) = self.stamp.lock() {
                st.0 = Vec::new();
            }
            return Reload::Unchanged;
        }
        match loaded {
            Ok(plan) => {
                if let Ok(mut cur) = self.current.write() {
                    *cur = Arc::new(plan);
                }
                Reload::Swapped
            }
            Err(errors) => Reload::Rejected(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[[entry]]\nmatch = { did = \"100\" }\ncontext = \"m\"\n[context.m]\nsteps = [{ app = \"hangup\", cause = 17 }]\n";

    #[test]
    fn swaps_on_change_and_keeps_the_old_plan_on_a_broken_edit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, GOOD).unwrap();
        let live = LivePlan::load(dir.path()).unwrap();
        assert_eq!(live.check(), Reload::Unchanged);
        let before = live.get();
        assert!(before.find_entry("100", None).is_some());

        std::fs::write(&f, GOOD.replace("100", "2000")).unwrap();
        assert_eq!(live.check(), Reload::Unchanged, "a change is read once it has settled");
        assert_eq!(live.check(), Reload::Swapped);
        assert!(live.get().find_entry("2000", None).is_some());
        assert!(before.find_entry("100", None).is_some(), "a call holding the old plan keeps it");

        std::fs::write(&f, "[[entry]]\nmatch = { did = \"1\" }\ncontext = \"nowhere\"\n").unwrap();
        assert_eq!(live.check(), Reload::Unchanged);
        match live.check() {
            Reload::Rejected(errs) => assert!(errs.iter().any(|e| e.contains("a.toml:")), "{errs:?}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert!(live.get().find_entry("2000", None).is_some(), "the previous plan stays in force");
        assert_eq!(live.check(), Reload::Unchanged, "the same broken files are reported once");
    }
}
