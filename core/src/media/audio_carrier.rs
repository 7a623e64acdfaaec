//! Carrying audio into a video output: every audio stream of a source file
//! goes into the output beside the frames, copied packet for packet where
//! the container can hold the codec, re-encoded where it cannot, and
//! time-stretched with its pitch kept when the pictures play at another
//! speed.
//!
//! Audio is interleaved as the frames are written: after each frame the
//! writer pumps the audio up to a little past that frame's time, so the
//! muxer never holds more than a second of either. Sync is kept by time,
//! not by counting: an audio packet at source time `t` lands at
//! `(t - origin) / speed`, where `origin` is the start of the source's
//! video stream (frame 0 of ours), or 0 for a file with no video.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use ff::ffi;
use ffmpeg_next as ff;

use super::ffmpeg::ff_error;
use super::{AudioInput, AudioReport, CarriedAudio};
use crate::error::{Error, Result};

/// Longest decoder priming kept before frame 0 (AAC's is 21 ms, Opus's 6.5 ms).
const PRIMING_SECONDS: f64 = 0.1;

/// The codec a container falls back to when it cannot hold the source's:
/// AAC in MP4, 24-bit PCM in QuickTime (the editing norm), FLAC in Matroska.
fn fallback_encoder(muxer: &str) -> &'static str {
    match muxer {
        "mov" => "pcm_s24le",
        "matroska" => "flac",
        _ => "aac",
    }
}

fn codec_name(id: ffi::AVCodecID) -> String {
    // SAFETY: avcodec_get_name returns a static string for any id.
    unsafe { CStr::from_ptr(ffi::avcodec_get_name(id)) }.to_string_lossy().into_owned()
}

fn layout_text(layout: &ffi::AVChannelLayout) -> String {
    let mut buf = [0 as std::ffi::c_char; 128];
    // SAFETY: the buffer and its size are ours; the layout is valid.
    let n = unsafe { ffi::av_channel_layout_describe(layout, buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return format!("{}c", layout.nb_channels);
    }
    // SAFETY: describe NUL-terminates within the buffer.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// Decode, stretch, convert and encode one stream.
struct Transcoder {
    decoder: ff::decoder::Audio,
    graph: ff::filter::Graph,
    encoder: ff::encoder::Audio,
    decoded: ff::frame::Audio,
    filtered: ff::frame::Audio,
    /// Output sample rate; encoder timestamps count samples.
    rate: i32,
    /// The stretch the filters apply; the first timestamp moves with it.
    speed: f64,
    /// Sample index in the output of the next filtered sample, fixed by the
    /// first decoded frame's time.
    next_sample: Option<i64>,
    flushed: bool,
}

enum Route {
    Copy,
    Transcode(Box<Transcoder>),
}

struct Carried {
    out_index: usize,
    in_tb: ff::Rational,
    out_tb: ff::Rational,
    /// The output's time zero, in `in_tb` units.
    origin: i64,
    route: Route,
    report: CarriedAudio,
    /// End of the last packet written, in `out_tb` units.
    end: i64,
}

/// Reads a source's audio and writes it into an output as frames go in.
pub(super) struct AudioCarrier {
    path: PathBuf,
    input: ff::format::context::Input,
    /// Indexed by source stream; `None` for streams not carried.
    streams: Vec<Option<Carried>>,
    pending: Option<ff::Packet>,
    speed: f64,
    at_end: bool,
    notes: Vec<String>,
}

/// The tempo filter chain for `speed`: rubberband (pitch kept, made for
/// speech and music) when this ffmpeg has it, else atempo, chained because
/// one atempo cannot go below half speed.
///
/// Rubberband's short window keeps a sound's energy where it was: a click
/// stretched to a quarter speed lands 17 ms early with it and 34 ms early
/// with the standard window, and atempo puts it 88 ms early
/// (docs/BENCHMARKS.md, "Audio through retime").
fn tempo_filters(speed: f64) -> String {
    // SAFETY: looking a filter up by a NUL-terminated name.
    let has_rubberband = unsafe { !ffi::avfilter_get_by_name(c"rubberband".as_ptr()).is_null() };
    if has_rubberband {
        return format!("rubberband=tempo={speed}:window=short");
    }
    let mut chain = Vec::new();
    let mut rest = speed;
    while rest < 0.5 {
        chain.push("atempo=0.5".to_owned());
        rest /= 0.5;
    }
    while rest > 100.0 {
        chain.push("atempo=100".to_owned());
        rest /= 100.0;
    }
    chain.push(format!("atempo={rest}"));
    chain.join(",")
}

impl AudioCarrier {
    /// Opens `audio.path` and adds an output stream for each of its audio
    /// streams to `output` (whose header is not written yet), or returns
    /// `None` when it has no audio. `muxer` names the output container.
    pub(super) fn open(
        audio: &AudioInput,
        output: &mut ff::format::context::Output,
        muxer: &str,
        display: &Path,
    ) -> Result<Option<AudioCarrier>> {
        let path = &audio.path;
        if !(audio.speed.is_finite() && audio.speed > 0.0) {
            return Err(Error::invalid_argument(format!("audio speed {} must be above zero", audio.speed)));
        }
        let input = ff::format::input(path).map_err(|e| ff_error(path, "open for its audio", e))?;
        let origin_seconds = input
            .streams()
            .best(ff::media::Type::Video)
            .map(|v| {
                let tb = v.time_base();
                let start = if v.start_time() == ffi::AV_NOPTS_VALUE { 0 } else { v.start_time() };
                start as f64 * tb.numerator() as f64 / tb.denominator().max(1) as f64
            })
            .unwrap_or(0.0);
        let mut streams = Vec::new();
        let mut notes = Vec::new();
        let copy_allowed = (audio.speed - 1.0).abs() < 1e-9;
        // SAFETY: the output context is valid; oformat is its muxer.
        let oformat = unsafe { (*output.as_ptr()).oformat };
        for stream in input.streams() {
            if stream.parameters().medium() != ff::media::Type::Audio {
                streams.push(None);
                continue;
            }
            let params = stream.parameters();
            let id = params.id();
            let source_codec = codec_name(id.into());
            // SAFETY: oformat is the output's static muxer description.
            let container_holds =
                unsafe { ffi::avformat_query_codec(oformat, id.into(), ffi::FF_COMPLIANCE_NORMAL) } == 1;
            let in_tb = stream.time_base();
            let origin = (origin_seconds * in_tb.denominator() as f64 / in_tb.numerator().max(1) as f64).round() as i64;
            let out_index = output.nb_streams() as usize;
            let report = CarriedAudio {
                source_stream: stream.index(),
                codec: source_codec.clone(),
                written_as: source_codec.clone(),
                copied: true,
                speed: audio.speed,
                duration_seconds: 0.0,
            };
            let route = if container_holds && copy_allowed {
                let mut out = output
                    .add_stream(ff::encoder::find(ff::codec::Id::None))
                    .map_err(|e| ff_error(display, "add an audio stream", e))?;
                out.set_parameters(params);
                // SAFETY: the new stream's parameters are ours to edit before the header.
                unsafe { (*(*out.as_mut_ptr()).codecpar).codec_tag = 0 };
                copy_stream_tags(&stream, &mut out);
                Route::Copy
            } else {
                let encoder_name = if container_holds { source_codec.as_str() } else { fallback_encoder(muxer) };
                let transcoder =
                    Transcoder::new(&stream, encoder_name, audio.speed, output, path, display).or_else(|e| {
                        // The source's own codec may have no encoder here; fall back.
                        if encoder_name == fallback_encoder(muxer) {
                            Err(e)
                        } else {
                            Transcoder::new(&stream, fallback_encoder(muxer), audio.speed, output, path, display)
                        }
                    })?;
                if let Some(mut out) = output.stream_mut(out_index) {
                    copy_stream_tags(&stream, &mut out);
                }
                if !container_holds {
                    notes.push(format!(
                        "audio stream {} ({source_codec}) cannot go into this {muxer} file, so it was re-encoded as {}; \
                         write .mkv to keep it as it is",
                        stream.index(),
                        transcoder.encoder_name()
                    ));
                }
                Route::Transcode(Box::new(transcoder))
            };
            let mut report = report;
            if let Route::Transcode(t) = &route {
                report.copied = false;
                report.written_as = t.encoder_name();
            }
            streams.push(Some(Carried { out_index, in_tb, out_tb: in_tb, origin, route, report, end: 0 }));
        }
        if streams.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(AudioCarrier {
            path: path.clone(),
            input,
            streams,
            pending: None,
            speed: audio.speed,
            at_end: false,
            notes,
        }))
    }

    /// Learns the time bases the muxer chose when it wrote its header.
    pub(super) fn header_written(&mut self, output: &ff::format::context::Output) {
        for carried in self.streams.iter_mut().flatten() {
            if let Some(stream) = output.stream(carried.out_index) {
                carried.out_tb = stream.time_base();
            }
        }
    }

    /// Writes the source's audio up to output time `until` seconds.
    pub(super) fn pump(&mut self, output: &mut ff::format::context::Output, until: f64) -> Result<()> {
        while !self.at_end {
            let packet = match self.pending.take() {
                Some(p) => p,
                None => {
                    let mut packet = ff::Packet::empty();
                    match packet.read(&mut self.input) {
                        Ok(()) => packet,
                        Err(ff::Error::Eof) => {
                            self.at_end = true;
                            break;
                        }
                        Err(ff::Error::InvalidData) => {
                            tracing::warn!(path = %self.path.display(), "skipping a damaged packet");
                            continue;
                        }
                        Err(e) => return Err(ff_error(&self.path, "read audio", e)),
                    }
                }
            };
            let Some(Some(carried)) = self.streams.get_mut(packet.stream()) else { continue };
            if let Some(ts) = packet.pts().or(packet.dts()) {
                let seconds = (ts - carried.origin) as f64 * f64::from(carried.in_tb) / self.speed;
                if seconds > until {
                    self.pending = Some(packet);
                    break;
                }
            }
            carried.send(packet, output, &self.path)?;
        }
        Ok(())
    }

    /// Writes the rest of the audio and flushes every encoder; reports what was carried.
    pub(super) fn finish(mut self, output: &mut ff::format::context::Output) -> Result<AudioReport> {
        self.pump(output, f64::INFINITY)?;
        let mut streams = Vec::new();
        for carried in self.streams.iter_mut().flatten() {
            if let Route::Transcode(t) = &mut carried.route {
                let packets = t.flush(&self.path)?;
                for packet in packets {
                    carried.write(packet, output, &self.path)?;
                }
            }
            carried.report.duration_seconds = carried.end as f64 * f64::from(carried.out_tb);
            streams.push(carried.report.clone());
        }
        Ok(AudioReport { source: self.path.clone(), streams, notes: std::mem::take(&mut self.notes) })
    }
}

fn copy_stream_tags(from: &ff::format::stream::Stream, to: &mut ff::format::stream::StreamMut) {
    let mut tags = ff::Dictionary::new();
    for key in ["language", "title", "handler_name"] {
        if let Some(value) = from.metadata().get(key) {
            tags.set(key, value);
        }
    }
    to.set_metadata(tags);
    // SAFETY: plain field copy between two live streams.
    unsafe { (*to.as_mut_ptr()).disposition = (*from.as_ptr()).disposition };
}

impl Carried {
    fn send(&mut self, packet: ff::Packet, output: &mut ff::format::context::Output, path: &Path) -> Result<()> {
        match &mut self.route {
            Route::Copy => {
                let mut packet = packet;
                let shift = |t: Option<i64>| t.map(|t| t - self.origin);
                let (pts, dts) = (shift(packet.pts()), shift(packet.dts()));
                packet.set_pts(pts);
                packet.set_dts(dts);
                self.write(packet, output, path)
            }
            Route::Transcode(t) => {
                let packets = t.transcode(&packet, self.in_tb, self.origin, path)?;
                for packet in packets {
                    self.write(packet, output, path)?;
                }
                Ok(())
            }
        }
    }

    /// Writes a packet whose times are in the source's (copy) or the
    /// encoder's time base, into output stream `out_index`.
    fn write(&mut self, mut packet: ff::Packet, output: &mut ff::format::context::Output, path: &Path) -> Result<()> {
        let from = match &self.route {
            Route::Copy => self.in_tb,
            Route::Transcode(t) => ff::Rational::new(1, t.rate),
        };
        packet.rescale_ts(from, self.out_tb);
        if let Some(pts) = packet.pts() {
            // Sound from well before frame 0 has nothing to play against.
            // The packet just before it stays: it primes the decoder (AAC's
            // encoder delay), and the muxer's edit list hides it.
            let limit = -(PRIMING_SECONDS * f64::from(self.out_tb).recip()) as i64;
            if pts + packet.duration() < limit {
                return Ok(());
            }
            self.end = self.end.max(pts + packet.duration());
        }
        packet.set_stream(self.out_index);
        packet.set_position(-1);
        packet.write_interleaved(output).map_err(|e| ff_error(path, "write audio", e))
    }
}

impl Transcoder {
    fn new(
        stream: &ff::format::stream::Stream,
        encoder_name: &str,
        speed: f64,
        output: &mut ff::format::context::Output,
        path: &Path,
        display: &Path,
    ) -> Result<Transcoder> {
        let context = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| ff_error(path, "read the audio stream parameters", e))?;
        let mut decoder = context.decoder().audio().map_err(|e| ff_error(path, "open an audio decoder", e))?;
        // SAFETY: the decoder context is ours; pkt_timebase makes frame times come out in the stream's base.
        unsafe { (*decoder.as_mut_ptr()).pkt_timebase = stream.time_base().into() };
        let codec = ff::encoder::find_by_name(encoder_name).ok_or_else(|| {
            Error::unsupported(format!("{}: this ffmpeg has no {encoder_name} encoder", display.display()))
        })?;
        let audio_codec = codec.audio().map_err(|e| ff_error(display, "use the audio encoder", e))?;
        let global_header = output.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
        let mut encoder = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|e| ff_error(display, "set up the audio encoder", e))?;
        // Rate: the source's if the encoder takes it, else the nearest it does.
        let source_rate = decoder.rate() as i32;
        let rate = match audio_codec.rates() {
            Some(rates) => rates.min_by_key(|r| (r - source_rate).abs()).unwrap_or(source_rate),
            None => source_rate,
        };
        let source_format = decoder.format();
        let format = match audio_codec.formats() {
            Some(mut formats) => {
                let all: Vec<_> = formats.by_ref().collect();
                if all.contains(&source_format) { source_format } else { all.first().copied().unwrap_or(source_format) }
            }
            None => source_format,
        };
        encoder.set_rate(rate);
        encoder.set_format(format);
        encoder.set_time_base(ff::Rational::new(1, rate));
        // SAFETY: copying the decoder's channel layout into the unopened encoder;
        // an unordered layout becomes the default one for its channel count.
        unsafe {
            let dec = &*decoder.as_ptr();
            let enc = &mut *encoder.as_mut_ptr();
            if dec.ch_layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_NATIVE {
                ffi::av_channel_layout_copy(&mut enc.ch_layout, &dec.ch_layout);
            } else {
                ffi::av_channel_layout_default(&mut enc.ch_layout, dec.ch_layout.nb_channels.max(1));
            }
            let lossy = matches!(encoder_name, "aac" | "libopus" | "libmp3lame" | "libvorbis" | "ac3");
            if lossy {
                let bit_rate = if (*stream.parameters().as_ptr()).bit_rate > 0 {
                    (*stream.parameters().as_ptr()).bit_rate
                } else {
                    0
                };
                enc.bit_rate = if bit_rate > 0 { bit_rate } else { 96_000 * enc.ch_layout.nb_channels.max(1) as i64 };
            }
        }
        if global_header {
            encoder.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let encoder = encoder
            .open_as(codec)
            .map_err(|e| ff_error(display, &format!("open the {encoder_name} audio encoder"), e))?;

        // SAFETY: reading the opened encoder's and the decoder's fields.
        let (out_layout, in_layout) =
            unsafe { (layout_text(&(*encoder.as_ptr()).ch_layout), layout_text(&(*decoder.as_ptr()).ch_layout)) };
        let mut graph = ff::filter::Graph::new();
        let tb = stream.time_base();
        let args = format!(
            "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout={}",
            tb.numerator(),
            tb.denominator(),
            decoder.rate(),
            source_format.name(),
            in_layout
        );
        let filter_error = |e: ff::Error| ff_error(display, "set up the audio filters", e);
        let abuffer =
            ff::filter::find("abuffer").ok_or_else(|| Error::unsupported("this ffmpeg has no abuffer filter"))?;
        let sink = ff::filter::find("abuffersink")
            .ok_or_else(|| Error::unsupported("this ffmpeg has no abuffersink filter"))?;
        graph.add(&abuffer, "in", &args).map_err(filter_error)?;
        graph.add(&sink, "out", "").map_err(filter_error)?;
        let mut chain = Vec::new();
        if (speed - 1.0).abs() > 1e-9 {
            chain.push(tempo_filters(speed));
        }
        chain.push(format!("aformat=sample_fmts={}:sample_rates={rate}:channel_layouts={out_layout}", format.name()));
        let spec = chain.join(",");
        graph.output("in", 0).and_then(|p| p.input("out", 0)).and_then(|p| p.parse(&spec)).map_err(filter_error)?;
        graph.validate().map_err(filter_error)?;
        let variable = codec.capabilities().contains(ff::codec::capabilities::Capabilities::VARIABLE_FRAME_SIZE);
        if !variable
            && encoder.frame_size() > 0
            && let Some(mut out) = graph.get("out")
        {
            out.sink().set_frame_size(encoder.frame_size());
        }
        // Added last, so a failure above leaves the output as it was.
        {
            let mut out = output.add_stream(codec).map_err(|e| ff_error(display, "add an audio stream", e))?;
            out.set_parameters(&encoder);
            out.set_time_base(ff::Rational::new(1, rate));
        }
        Ok(Transcoder {
            decoder,
            graph,
            encoder,
            decoded: ff::frame::Audio::empty(),
            filtered: ff::frame::Audio::empty(),
            rate,
            speed,
            next_sample: None,
            flushed: false,
        })
    }

    fn encoder_name(&self) -> String {
        self.encoder.codec().map(|c| c.name().to_owned()).unwrap_or_else(|| "unknown".into())
    }

    /// Decodes `packet`, filters and encodes what it yields.
    fn transcode(
        &mut self,
        packet: &ff::Packet,
        in_tb: ff::Rational,
        origin: i64,
        path: &Path,
    ) -> Result<Vec<ff::Packet>> {
        match self.decoder.send_packet(packet) {
            Ok(()) => {}
            Err(ff::Error::InvalidData) => {
                tracing::warn!(path = %path.display(), "skipping a damaged audio packet");
                return Ok(Vec::new());
            }
            Err(e) => return Err(ff_error(path, "decode audio", e)),
        }
        self.drain_decoder(in_tb, origin, path)
    }

    fn drain_decoder(&mut self, in_tb: ff::Rational, origin: i64, path: &Path) -> Result<Vec<ff::Packet>> {
        let mut packets = Vec::new();
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    if self.next_sample.is_none() {
                        // pts, not the best-effort timestamp: only pts moves
                        // past the encoder delay (AAC priming) the decoder skipped.
                        let ts = self.decoded.pts().or(self.decoded.timestamp()).unwrap_or(origin);
                        let seconds = (ts - origin) as f64 * f64::from(in_tb);
                        // The speed is applied by the tempo filter to
                        // durations; the start moves with it here.
                        self.next_sample = Some((seconds / self.speed * self.rate as f64).round() as i64);
                    }
                    let mut source = self.graph.get("in").ok_or_else(|| Error::internal("audio filter input lost"))?;
                    source.source().add(&self.decoded).map_err(|e| ff_error(path, "filter audio", e))?;
                    self.drain_graph(&mut packets, path)?;
                }
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(packets),
                Err(ff::Error::Eof) => return Ok(packets),
                Err(ff::Error::InvalidData) => {
                    tracing::warn!(path = %path.display(), "skipping damaged audio");
                }
                Err(e) => return Err(ff_error(path, "decode audio", e)),
            }
        }
    }

    fn drain_graph(&mut self, packets: &mut Vec<ff::Packet>, path: &Path) -> Result<()> {
        loop {
            let mut sink = self.graph.get("out").ok_or_else(|| Error::internal("audio filter output lost"))?;
            match sink.sink().frame(&mut self.filtered) {
                Ok(()) => {
                    let pts = self.next_sample.unwrap_or(0);
                    self.filtered.set_pts(Some(pts));
                    self.next_sample = Some(pts + self.filtered.samples() as i64);
                    self.encoder.send_frame(&self.filtered).map_err(|e| ff_error(path, "encode audio", e))?;
                    self.drain_encoder(packets, path)?;
                }
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(ff_error(path, "filter audio", e)),
            }
        }
    }

    fn drain_encoder(&mut self, packets: &mut Vec<ff::Packet>, path: &Path) -> Result<()> {
        loop {
            let mut packet = ff::Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => packets.push(packet),
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(ff_error(path, "encode audio", e)),
            }
        }
    }

    /// Drains the decoder, the filters and the encoder at the end of the stream.
    fn flush(&mut self, path: &Path) -> Result<Vec<ff::Packet>> {
        if self.flushed {
            return Ok(Vec::new());
        }
        self.flushed = true;
        let mut packets = Vec::new();
        let _ = self.decoder.send_eof();
        let tb = ff::Rational::new(1, 1);
        packets.extend(self.drain_decoder(tb, 0, path)?);
        if let Some(mut source) = self.graph.get("in") {
            source.source().flush().map_err(|e| ff_error(path, "flush the audio filters", e))?;
        }
        self.drain_graph(&mut packets, path)?;
        self.encoder.send_eof().map_err(|e| ff_error(path, "flush the audio encoder", e))?;
        self.drain_encoder(&mut packets, path)?;
        Ok(packets)
    }
}
