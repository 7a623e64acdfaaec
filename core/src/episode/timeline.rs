//! An edit as the interchange files editors import: OpenTimelineIO
//! (`.otio`: DaVinci Resolve, Premiere through its plugin, Nuke Studio),
//! FCPXML 1.8 (Final Cut Pro, Resolve), a CMX 3600 EDL (every NLE) and an
//! MLT XML project (Kdenlive, Shotcut, `melt`).
//!
//! One video track of clips end to end from 01:00:00:00. Each clip's media
//! starts at the timecode where the clip sits in the edit, so source and
//! record timecodes agree (an EDL reads naturally, a conform finds every
//! frame). Each clip carries its take's prompt, seed, adapter and scores:
//! OTIO metadata (`mattebox`), FCPXML notes and `md` metadata, EDL comments,
//! MLT `meta.mattebox.*` properties; and a marker with the rank's reason.
//! Pure text: the caller writes the files (staged) and the media.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::markup::escape as xml_escape;
use crate::media::Timecode;
use crate::rational::Rational;

/// One clip of the edit.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineClip {
    /// Its name (the shot and take, `s01-take2`).
    pub name: String,
    /// Its media file (absolute), whose frame 0 is at the clip's record
    /// timecode.
    pub media: PathBuf,
    /// Frames, at the timeline's rate.
    pub frames: u64,
    /// Frame size of the media.
    pub size: (u32, u32),
    /// What it was made from, as (key, value): prompt, seed, adapter, scores.
    pub metadata: Vec<(String, String)>,
    /// A sentence for a marker on its first frame (why this take).
    pub marker: String,
}

/// An edit: clips end to end on one video track.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Its name.
    pub name: String,
    /// Its frame rate (every clip's).
    pub rate: Rational,
    /// Frame size of the sequence.
    pub size: (u32, u32),
    /// The clips, in order.
    pub clips: Vec<TimelineClip>,
}

/// Where the edit starts: 01:00:00:00.
pub fn start_frame(rate: Rational) -> u64 {
    (rate.to_f64().round() as u64).max(1) * 3600
}

impl Timeline {
    /// The record (and media) start frame of every clip, then the end.
    pub fn clip_starts(&self) -> Vec<u64> {
        let mut at = start_frame(self.rate);
        let mut starts = Vec::with_capacity(self.clips.len() + 1);
        for clip in &self.clips {
            starts.push(at);
            at += clip.frames;
        }
        starts.push(at);
        starts
    }

    fn timecode(&self, frame: u64) -> String {
        Timecode { frame, rate: self.rate, drop_frame: false }.to_string()
    }
}

/// `path` as a `file://` URL, bytes outside the unreserved set escaped.
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

/// OpenTimelineIO JSON (`Timeline.1`, `Clip.2`), as `opentimelineio` 0.18 writes it.
pub fn otio(timeline: &Timeline) -> String {
    use serde_json::{Value, json};
    let rate = timeline.rate.to_f64();
    let time = |value: u64| json!({ "OTIO_SCHEMA": "RationalTime.1", "rate": rate, "value": value as f64 });
    let range = |start: u64, duration: u64| json!({ "OTIO_SCHEMA": "TimeRange.1", "start_time": time(start), "duration": time(duration) });
    let starts = timeline.clip_starts();
    let clips: Vec<Value> = timeline
        .clips
        .iter()
        .zip(&starts)
        .map(|(clip, &start)| {
            let metadata: serde_json::Map<String, Value> =
                clip.metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            json!({
                "OTIO_SCHEMA": "Clip.2",
                "name": clip.name,
                "metadata": { "mattebox": metadata },
                "source_range": range(start, clip.frames),
                "effects": [],
                "markers": [{
                    "OTIO_SCHEMA": "Marker.2",
                    "name": "mattebox",
                    "color": "GREEN",
                    "comment": clip.marker,
                    "metadata": {},
                    "marked_range": range(start, 0),
                }],
                "enabled": true,
                "color": null,
                "media_references": {
                    "DEFAULT_MEDIA": {
                        "OTIO_SCHEMA": "ExternalReference.1",
                        "name": clip.media.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                        "metadata": {},
                        "available_range": range(start, clip.frames),
                        "available_image_bounds": null,
                        "target_url": file_url(&clip.media),
                    }
                },
                "active_media_reference_key": "DEFAULT_MEDIA",
            })
        })
        .collect();
    let doc = json!({
        "OTIO_SCHEMA": "Timeline.1",
        "name": timeline.name,
        "metadata": {},
        "global_start_time": time(start_frame(timeline.rate)),
        "tracks": {
            "OTIO_SCHEMA": "Stack.1",
            "name": "tracks",
            "metadata": {},
            "source_range": null,
            "effects": [],
            "markers": [],
            "enabled": true,
            "color": null,
            "children": [{
                "OTIO_SCHEMA": "Track.1",
                "name": "V1",
                "kind": "Video",
                "metadata": {},
                "source_range": null,
                "effects": [],
                "markers": [],
                "enabled": true,
                "color": null,
                "children": clips,
            }],
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// FCPXML 1.8: one event holding each take as a clip (with its metadata)
/// and a project whose spine holds them in order.
pub fn fcpxml(timeline: &Timeline) -> String {
    let (num, den) = (timeline.rate.num(), timeline.rate.den());
    // N frames last N * den / num seconds.
    let seconds =
        |frames: u64| -> String { if frames == 0 { "0s".into() } else { format!("{}/{}s", frames as i64 * den, num) } };
    let starts = timeline.clip_starts();
    let (w, h) = timeline.size;
    let mut x = String::new();
    let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.8\">");
    let _ = writeln!(x, "  <resources>");
    let _ = writeln!(
        x,
        "    <format id=\"r0\" name=\"FFVideoFormat{h}p\" frameDuration=\"{}\" width=\"{w}\" height=\"{h}\" \
         colorSpace=\"1-1-1 (Rec. 709)\"/>",
        seconds(1)
    );
    let mut formats = vec![(w, h)];
    let format_of = |size: (u32, u32), formats: &[(u32, u32)]| formats.iter().position(|&f| f == size).unwrap_or(0);
    for clip in &timeline.clips {
        if !formats.contains(&clip.size) {
            let (cw, ch) = clip.size;
            let _ = writeln!(
                x,
                "    <format id=\"r{}\" frameDuration=\"{}\" width=\"{cw}\" height=\"{ch}\" colorSpace=\"1-1-1 (Rec. 709)\"/>",
                formats.len(),
                seconds(1)
            );
            formats.push(clip.size);
        }
    }
    for (i, (clip, &start)) in timeline.clips.iter().zip(&starts).enumerate() {
        let _ = writeln!(
            x,
            "    <asset id=\"a{i}\" name=\"{}\" src=\"{}\" start=\"{}\" duration=\"{}\" hasVideo=\"1\" \
             format=\"r{}\" videoSources=\"1\"/>",
            xml_escape(&clip.name),
            xml_escape(&file_url(&clip.media)),
            seconds(start),
            seconds(clip.frames),
            format_of(clip.size, &formats)
        );
    }
    let _ = writeln!(x, "  </resources>");
    let name = xml_escape(&timeline.name);
    let total = starts.last().copied().unwrap_or(0) - starts[0];
    let _ = writeln!(x, "  <event name=\"{name}\">");
    // Each take also as a clip of the event's browser, with its metadata
    // (where Final Cut shows it, and where OTIO's reader looks), then in
    // the project's spine at its offset.
    let asset_clip = |x: &mut String, i: usize, in_spine: bool, indent: &str| {
        let (clip, start) = (&timeline.clips[i], starts[i]);
        // In the spine, a clip sits where its source timecode says.
        let offset = if in_spine { format!(" offset=\"{}\"", seconds(start)) } else { String::new() };
        let _ = writeln!(
            x,
            "{indent}<asset-clip ref=\"a{i}\" name=\"{}\"{offset} start=\"{}\" duration=\"{}\" format=\"r{}\" \
             tcFormat=\"NDF\">",
            xml_escape(&clip.name),
            seconds(start),
            seconds(clip.frames),
            format_of(clip.size, &formats)
        );
        clip_details(x, clip, &seconds(start), &seconds(1), &format!("{indent}  "));
        let _ = writeln!(x, "{indent}</asset-clip>");
    };
    for i in 0..timeline.clips.len() {
        asset_clip(&mut x, i, false, "    ");
    }
    let _ = writeln!(x, "    <project name=\"{name}\">");
    let _ = writeln!(
        x,
        "      <sequence format=\"r0\" duration=\"{}\" tcStart=\"{}\" tcFormat=\"NDF\">\n        <spine>",
        seconds(total),
        seconds(starts[0])
    );
    for i in 0..timeline.clips.len() {
        asset_clip(&mut x, i, true, "          ");
    }
    let _ = writeln!(x, "        </spine>\n      </sequence>\n    </project>\n  </event>\n</fcpxml>");
    x
}

/// An FCPXML clip's note, marker (on its first frame) and metadata.
fn clip_details(x: &mut String, clip: &TimelineClip, start: &str, one_frame: &str, indent: &str) {
    let note: Vec<String> = clip.metadata.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(x, "{indent}<note>{}</note>", xml_escape(&note.join("; ")));
    let _ = writeln!(
        x,
        "{indent}<marker start=\"{}\" duration=\"{}\" value=\"{}\"/>",
        start,
        one_frame,
        xml_escape(&clip.marker)
    );
    let _ = writeln!(x, "{indent}<metadata>");
    for (k, v) in &clip.metadata {
        let _ = writeln!(x, "{indent}  <md key=\"com.mattebox.{}\" value=\"{}\"/>", xml_escape(k), xml_escape(v));
    }
    let _ = writeln!(x, "{indent}</metadata>");
}

/// An EDL comment line's text: one line, printable ASCII (EDL readers
/// are line- and byte-oriented).
fn edl_text(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

/// A CMX 3600 EDL: one cut per clip, the media named by `* FROM CLIP
/// NAME` and `* FROM FILE`, the metadata as comments, the reason as a
/// `* LOC` locator.
pub fn edl(timeline: &Timeline) -> String {
    let starts = timeline.clip_starts();
    let mut e = String::new();
    let _ = writeln!(e, "TITLE: {}\nFCM: NON-DROP FRAME\n", edl_text(&timeline.name));
    for (i, (clip, &start)) in timeline.clips.iter().zip(&starts).enumerate() {
        let reel: String = clip.name.chars().filter(char::is_ascii_alphanumeric).take(8).collect::<String>();
        let (tc_in, tc_out) = (timeline.timecode(start), timeline.timecode(start + clip.frames));
        let _ =
            writeln!(e, "{:03}  {:<8} V     C        {tc_in} {tc_out} {tc_in} {tc_out}", i + 1, reel.to_uppercase());
        let _ = writeln!(e, "* FROM CLIP NAME: {}", edl_text(&clip.name));
        let _ = writeln!(e, "* FROM FILE: {}", edl_text(&clip.media.display().to_string()));
        for (k, v) in &clip.metadata {
            let _ = writeln!(e, "* MATTEBOX {}: {}", edl_text(k).to_uppercase(), edl_text(v));
        }
        let _ = writeln!(e, "* LOC: {tc_in} GREEN   {}\n", edl_text(&clip.marker));
    }
    e
}

/// An MLT XML project: a producer per clip, a playlist of them, a tractor
/// (what `melt` renders and Kdenlive or Shotcut open).
pub fn mlt(timeline: &Timeline) -> String {
    let (w, h) = timeline.size;
    let gcd = |mut a: u32, mut b: u32| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a.max(1)
    };
    let g = gcd(w, h);
    let mut m = String::new();
    let _ = writeln!(
        m,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<mlt LC_NUMERIC=\"C\" version=\"7.0.0\" title=\"{}\">",
        xml_escape(&timeline.name)
    );
    let _ = writeln!(
        m,
        "  <profile description=\"{}\" width=\"{w}\" height=\"{h}\" progressive=\"1\" sample_aspect_num=\"1\" \
         sample_aspect_den=\"1\" display_aspect_num=\"{}\" display_aspect_den=\"{}\" frame_rate_num=\"{}\" \
         frame_rate_den=\"{}\" colorspace=\"709\"/>",
        xml_escape(&timeline.name),
        w / g,
        h / g,
        timeline.rate.num(),
        timeline.rate.den()
    );
    for (i, clip) in timeline.clips.iter().enumerate() {
        let last = clip.frames.saturating_sub(1);
        let _ = writeln!(m, "  <producer id=\"clip{i}\" in=\"0\" out=\"{last}\">");
        let _ =
            writeln!(m, "    <property name=\"resource\">{}</property>", xml_escape(&clip.media.display().to_string()));
        let _ = writeln!(m, "    <property name=\"mlt_service\">avformat</property>");
        let _ = writeln!(m, "    <property name=\"kdenlive:clipname\">{}</property>", xml_escape(&clip.name));
        for (k, v) in &clip.metadata {
            let _ = writeln!(m, "    <property name=\"meta.mattebox.{}\">{}</property>", xml_escape(k), xml_escape(v));
        }
        let _ = writeln!(m, "    <property name=\"meta.mattebox.reason\">{}</property>", xml_escape(&clip.marker));
        let _ = writeln!(m, "  </producer>");
    }
    let _ = writeln!(m, "  <playlist id=\"edit\">");
    for (i, clip) in timeline.clips.iter().enumerate() {
        let _ = writeln!(m, "    <entry producer=\"clip{i}\" in=\"0\" out=\"{}\"/>", clip.frames.saturating_sub(1));
    }
    let total: u64 = timeline.clips.iter().map(|c| c.frames).sum();
    let _ = writeln!(m, "  </playlist>");
    let _ = writeln!(
        m,
        "  <tractor id=\"episode\" in=\"0\" out=\"{}\">\n    <track producer=\"edit\"/>\n  </tractor>\n</mlt>",
        total.saturating_sub(1)
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        let clip = |name: &str, frames| TimelineClip {
            name: name.into(),
            media: PathBuf::from(format!("/tmp/my edit/{name}.mp4")),
            frames,
            size: (640, 360),
            metadata: vec![("prompt".into(), "a <valley> & \"dusk\"".into()), ("seed".into(), "7".into())],
            marker: "ranked 1 of 2".into(),
        };
        Timeline {
            name: "ep & 1".into(),
            rate: Rational::new(24000, 1001).unwrap(),
            size: (640, 360),
            clips: vec![clip("s01-take2", 48), clip("s02-take1", 24)],
        }
    }

    #[test]
    fn clips_sit_end_to_end_from_one_hour() {
        let t = timeline();
        assert_eq!(t.clip_starts(), [86400, 86448, 86472]);
        let edl = edl(&t);
        assert!(edl.contains("001  S01TAKE2 V     C        01:00:00:00 01:00:02:00 01:00:00:00 01:00:02:00"), "{edl}");
        assert!(edl.contains("002  S02TAKE1 V     C        01:00:02:00 01:00:03:00"), "{edl}");
        assert!(file_url(&t.clips[0].media).ends_with("/tmp/my%20edit/s01-take2.mp4"));
        let x = fcpxml(&t);
        assert!(x.contains("frameDuration=\"1001/24000s\""));
        assert!(x.contains("offset=\"86486400/24000s\""), "86400 frames of 1001/24000 s");
        assert!(x.contains("a &lt;valley&gt; &amp; &quot;dusk&quot;") && !x.contains("<valley>"));
        let m = mlt(&t);
        assert!(m.contains("frame_rate_num=\"24000\" frame_rate_den=\"1001\"") && m.contains("out=\"71\""));
        let o: serde_json::Value = serde_json::from_str(&otio(&t)).unwrap();
        let clip = &o["tracks"]["children"][0]["children"][1];
        assert_eq!(clip["source_range"]["start_time"]["value"], 86448.0);
        assert_eq!(clip["metadata"]["mattebox"]["seed"], "7");
    }
}
