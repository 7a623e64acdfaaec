//! When each frame of a clip is shown. Most files show frame k at k / rate;
//! phone footage and screen recordings do not (variable frame rate): a
//! frame may stay up for two or three intervals. Reading such a clip as if
//! it were constant-rate moves every later frame earlier and the sound out
//! of sync, so the reader measures the timestamps, and the operations
//! place frames by them.

use serde::Serialize;

use crate::rational::Rational;

/// How a variable-rate clip's timing looks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariableRate {
    /// The rate its usual interval means (the median interval, snapped to a
    /// standard rate within 1%): what constant-rate outputs are written at.
    pub nominal: Rational,
    /// Slowest instantaneous rate (the longest interval), frames per second.
    pub slowest_fps: f64,
    /// Fastest instantaneous rate (the shortest interval).
    pub fastest_fps: f64,
    /// Frames shown more than half an interval away from where a constant
    /// `nominal` rate would put them.
    pub displaced_frames: u64,
}

/// Rates footage is made at; a measured interval within 1% of one of them is that rate.
#[cfg_attr(not(feature = "video"), allow(dead_code))]
const STANDARD_RATES: [(i64, i64); 12] = [
    (24000, 1001),
    (24, 1),
    (25, 1),
    (30000, 1001),
    (30, 1),
    (48, 1),
    (50, 1),
    (60000, 1001),
    (60, 1),
    (90, 1),
    (120, 1),
    (240, 1),
];

/// Whether frames shown at `times` (seconds from the first frame,
/// increasing) keep to `rate`: `None` if every frame is within half an
/// interval of k / rate, else how the timing varies.
#[cfg_attr(not(feature = "video"), allow(dead_code))]
pub(crate) fn measure(times: &[f64], rate: Rational) -> Option<VariableRate> {
    if times.len() < 3 {
        return None;
    }
    let period = 1.0 / rate.to_f64();
    let displaced = |period: f64| {
        times.iter().enumerate().filter(|&(k, &t)| (t - k as f64 * period).abs() > 0.5 * period).count() as u64
    };
    if displaced(period) == 0 {
        return None;
    }
    let mut intervals: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).collect();
    if intervals.is_empty() {
        return None;
    }
    intervals.sort_by(f64::total_cmp);
    let median = intervals[intervals.len() / 2];
    let measured = 1.0 / median;
    let nominal = STANDARD_RATES
        .iter()
        .map(|&(n, d)| Rational::new(n, d).expect("a standard rate"))
        .filter(|r| (r.to_f64() - measured).abs() / measured < 0.01)
        .min_by(|a, b| (a.to_f64() - measured).abs().total_cmp(&(b.to_f64() - measured).abs()))
        .or_else(|| ((rate.to_f64() - measured).abs() / measured < 0.01).then_some(rate))
        .unwrap_or_else(|| Rational::new((measured * 1000.0).round().max(1.0) as i64, 1000).unwrap_or(rate));
    Some(VariableRate {
        nominal,
        slowest_fps: 1.0 / intervals[intervals.len() - 1],
        fastest_fps: 1.0 / intervals[0],
        displaced_frames: displaced(1.0 / nominal.to_f64()),
    })
}

/// A constant-rate copy of a variable-rate clip: which source frame each of
/// its frames shows, and a note saying what that repeated and left out.
#[derive(Clone, Debug)]
pub struct ConstantRate {
    /// The source frame each output frame shows, in order.
    pub order: Vec<u64>,
    /// In words, for the report of the operation that wrote it.
    pub note: String,
}

impl ConstantRate {
    /// How many times each of the `frames` source frames is shown (0: left out).
    pub fn shown_counts(&self, frames: u64) -> Vec<u32> {
        let mut shown = vec![0u32; frames as usize];
        for &k in &self.order {
            shown[k as usize] += 1;
        }
        shown
    }
}

/// The source frame shown at each instant n / `rate` of a clip whose frames
/// show at `times` and which lasts `duration` seconds: what a constant-rate
/// copy of it holds. Also says how many source frames it shows more than
/// once, and how many it never shows.
pub(crate) fn constant_rate_frames(times: &[f64], rate: Rational, duration: f64) -> (Vec<u64>, u64, u64) {
    let period = 1.0 / rate.to_f64();
    let count = ((duration / period) - 1e-6).ceil().max(1.0) as u64;
    let mut frames = Vec::with_capacity(count as usize);
    let mut shown = vec![0u32; times.len()];
    for n in 0..count {
        // The frame shown nearest that instant: timestamps are rounded to
        // the container's time base, so a frame due at it may read a little late.
        let at = (n as f64 + 0.5) * period;
        let k = times.partition_point(|&t| t <= at).saturating_sub(1);
        shown[k] += 1;
        frames.push(k as u64);
    }
    let repeated = shown.iter().map(|&s| s.saturating_sub(1) as u64).sum();
    let dropped = shown.iter().filter(|&&s| s == 0).count() as u64;
    (frames, repeated, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 fps with a stall: frames 10..15 each stay up for two intervals.
    fn stalled() -> Vec<f64> {
        let mut t = 0.0;
        (0..30)
            .map(|k| {
                let now = t;
                t += if (10..15).contains(&k) { 2.0 / 30.0 } else { 1.0 / 30.0 };
                now
            })
            .collect()
    }

    #[test]
    fn constant_rate_clips_are_not_variable() {
        let times: Vec<f64> = (0..50).map(|k| (k as f64 / 29.97 * 1000.0).round() / 1000.0).collect();
        assert_eq!(measure(&times, Rational::new(30000, 1001).unwrap()), None, "millisecond rounding is not VFR");
    }

    #[test]
    fn a_stall_is_measured_and_mapped_to_repeats() {
        let times = stalled();
        let v = measure(&times, Rational::integer(30)).expect("variable");
        assert_eq!(v.nominal, Rational::integer(30));
        assert!((v.slowest_fps - 15.0).abs() < 1e-9 && (v.fastest_fps - 30.0).abs() < 1e-9, "{v:?}");
        assert_eq!(v.displaced_frames, 19, "every frame after the stall is late");
        let duration = times[29] + 1.0 / 30.0;
        let (frames, repeated, dropped) = constant_rate_frames(&times, v.nominal, duration);
        assert_eq!(frames.len(), 35, "the stall's 5 extra intervals are kept");
        assert_eq!((repeated, dropped), (5, 0));
        assert_eq!(&frames[9..14], &[9, 10, 10, 11, 11]);
        assert_eq!(*frames.last().unwrap(), 29);
    }
}
