//! What a clip says about itself besides its pixels: where it sits in the
//! edit (start timecode, reel), how its numbers map to colour (primaries,
//! transfer, matrix, range), and how its pixels are shaped and shown (pixel
//! aspect ratio, rotation, field order).
//!
//! An editor relies on every one of these, so every operation carries them
//! from its source to its output: read from a video stream or a sequence's
//! sidecar, written into the output's container or sidecar. Names are
//! ffmpeg's (`bt709`, `smpte2084`, `tv`), so they mean the same thing
//! in `ffprobe` and in our sidecar.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rational::Rational;

/// Tags of a clip; `None` is "the source does not say".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipTags {
    /// Start timecode of frame 0, `HH:MM:SS:FF` (`;` before the frames for
    /// drop-frame), counted at the clip's frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode: Option<String>,
    /// Reel (tape) name the timecode belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reel: Option<String>,
    /// Colour primaries (`bt709`, `bt2020`, `smpte170m`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primaries: Option<String>,
    /// Transfer characteristic (`bt709`, `smpte2084` for PQ, `arib-std-b67` for HLG, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// YUV matrix (`bt709`, `bt2020nc`, `smpte170m`, `gbr` for RGB, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<String>,
    /// Value range: `tv` (limited) or `pc` (full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Width of one pixel over its height (absent: square pixels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_aspect: Option<Rational>,
    /// Degrees a player turns the picture counterclockwise to show it
    /// (phone footage: 90 or 270); absent: shown as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<i32>,
    /// `progressive`, `tt`, `bb`, `tb` or `bt` (ffmpeg's names: top field first, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_order: Option<String>,
}

impl ClipTags {
    /// Whether the source said nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == ClipTags::default()
    }

    /// The tags of the same clip played at `to` frames per second instead
    /// of `from`: the start timecode is counted again at the new rate, so
    /// it names the same instant; everything else stays.
    pub fn at_rate(&self, from: Rational, to: Rational) -> Result<ClipTags> {
        let mut tags = self.clone();
        if let Some(text) = &self.timecode {
            tags.timecode = Some(Timecode::parse(text, from)?.at_rate(to).to_string());
        }
        Ok(tags)
    }

    /// Whether the pixels are interlaced (fields, not whole frames).
    pub fn is_interlaced(&self) -> bool {
        matches!(self.field_order.as_deref(), Some("tt" | "bb" | "tb" | "bt"))
    }
}

/// A SMPTE timecode at a frame rate: a frame number since midnight, shown
/// as `HH:MM:SS:FF`, with drop-frame counting at 29.97 and 59.94.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timecode {
    /// Frames since 00:00:00:00 at `rate`.
    pub frame: u64,
    /// The rate it counts at.
    pub rate: Rational,
    /// Drop-frame counting (skips labels, not frames, to follow the clock).
    pub drop_frame: bool,
}

/// Frames a timecode counts per second: the rate rounded (24 at 23.976).
fn nominal_fps(rate: Rational) -> u64 {
    (rate.to_f64().round() as u64).max(1)
}

/// Labels drop-frame counting skips each minute (except every tenth), or
/// `None` where drop-frame does not exist (it does at 30000/1001 and 60000/1001).
fn dropped_per_minute(rate: Rational) -> Option<u64> {
    match (rate.num(), rate.den()) {
        (30000, 1001) => Some(2),
        (60000, 1001) => Some(4),
        _ => None,
    }
}

const FRAMES_PER_DAY_SECONDS: u64 = 24 * 3600;

impl Timecode {
    /// Parses `HH:MM:SS:FF`; `;` or `.` before the frames means drop-frame.
    pub fn parse(text: &str, rate: Rational) -> Result<Timecode> {
        let bad = |why: &str| {
            Error::invalid_argument(format!(
                "timecode {text:?}: {why}; write it as HH:MM:SS:FF (HH:MM:SS;FF for drop-frame)"
            ))
        };
        let trimmed = text.trim();
        let parts: Vec<&str> = trimmed.split([':', ';', '.']).collect();
        if parts.len() != 4
            || parts.iter().any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("not four numbers"));
        }
        let n: Vec<u64> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
        let drop_frame = trimmed.rfind([';', '.']).is_some_and(|i| i > trimmed.rfind(':').unwrap_or(0));
        let fps = nominal_fps(rate);
        let (h, m, s, f) = (n[0], n[1], n[2], n[3]);
        if h >= 24 || m >= 60 || s >= 60 || f >= fps {
            return Err(bad(&format!("a field is out of range at {fps} frames per second")));
        }
        let mut frame = ((h * 60 + m) * 60 + s) * fps + f;
        if drop_frame {
            let Some(drop) = dropped_per_minute(rate) else {
                return Err(bad(&format!("drop-frame counting exists only at 29.97 and 59.94 fps, not {rate}")));
            };
            if s == 0 && f < drop && m % 10 != 0 {
                return Err(bad("that label is skipped by drop-frame counting"));
            }
            let minutes = h * 60 + m;
            frame -= drop * (minutes - minutes / 10);
        }
        Ok(Timecode { frame, rate, drop_frame })
    }

    /// The same instant counted at `rate` (rounded to the nearest frame),
    /// drop-frame if this one is and the new rate has drop-frame.
    pub fn at_rate(self, rate: Rational) -> Timecode {
        // frame / self.rate seconds, times rate, in integers.
        let num = self.frame as i128 * rate.num() as i128 * self.rate.den() as i128;
        let den = rate.den() as i128 * self.rate.num() as i128;
        let frame = ((2 * num + den) / (2 * den)) as u64;
        let drop_frame = self.drop_frame && dropped_per_minute(rate).is_some();
        Timecode { frame, rate, drop_frame }
    }
}

impl std::fmt::Display for Timecode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fps = nominal_fps(self.rate);
        let mut label = self.frame % (FRAMES_PER_DAY_SECONDS * fps);
        let drop = if self.drop_frame { dropped_per_minute(self.rate) } else { None };
        if let Some(drop) = drop {
            // Add back the labels skipped before this frame.
            let per_ten_minutes = fps * 600 - drop * 9;
            let per_minute = fps * 60 - drop;
            let frame = self.frame % (per_ten_minutes * 6 * 24);
            let (tens, rest) = (frame / per_ten_minutes, frame % per_ten_minutes);
            let skipped_in_rest = if rest < drop { 0 } else { drop * ((rest - drop) / per_minute) };
            label = frame + drop * 9 * tens + skipped_in_rest;
        }
        let (frames, seconds) = (label % fps, label / fps);
        let separator = if drop.is_some() { ';' } else { ':' };
        write!(f, "{:02}:{:02}:{:02}{separator}{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60, frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: i64, d: i64) -> Rational {
        Rational::new(n, d).unwrap()
    }

    #[test]
    fn non_drop_timecode_round_trips_and_counts_frames() {
        let tc = Timecode::parse("01:00:00:00", rate(24, 1)).unwrap();
        assert_eq!(tc.frame, 86_400);
        assert_eq!(tc.to_string(), "01:00:00:00");
        let tc = Timecode::parse("10:59:59:23", rate(24000, 1001)).unwrap();
        assert_eq!(tc.to_string(), "10:59:59:23");
        assert!(Timecode::parse("01:00:00:24", rate(24, 1)).is_err());
        assert!(Timecode::parse("01:00:00", rate(24, 1)).is_err());
        assert!(Timecode::parse("01:00:00;00", rate(25, 1)).is_err(), "no drop-frame at 25");
    }

    #[test]
    fn drop_frame_labels_skip_two_per_minute_except_every_tenth() {
        let r = rate(30000, 1001);
        // The frame after 00:00:59;29 is labelled 00:01:00;02.
        let a = Timecode::parse("00:00:59;29", r).unwrap();
        assert_eq!(Timecode { frame: a.frame + 1, ..a }.to_string(), "00:01:00;02");
        // Minute 10 keeps its first labels.
        let b = Timecode::parse("00:09:59;29", r).unwrap();
        assert_eq!(Timecode { frame: b.frame + 1, ..b }.to_string(), "00:10:00;00");
        // One hour of drop-frame labels is 107892 frames (29.97 * 3600 rounded).
        assert_eq!(Timecode::parse("01:00:00;00", r).unwrap().frame, 107_892);
        assert!(Timecode::parse("00:01:00;00", r).is_err(), "a skipped label");
        for frame in [0, 1, 1799, 1800, 17_981, 17_982, 107_891, 2_589_407] {
            let tc = Timecode { frame, rate: r, drop_frame: true };
            assert_eq!(Timecode::parse(&tc.to_string(), r).unwrap().frame, frame, "{tc}");
        }
    }

    #[test]
    fn changing_the_rate_keeps_the_instant() {
        let tags = ClipTags { timecode: Some("01:00:00;00".into()), ..Default::default() };
        // 29.97 drop-frame to 59.94: same label, twice the frames.
        let at_60 = tags.at_rate(rate(30000, 1001), rate(60000, 1001)).unwrap();
        assert_eq!(at_60.timecode.as_deref(), Some("01:00:00;00"));
        // 24 to 48 fps: frame 12 becomes frame 24 of the same second.
        let tags = ClipTags { timecode: Some("00:00:10:12".into()), ..Default::default() };
        let at_48 = tags.at_rate(rate(24, 1), rate(48, 1)).unwrap();
        assert_eq!(at_48.timecode.as_deref(), Some("00:00:10:24"));
        // Drop-frame is not kept where the new rate has none.
        let df = Timecode::parse("00:10:00;00", rate(30000, 1001)).unwrap();
        assert!(!df.at_rate(rate(24000, 1001)).drop_frame);
    }
}
