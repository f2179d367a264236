//! Media shards: one thread per core, each a single-threaded tokio runtime
//! with its own reactor, where the per-call media runs (packet relays and
//! the legs the appliance terminates).
//!
//! Owns: the shard threads and which shard a new task lands on. Must not
//! touch: what runs on them (`relay_task`, `endpoint`), SIP, the call
//! layer's runtime.
//!
//! Why: on the appliance's multi-thread runtime a relay's sockets sit on
//! the shared reactor, and each datagram's readiness wakes the relay task
//! through it, often on the other worker thread (a futex wake per packet).
//! Profiling the bridged load put the relay at 6.2 µs of CPU per packet
//! against 1.2–1.8 µs for a bare recvmmsg/sendmmsg loop. On a shard the
//! thread that waits in epoll is the one that runs the relay: a packet's
//! wake-up is a push on a local run queue (4.5–5.3 µs per packet after,
//! most of it now the kernel's sendto/recvfrom/epoll_wait).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Most shards, whatever the core count says.
const MAX_SHARDS: usize = 16;

pub struct MediaShards {
    handles: Vec<Handle>,
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
        MediaShards { handles }
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

    /// Runs `task` on a shard picked at random. Sockets the task uses must
    /// be registered from inside it (`DetachedPair::attach`), so their
    /// readiness comes from that shard's reactor.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.handles.is_empty() {
            return tokio::spawn(task);
        }
        // Random, not round robin: callers spawn in patterns (a transcoded
        // call's Opus leg, then its G.711 leg), and round robin over two
        // shards put every Opus leg on the same one.
        let i = rand::random::<u32>() as usize % self.handles.len();
        self.handles[i].spawn(task)
    }
}
