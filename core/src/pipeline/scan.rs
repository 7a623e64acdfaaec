//! Reading a whole clip once to learn something about it that no header
//! says: which frames only repeat the one before.

use crate::error::Result;
use crate::interp::repeats;
use crate::media::MediaReader;
use crate::runtime::Runtime;

/// For each frame of `reader`, whether it repeats the one before (see
/// [`repeats::is_repeat`]); decodes every frame once, in order, and calls
/// `progress(done, total)` as it goes.
pub fn repeated_frames(
    runtime: &Runtime,
    reader: &mut MediaReader,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<bool>> {
    let count = reader.info().frame_count;
    let mut repeated = vec![false; count as usize];
    let mut previous = reader.read_frame(0)?;
    progress(1, count);
    for k in 1..count {
        let frame = reader.read_frame(k)?;
        repeated[k as usize] = runtime.install(|| repeats::is_repeat(&previous.view(), &frame.view()));
        previous = frame;
        progress(k + 1, count);
    }
    Ok(repeated)
}

/// Longest run of repeats treated as a stutter. Generators and frame-rate
/// doubling hold a picture for one to three extra frames; a longer run is
/// a shot that is still, and filling it would spread the next change over
/// the whole stillness.
pub const LONGEST_FILLED_RUN: usize = 3;

/// The repeats of `repeated` that are stutters: those in runs of at most
/// [`LONGEST_FILLED_RUN`].
pub fn stutters(repeated: &[bool]) -> Vec<bool> {
    let mut out = repeated.to_vec();
    let mut start = 0;
    while start < repeated.len() {
        if !repeated[start] {
            start += 1;
            continue;
        }
        let end = (start..repeated.len()).find(|&k| !repeated[k]).unwrap_or(repeated.len());
        if end - start > LONGEST_FILLED_RUN {
            out[start..end].iter_mut().for_each(|r| *r = false);
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_runs_are_stutters() {
        let t = true;
        let f = false;
        let repeated = [f, t, f, t, t, t, f, t, t, t, t, f];
        assert_eq!(stutters(&repeated), [f, t, f, t, t, t, f, f, f, f, f, f]);
    }
}
