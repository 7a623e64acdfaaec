//! Retime plans: for each output frame, its exact time and the source
//! position it shows (a source frame, and how far towards the next one).
//!
//! A plan depends only on rates, frame counts and the speed request, not on
//! pixels, so a host that renders frame by frame (an OFX effect) can ask it
//! which two source frames and which t make output frame j.
//!
//! Conventions:
//!
//! - output frame j is at time j / output rate, exactly;
//! - the output covers the source's duration (frame count / source rate)
//!   at the requested speed, so 48 frames at 24 fps become 120 at 60 fps;
//! - positions past the last source frame hold it (there is nothing after it
//!   to interpolate towards).

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::rational::Rational;

/// What a retime should do.
#[derive(Clone, Debug, PartialEq)]
pub enum RetimeSpec {
    /// Convert to this frame rate at normal speed.
    FrameRate(Rational),
    /// Play at this constant speed (0.25 = 4x slow motion), at the output rate.
    Speed(Rational),
    /// Play at a speed that changes over time, at the output rate.
    Curve(SpeedCurve),
}

/// Playback speed over output time: keys (seconds, speed), linear between
/// keys, constant before the first and after the last.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeedCurve {
    keys: Vec<(f64, f64)>,
}

/// Slowest and fastest speeds accepted (1/64 = 64x slow motion).
pub const MIN_SPEED: f64 = 1.0 / 64.0;
/// Fastest speed accepted.
pub const MAX_SPEED: f64 = 64.0;

fn check_speed(speed: f64, place: &str) -> Result<()> {
    if !speed.is_finite() || speed <= 0.0 {
        return Err(Error::invalid_argument(format!(
            "{place}: speed {speed} must be above zero (0.5 is half speed; reverse playback is not supported)"
        )));
    }
    if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
        return Err(Error::invalid_argument(format!("{place}: speed {speed} is outside 1/64 to 64")));
    }
    Ok(())
}

impl SpeedCurve {
    /// A curve from `(output time in seconds, speed)` keys in time order.
    pub fn new(keys: Vec<(f64, f64)>) -> Result<SpeedCurve> {
        if keys.is_empty() {
            return Err(Error::invalid_argument("a speed curve needs at least one key"));
        }
        for (i, &(time, speed)) in keys.iter().enumerate() {
            let place = format!("key {} (time {time})", i + 1);
            if !time.is_finite() || time < 0.0 {
                return Err(Error::invalid_argument(format!("{place}: times must be zero or more seconds")));
            }
            check_speed(speed, &place)?;
            if i > 0 && time <= keys[i - 1].0 {
                return Err(Error::invalid_argument(format!("{place}: times must increase from key to key")));
            }
        }
        Ok(SpeedCurve { keys })
    }

    /// Parses the curve file format: one key per line, `TIME SPEED` (seconds
    /// of output and playback speed), separated by spaces, a tab or a comma;
    /// `#` starts a comment.
    ///
    /// ```text
    /// # ramp into 4x slow motion and back
    /// 0.0  1.0
    /// 1.0  0.25
    /// 2.0  0.25
    /// 2.5  1.0
    /// ```
    pub fn parse(text: &str, origin: &str) -> Result<SpeedCurve> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> =
                line.split(|c: char| c == ',' || c.is_whitespace()).filter(|f| !f.is_empty()).collect();
            let bad = || Error::invalid_argument(format!("{origin}:{}: expected `TIME SPEED`, got {line:?}", n + 1));
            if fields.len() != 2 {
                return Err(bad());
            }
            let time: f64 = fields[0].parse().map_err(|_| bad())?;
            let speed: f64 = fields[1].parse().map_err(|_| bad())?;
            keys.push((time, speed));
        }
        SpeedCurve::new(keys).map_err(|e| e.context(origin))
    }

    /// Reads a curve file (see [`SpeedCurve::parse`]).
    pub fn read(path: &Path) -> Result<SpeedCurve> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the speed curve", e))?;
        SpeedCurve::parse(&text, &path.display().to_string())
    }

    /// Speed at output time `t`.
    pub fn speed_at(&self, t: f64) -> f64 {
        let k = &self.keys;
        if t <= k[0].0 {
            return k[0].1;
        }
        for w in k.windows(2) {
            let ((t0, s0), (t1, s1)) = (w[0], w[1]);
            if t <= t1 {
                return s0 + (s1 - s0) * (t - t0) / (t1 - t0);
            }
        }
        k[k.len() - 1].1
    }

    /// Source seconds played by output time `t`: the integral of the speed
    /// from 0 to `t`, exact for a piecewise-linear curve.
    pub fn source_time_at(&self, t: f64) -> f64 {
        // Breakpoints: 0, every key time inside (0, t), and t.
        let mut points = vec![0.0];
        points.extend(self.keys.iter().map(|k| k.0).filter(|&k| k > 0.0 && k < t));
        points.push(t);
        points.windows(2).map(|w| 0.5 * (self.speed_at(w[0]) + self.speed_at(w[1])) * (w[1] - w[0])).sum()
    }
}

/// Where one output frame comes from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PlannedFrame {
    /// Output frame number.
    pub index: u64,
    /// Output time in seconds, exact.
    pub time: Rational,
    /// Source frame at or before the position.
    pub source: u64,
    /// How far from `source` towards `source + 1`, in [0, 1); exactly 0 when
    /// the output frame is a source frame.
    pub fraction: f64,
}

/// The output frames of a retime.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetimePlan {
    /// Output frame rate.
    pub rate: Rational,
    /// One entry per output frame.
    pub frames: Vec<PlannedFrame>,
}

impl RetimePlan {
    /// The same plan over a source whose frames show at `times` (seconds
    /// from the first, increasing; a variable-rate clip) instead of every
    /// 1 / `nominal_rate`: each planned position is read as a time and put
    /// between the two frames shown around it, at its share of their interval.
    pub fn on_times(mut self, nominal_rate: Rational, times: &[f64]) -> Result<RetimePlan> {
        if times.is_empty() || times.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::invalid_argument("frame times must increase from frame to frame"));
        }
        let last = times.len() - 1;
        let period = 1.0 / nominal_rate.to_f64();
        for frame in &mut self.frames {
            let at = (frame.source as f64 + frame.fraction) * period;
            let k = times.partition_point(|&t| t <= at + 1e-9).saturating_sub(1);
            let (source, fraction) = if k >= last {
                (last as u64, 0.0)
            } else {
                let f = (at - times[k]) / (times[k + 1] - times[k]);
                // Positions within 2% of an interval of a frame's time are
                // that frame: timestamps are rounded to the container's time
                // base, and a frame made 1% of the way is the frame.
                if f < 0.02 {
                    (k as u64, 0.0)
                } else if f > 0.98 {
                    (k as u64 + 1, 0.0)
                } else {
                    (k as u64, f)
                }
            };
            frame.source = source;
            frame.fraction = fraction;
        }
        Ok(self)
    }
}

/// Most output frames a plan may have (a day at 120 fps).
pub const MAX_OUTPUT_FRAMES: u64 = 120 * 86_400;

fn check_rate(rate: Rational, what: &str) -> Result<()> {
    if !rate.is_positive() || rate.to_f64() > 10_000.0 {
        return Err(Error::invalid_argument(format!("{what} {rate} must be above zero and at most 10000 fps")));
    }
    Ok(())
}

/// Plans a retime of `source_frames` frames at `source_rate`. `output_rate`
/// is the rate for speed changes and curves (default: the source's); for
/// [`RetimeSpec::FrameRate`] the spec's rate is used.
pub fn plan(
    source_rate: Rational,
    source_frames: u64,
    output_rate: Option<Rational>,
    spec: &RetimeSpec,
) -> Result<RetimePlan> {
    check_rate(source_rate, "source frame rate")?;
    if source_frames == 0 {
        return Err(Error::invalid_argument("the source has no frames"));
    }
    let last = source_frames - 1;
    let exact = |index: u64, position: Rational, rate: Rational| -> Result<PlannedFrame> {
        let time = Rational::new(index as i64, 1)?.checked_mul(rate.recip()?)?;
        let floor = position.floor().max(0) as u64;
        if floor >= last {
            return Ok(PlannedFrame { index, time, source: last, fraction: 0.0 });
        }
        let fraction = position.checked_add(Rational::integer(-(floor as i64)))?.to_f64();
        Ok(PlannedFrame { index, time, source: floor, fraction })
    };
    let too_long = |count: f64| -> Result<()> {
        if count > MAX_OUTPUT_FRAMES as f64 {
            return Err(Error::invalid_argument(format!(
                "the retime would make {count:.0} frames; the limit is {MAX_OUTPUT_FRAMES}"
            )));
        }
        Ok(())
    };
    match spec {
        RetimeSpec::FrameRate(rate) | RetimeSpec::Speed(rate) if !rate.is_positive() => {
            Err(Error::invalid_argument(format!("{rate} must be above zero")))
        }
        RetimeSpec::FrameRate(out_rate) => {
            check_rate(*out_rate, "output frame rate")?;
            // Source frames per output frame, and the output count covering the source.
            let step = source_rate.checked_mul(out_rate.recip()?)?;
            let count = ceil_div(source_frames, step)?;
            too_long(count as f64)?;
            let frames = (0..count)
                .map(|j| exact(j, step.checked_mul(Rational::integer(j as i64))?, *out_rate))
                .collect::<Result<Vec<_>>>()?;
            Ok(RetimePlan { rate: *out_rate, frames })
        }
        RetimeSpec::Speed(speed) => {
            check_speed(speed.to_f64(), "--speed")?;
            let out_rate = output_rate.unwrap_or(source_rate);
            check_rate(out_rate, "output frame rate")?;
            let step = speed.checked_mul(source_rate)?.checked_mul(out_rate.recip()?)?;
            let count = ceil_div(source_frames, step)?;
            too_long(count as f64)?;
            let frames = (0..count)
                .map(|j| exact(j, step.checked_mul(Rational::integer(j as i64))?, out_rate))
                .collect::<Result<Vec<_>>>()?;
            Ok(RetimePlan { rate: out_rate, frames })
        }
        RetimeSpec::Curve(curve) => {
            let out_rate = output_rate.unwrap_or(source_rate);
            check_rate(out_rate, "output frame rate")?;
            let duration = source_frames as f64 / source_rate.to_f64();
            let mut frames = Vec::new();
            for j in 0.. {
                let time = Rational::new(j as i64, 1)?.checked_mul(out_rate.recip()?)?;
                let source_time = curve.source_time_at(time.to_f64());
                // Stop once the source is used up (a hair of tolerance for rounding).
                if source_time >= duration - 1e-9 {
                    break;
                }
                too_long(j as f64)?;
                let position = source_time * source_rate.to_f64();
                let floor = position.floor() as u64;
                let (source, fraction) = if floor >= last { (last, 0.0) } else { (floor, position - floor as f64) };
                frames.push(PlannedFrame { index: j, time, source, fraction });
            }
            Ok(RetimePlan { rate: out_rate, frames })
        }
    }
}

/// The least n with n * step >= count, for a positive rational step.
fn ceil_div(count: u64, step: Rational) -> Result<u64> {
    // n >= count * den / num
    let num = count as i128 * step.den() as i128;
    let den = step.num() as i128;
    let n = (num + den - 1) / den;
    u64::try_from(n).map_err(|_| Error::invalid_argument("the retime would make too many frames"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i64, d: i64) -> Rational {
        Rational::new(n, d).unwrap()
    }

    #[test]
    fn twenty_four_to_sixty() {
        let p = plan(r(24, 1), 48, None, &RetimeSpec::FrameRate(r(60, 1))).unwrap();
        assert_eq!(p.frames.len(), 120, "2 s at 60 fps");
        assert_eq!(p.rate, r(60, 1));
        // Every 5 output frames land on 2 source frames: fractions 0, .4, .8, .2, .6.
        let expected = [(0, 0.0), (0, 0.4), (0, 0.8), (1, 0.2), (1, 0.6), (2, 0.0)];
        for (j, (src, frac)) in expected.iter().enumerate() {
            assert_eq!(p.frames[j].source, *src, "frame {j}");
            assert!((p.frames[j].fraction - frac).abs() < 1e-12, "frame {j}: {}", p.frames[j].fraction);
            assert_eq!(p.frames[j].time, r(j as i64, 60));
        }
        assert_eq!(p.frames[115].source, 46);
        assert_eq!(p.frames[115].fraction, 0.0);
        // Past the last source frame (47 at 117.5), the last frame holds.
        assert_eq!((p.frames[119].source, p.frames[119].fraction), (47, 0.0));
    }

    #[test]
    fn ntsc_film_to_ntsc_video() {
        let p = plan(r(24000, 1001), 48, None, &RetimeSpec::FrameRate(r(30000, 1001))).unwrap();
        assert_eq!(p.frames.len(), 60, "the ratio is exactly 5/4");
        assert_eq!(p.frames[59].time, r(59 * 1001, 30000));
        let fractions: Vec<f64> = p.frames[..5].iter().map(|f| f.fraction).collect();
        assert_eq!(fractions, [0.0, 0.8, 0.6, 0.4, 0.2]);
        assert_eq!(p.frames[5].source, 4);
        assert_eq!(p.frames[5].fraction, 0.0);
        let p = plan(r(25, 1), 50, None, &RetimeSpec::FrameRate(r(30000, 1001))).unwrap();
        assert_eq!(p.frames.len(), 60, "2 s of 25 fps at 29.97: ceil(59.94)");
    }

    #[test]
    fn a_stalled_source_is_planned_on_its_timestamps() {
        // 30 fps, but frame 2 stays up for three intervals.
        let times = [0.0, 1.0 / 30.0, 2.0 / 30.0, 5.0 / 30.0, 6.0 / 30.0];
        let p = plan(r(30, 1), 7, None, &RetimeSpec::FrameRate(r(30, 1))).unwrap().on_times(r(30, 1), &times).unwrap();
        let at: Vec<(u64, f64)> = p.frames.iter().map(|f| (f.source, (f.fraction * 1e6).round() / 1e6)).collect();
        let third = (1.0f64 / 3.0 * 1e6).round() / 1e6;
        let two_thirds = (2.0f64 / 3.0 * 1e6).round() / 1e6;
        assert_eq!(at, [(0, 0.0), (1, 0.0), (2, 0.0), (2, third), (2, two_thirds), (3, 0.0), (4, 0.0)]);
        assert!(
            plan(r(30, 1), 2, None, &RetimeSpec::FrameRate(r(30, 1))).unwrap().on_times(r(30, 1), &[0.0, 0.0]).is_err()
        );
    }

    #[test]
    fn slow_motion_keeps_the_rate() {
        let p = plan(r(24, 1), 10, None, &RetimeSpec::Speed(r(1, 4))).unwrap();
        assert_eq!(p.frames.len(), 40);
        assert_eq!(p.rate, r(24, 1));
        assert_eq!((p.frames[5].source, p.frames[5].fraction), (1, 0.25));
        let p = plan(r(24, 1), 10, Some(r(48, 1)), &RetimeSpec::Speed(r(1, 2))).unwrap();
        assert_eq!(p.frames.len(), 40, "half speed at double rate");
    }

    #[test]
    fn ramp_integrates_the_curve() {
        // 1x for a second, then a linear ramp to 0.25x over a second, then 0.25x.
        let curve = SpeedCurve::parse("0 1\n1 1\n2 0.25 # hold\n", "ramp").unwrap();
        assert!((curve.source_time_at(1.0) - 1.0).abs() < 1e-12);
        assert!((curve.source_time_at(2.0) - 1.625).abs() < 1e-12);
        assert!((curve.source_time_at(3.0) - 1.875).abs() < 1e-12);
        // 3 s of 24 fps source (72 frames): used up at 2 + (3 - 1.625) / 0.25 = 7.5 s.
        let p = plan(r(24, 1), 72, None, &RetimeSpec::Curve(curve)).unwrap();
        assert_eq!(p.frames.len(), 180, "7.5 s at 24 fps");
        assert_eq!(p.frames[24].source, 24);
        assert_eq!(p.frames[24].fraction, 0.0);
        // At output 1.5 s the source is at 1 + (1 + 0.625)/2 * 0.5 = 1.40625 s = frame 33.75.
        assert_eq!(p.frames[36].source, 33);
        assert!((p.frames[36].fraction - 0.75).abs() < 1e-9);
        for w in p.frames.windows(2) {
            let (a, b) = (w[0].source as f64 + w[0].fraction, w[1].source as f64 + w[1].fraction);
            assert!(b >= a, "positions never go back");
        }
    }

    #[test]
    fn rejects_bad_requests() {
        for text in ["0 0", "0 -1", "0 1\n0 2", "1 x", "0 1 2", "", "-1 1", "0 100"] {
            assert!(SpeedCurve::parse(text, "t").is_err(), "{text:?}");
        }
        let err = SpeedCurve::parse("0 1\n1 0", "ramp.txt").unwrap_err();
        assert!(err.to_string().contains("ramp.txt") && err.to_string().contains("above zero"), "{err}");
        assert!(plan(r(24, 1), 0, None, &RetimeSpec::FrameRate(r(30, 1))).is_err());
        assert!(plan(r(24, 1), 10, None, &RetimeSpec::Speed(r(0, 1))).is_err());
        assert!(plan(r(24, 1), 10, None, &RetimeSpec::Speed(r(1, 1000))).is_err());
    }
}
