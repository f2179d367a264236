//! Media shards: one thread per core, each a single-threaded tokio runtime
//! with its own reactor, where the per-call packet relays run.
//!
//! Owns: the shard threads and which shard a new relay lands on (round
//! robin). Must not touch: what runs on them (the relay task is
//! `relay_task`'s), SIP, the call layer's runtime.
//!
//! Why: on the appliance's multi-thread runtime a relay's sockets sit on
//! the shared reactor, and each datagram's readiness wakes the relay task
//! through it, often on the other worker thread (a futex wake per packet).
//! Profiling the bridged load put the relay at 6.2 µs of CPU per packet
//! against 1.2–1.8 µs for a bare recvmmsg/sendmmsg loop. On a shard the
//! thread that waits in epoll is the one that runs the relay: a packet's
//! wake-up is a push on a local run queue.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Most shards, whatever the core count says.
const MAX_SHARDS: usize = 16;

pub struct MediaShards {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

impl MediaShards {
    /// Starts `n` shard threads (at least one). Threads that cannot be
    /// started are skipped with a warning; with none, [`MediaShards::spawn`]
    /// falls back to the caller's runtime.
    pub fn start(n: usize) -> MediaShards {
        let mut handles = Vec::new();
        for i in 0..n.clamp(1, MAX_SHARDS) {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!(shard = i, "media shard runtime not started: {e}");
                    continue;
                }
            };
            let handle = rt.handle().clone();
            // block_on drives the tasks spawned through the handle; the
            // thread lives as long as the process.
            let started = std::thread::Builder::new().name(format!("media-{i}")).spawn(move || rt.block_on(std::future::pending::<()>()));
            match started {
                Ok(_) => handles.push(handle),
                Err(e) => tracing::warn!(shard = i, "media shard thread not started: {e}"),
            }
        }
        MediaShards { handles, next: AtomicUsize::new(0) }
    }

    /// The process's shards, one per available core, started on first use.
    pub fn global() -> &'static MediaShards {
        static SHARDS: OnceLock<MediaShards> = OnceLock::new();
        SHARDS.get_or_init(|| MediaShards::start(std::thread::available_parallelism().map_or(1, |n| n.get())))
    }

    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Runs `task` on the next shard. Sockets the task uses must be
    /// registered from inside it (`DetachedPair::attach`), so their
    /// readiness comes from that shard's reactor.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if self.handles.is_empty() {
            return tokio::spawn(task);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[i].spawn(task)
    }
}
