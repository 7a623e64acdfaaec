//! Decoding ahead and encoding behind: a job's frames are read on one
//! thread and written on another while the job computes on the runtime's
//! pool, so decode, compute and encode overlap instead of taking turns.
//!
//! Both ends hold a bounded queue, so memory stays at a few frames whatever
//! the clip's length. Both stop cleanly when the job stops early: the
//! reader when nobody receives, the writer when it is dropped without
//! [`WriteBehind::finish`], which leaves no output behind.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::media::{MediaReader, MediaWriter, Written};
use crate::runtime::Runtime;

/// Frames of a reader, in order, decoded on their own thread.
pub(crate) struct ReadAhead<'scope> {
    frames: Option<Receiver<Result<Frame>>>,
    handle: ScopedJoinHandle<'scope, MediaReader>,
    next: u64,
    count: u64,
}

impl<'scope> ReadAhead<'scope> {
    /// Starts decoding every frame of `reader` from the first, at most
    /// `depth` frames ahead of the one received.
    pub(crate) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        runtime: &'env Runtime,
        reader: MediaReader,
        depth: usize,
    ) -> ReadAhead<'scope> {
        let count = reader.info().frame_count;
        Self::start_range(scope, runtime, reader, 0..count, depth)
    }

    /// Starts decoding frames `range` of `reader` (a chunk of a shot), at
    /// most `depth` frames ahead of the one received.
    pub(crate) fn start_range<'env>(
        scope: &'scope Scope<'scope, 'env>,
        runtime: &'env Runtime,
        mut reader: MediaReader,
        range: std::ops::Range<u64>,
        depth: usize,
    ) -> ReadAhead<'scope> {
        let (first, count) = (range.start, range.end.min(reader.info().frame_count));
        let (tx, rx) = sync_channel(depth.max(1));
        let handle = scope.spawn(move || {
            runtime.in_logging(|| {
                for n in first..count {
                    let frame = reader.read_frame(n);
                    let failed = frame.is_err();
                    if tx.send(frame).is_err() || failed {
                        break;
                    }
                }
            });
            reader
        });
        ReadAhead { frames: Some(rx), handle, next: first, count }
    }

    /// The next frame and its index, or `None` after the last.
    pub(crate) fn next_frame(&mut self) -> Result<Option<(u64, Frame)>> {
        if self.next >= self.count {
            return Ok(None);
        }
        let rx = self.frames.as_ref().ok_or_else(|| Error::internal("read after the reader stopped"))?;
        let frame = rx.recv().map_err(|_| Error::internal("the decoding thread stopped early"))??;
        self.next += 1;
        Ok(Some((self.next - 1, frame)))
    }

    /// Stops decoding and gives the reader back (for a second pass).
    pub(crate) fn into_reader(mut self) -> Result<MediaReader> {
        self.frames = None;
        self.handle.join().map_err(|_| Error::internal("the decoding thread panicked"))
    }
}

enum ToWriter {
    Frame(Arc<Frame>),
    Finish,
}

/// A writer fed from this thread and encoding on its own.
pub(crate) struct WriteBehind<'scope> {
    frames: SyncSender<ToWriter>,
    /// `None` once joined.
    handle: Option<ScopedJoinHandle<'scope, Result<Option<Written>>>>,
}

impl<'scope> WriteBehind<'scope> {
    /// Starts a thread that writes what it is sent to `writer`, holding at
    /// most `depth` frames not yet encoded.
    pub(crate) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        runtime: &'env Runtime,
        mut writer: MediaWriter,
        depth: usize,
    ) -> WriteBehind<'scope> {
        let (tx, rx) = sync_channel::<ToWriter>(depth.max(1));
        let handle = scope.spawn(move || {
            runtime.in_logging(|| {
                for message in rx {
                    match message {
                        ToWriter::Frame(frame) => writer.write_frame(&frame.view())?,
                        ToWriter::Finish => return writer.finish_with_report().map(Some),
                    }
                }
                // The job stopped without finishing: the staged output goes with the writer.
                Ok(None)
            })
        });
        WriteBehind { frames: tx, handle: Some(handle) }
    }

    /// Queues `frame` for writing; fails with the writer's own error if it has failed.
    pub(crate) fn write(&mut self, frame: Arc<Frame>) -> Result<()> {
        if self.frames.send(ToWriter::Frame(frame)).is_err() {
            // The thread ended early: it failed; its error says why.
            return Err(self.join_error());
        }
        Ok(())
    }

    fn join_error(&mut self) -> Error {
        match self.handle.take().map(ScopedJoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Ok(Ok(_))) | None => Error::internal("the encoding thread stopped early"),
            Some(Err(_)) => Error::internal("the encoding thread panicked"),
        }
    }

    /// Writes what is queued, finishes the output and says what was written.
    pub(crate) fn finish(mut self) -> Result<Written> {
        if self.frames.send(ToWriter::Finish).is_err() {
            return Err(self.join_error());
        }
        match self.handle.take().map(ScopedJoinHandle::join) {
            Some(Ok(Ok(Some(written)))) => Ok(written),
            Some(Ok(Ok(None))) | None => Err(Error::internal("the encoding thread did not finish")),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(Error::internal("the encoding thread panicked")),
        }
    }
}
