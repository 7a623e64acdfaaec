//! The threads that run calls into adapters.
//!
//! Every call into an adapter (`describe`, a take's `generate`) runs on a
//! thread of its own, so that a guest the host stops is dropped there while
//! the host's own thread goes on. Starting a thread and its runtime for
//! every take cost about as much as a small take's own work, so a thread
//! that has finished a call waits a while for the next one; it keeps
//! nothing of the last call but its runtime (each call brings its own
//! store, and drops it before the thread is free again).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use mattebox_core::{Error, Result};
use parking_lot::Mutex;

/// A call to run, given the thread's runtime.
pub(crate) type Job = Box<dyn FnOnce(&tokio::runtime::Runtime) + Send>;

/// How long a free thread waits for another call before it ends.
const IDLE: Duration = Duration::from_secs(20);

/// Threads waiting for a call, each by its number with the sender that
/// hands it one.
type Waiting = Mutex<Vec<(u64, SyncSender<Job>)>>;

static IDLE_THREADS: OnceLock<Waiting> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn idle() -> &'static Waiting {
    IDLE_THREADS.get_or_init(Default::default)
}

/// Runs `job` on a free thread, or on a new one.
pub(crate) fn run(job: Job) -> Result<()> {
    let mut job = job;
    {
        // Taking a thread off the list and handing it the call happen under
        // one lock, so a thread that gives up waiting can tell whether a
        // call is on its way (see `serve`).
        let mut waiting = idle().lock();
        while let Some((_, tx)) = waiting.pop() {
            match tx.try_send(job) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back) | TrySendError::Disconnected(back)) => job = back,
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::internal(format!("could not start an adapter's runtime: {e}")))?;
    std::thread::Builder::new()
        .name("mattebox-adapter".into())
        .spawn(move || serve(runtime, job))
        .map_err(|e| Error::internal(format!("could not start an adapter's thread: {e}")))?;
    Ok(())
}

/// Runs calls until none comes for [`IDLE`].
fn serve(runtime: tokio::runtime::Runtime, first: Job) {
    let mut job = first;
    loop {
        job(&runtime);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx): (SyncSender<Job>, Receiver<Job>) = sync_channel(1);
        idle().lock().push((id, tx));
        job = match rx.recv_timeout(IDLE) {
            Ok(next) => next,
            Err(_) => {
                let mut waiting = idle().lock();
                let before = waiting.len();
                waiting.retain(|(i, _)| *i != id);
                let still_listed = waiting.len() != before;
                drop(waiting);
                if still_listed {
                    return; // nobody took this thread: it may end
                }
                // Taken off the list, so a call was sent under the lock.
                match rx.recv() {
                    Ok(next) => next,
                    Err(_) => return,
                }
            }
        };
    }
}
