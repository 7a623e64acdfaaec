//! Writing video files through ffmpeg: the muxer from the file's name, the
//! encoder from the codec and the frames' depth, staged and renamed into
//! place when finished.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::ptr;

use ff::ffi;
use ff::format::Pixel;
use ffmpeg_next as ff;

use super::audio_carrier::AudioCarrier;
use super::ffmpeg::{EncodeColour, Scaler, apply_stream_tags, ensure_init, ff_error, rgba_pixel, to_ff};
use super::{AudioReport, VideoCodec, WriteOptions};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, PixelFormat, convert};
use crate::staged::StagedFile;

/// Container (muxer) name for an output extension.
fn muxer_for(path: &Path) -> Result<&'static str> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "mp4" | "m4v" => "mp4",
        "mov" => "mov",
        "mkv" => "matroska",
        _ => {
            return Err(Error::unsupported(format!(
                "{}: unknown video container {:?}; write .mp4 (H.264), .mov (ProRes), .mkv (FFV1), \
                 or an image sequence (a directory or a pattern like frame_%06d.png)",
                path.display(),
                ext
            )));
        }
    })
}

struct EncoderChoice {
    encoder_name: &'static str,
    pixel: Pixel,
    options: Vec<(&'static str, &'static str)>,
    is_yuv: bool,
}

fn choose_encoder(
    codec: VideoCodec,
    format: PixelFormat,
    width: u32,
    height: u32,
    path: &Path,
) -> Result<EncoderChoice> {
    Ok(match codec {
        VideoCodec::H264 => {
            if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
                return Err(Error::unsupported(format!(
                    "{}: H.264 4:2:0 needs an even width and height, and the frames are {width}x{height}; \
                     write .mkv (FFV1) or .mov (ProRes) instead",
                    path.display()
                )));
            }
            EncoderChoice {
                encoder_name: "libx264",
                // Deeper sources (10-bit HDR) stay deeper: High 10.
                pixel: if format == PixelFormat::Rgba8 { Pixel::YUV420P } else { Pixel::YUV420P10LE },
                options: vec![("preset", "medium"), ("crf", "16")],
                is_yuv: true,
            }
        }
        VideoCodec::ProRes => {
            if !width.is_multiple_of(2) {
                return Err(Error::unsupported(format!(
                    "{}: ProRes 4:2:2 needs an even width, and the frames are {width} wide; write .mkv (FFV1) instead",
                    path.display()
                )));
            }
            EncoderChoice {
                encoder_name: "prores_ks",
                pixel: Pixel::YUV422P10LE,
                options: vec![("profile", "3"), ("vendor", "apl0")],
                is_yuv: true,
            }
        }
        VideoCodec::Ffv1 => EncoderChoice {
            encoder_name: "ffv1",
            // Lossless RGB with alpha: 8-bit frames as packed BGRA, deeper as 16-bit planar.
            pixel: if format == PixelFormat::Rgba8 { Pixel::BGRA } else { Pixel::GBRAP16LE },
            options: vec![("level", "3"), ("slicecrc", "1"), ("g", "1")],
            is_yuv: false,
        },
    })
}

pub(crate) struct VideoWriter {
    staged: Option<StagedFile>,
    output: ff::format::context::Output,
    encoder: ff::encoder::Video,
    scaler: Scaler,
    picture: ff::frame::Video,
    /// Frames are fed to swscale in this format; float frames are narrowed to 16 bit first.
    input_format: PixelFormat,
    staging: Option<Frame>,
    encoder_time_base: ff::Rational,
    stream_time_base: ff::Rational,
    next_pts: i64,
    display_path: PathBuf,
    frame_seconds: f64,
    audio: Option<AudioCarrier>,
    /// Tags this container cannot hold, in words.
    notes: Vec<String>,
}

/// How far past the frame just written the audio is interleaved.
const AUDIO_LEAD_SECONDS: f64 = 0.5;

impl VideoWriter {
    pub(crate) fn create(
        path: &Path,
        width: u32,
        height: u32,
        format: PixelFormat,
        options: &WriteOptions,
    ) -> Result<Self> {
        ensure_init();
        let muxer = muxer_for(path)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let codec = match options.codec.or_else(|| VideoCodec::for_extension(ext)) {
            Some(c) => c,
            None => return Err(Error::unsupported(format!("{}: choose a codec for this container", path.display()))),
        };
        let choice = choose_encoder(codec, format, width, height, path)?;
        if options.frame_rate.num() > i32::MAX as i64 || options.frame_rate.den() > i32::MAX as i64 {
            return Err(Error::invalid_argument(format!(
                "frame rate {} is too precise for a video container",
                options.frame_rate
            )));
        }
        let staged = StagedFile::new(path, options.overwrite)?;
        let temp = staged.temp_path().to_owned();
        let fail = |action: &str, e: ff::Error| ff_error(path, action, e);

        let mut output = ff::format::output_as(&temp, muxer).map_err(|e| fail("create the output", e))?;
        let global_header = output.format().flags().contains(ff::format::Flags::GLOBAL_HEADER);
        let ff_codec = ff::encoder::find_by_name(choice.encoder_name).ok_or_else(|| {
            Error::unsupported(format!("{}: this ffmpeg has no {} encoder", path.display(), choice.encoder_name))
        })?;
        let mut enc = ff::codec::context::Context::new_with_codec(ff_codec)
            .encoder()
            .video()
            .map_err(|e| fail("set up the encoder", e))?;
        let time_base = to_ff(options.frame_rate.recip()?);
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(choice.pixel);
        enc.set_time_base(time_base);
        enc.set_frame_rate(Some(to_ff(options.frame_rate)));
        // ProRes is limited range by definition.
        let colour = EncodeColour::for_tags(&options.tags, choice.is_yuv, codec == VideoCodec::H264);
        colour.apply(&mut enc);
        if let Some(par) = options.tags.pixel_aspect {
            enc.set_aspect_ratio(to_ff(par));
        }
        if global_header {
            enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        // libavcodec encodes on one thread unless told; FFV1 and ProRes
        // split a frame into slices, x264 runs its own threads.
        // SAFETY: plain field writes on the unopened encoder context.
        unsafe {
            let ctx = &mut *enc.as_mut_ptr();
            ctx.thread_count = options.encoder_threads as c_int;
            ctx.thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
        }
        let mut dict = ff::Dictionary::new();
        for (k, v) in &choice.options {
            dict.set(k, v);
        }
        let encoder = enc
            .open_as_with(ff_codec, dict)
            .map_err(|e| fail(&format!("open the {} encoder", choice.encoder_name), e))?;
        {
            let mut stream = output.add_stream(ff_codec).map_err(|e| fail("add a video stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            stream.set_avg_frame_rate(to_ff(options.frame_rate));
            stream.set_rate(to_ff(options.frame_rate));
            // SAFETY: the stream belongs to `output`, whose header is not written yet.
            apply_stream_tags(unsafe { stream.as_mut_ptr() }, &options.tags, path)?;
        }
        let mut notes = Vec::new();
        if options.tags.rotation.is_some() && muxer == "matroska" {
            notes.push(format!(
                "Matroska cannot record the source's rotation of {} degrees here, so players will show the frames \
                 as stored; write .mov or .mp4 to keep it",
                options.tags.rotation.unwrap_or(0)
            ));
        }
        if options.tags.reel.is_some() && muxer == "mp4" {
            notes.push("MP4 has no place for the reel name; write .mov to keep it".to_owned());
        }
        let mut audio = match &options.audio {
            Some(input) => AudioCarrier::open(input, &mut output, muxer, path)?,
            None => None,
        };
        output.write_header().map_err(|e| fail(&format!("write a {muxer} header for {codec}"), e))?;
        if let Some(audio) = audio.as_mut() {
            audio.header_written(&output);
        }
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);

        let input_format = if format == PixelFormat::Rgba32F { PixelFormat::Rgba16 } else { format };
        let scaler = Scaler::new(
            rgba_pixel(input_format),
            choice.pixel,
            width,
            height,
            colour.sws_matrix,
            choice.is_yuv && colour.full_range,
            !choice.is_yuv,
        )?;
        let mut picture = ff::frame::Video::new(choice.pixel, width, height);
        colour.apply_to_picture(&mut picture);
        let staging =
            if format == PixelFormat::Rgba32F { Some(Frame::new(width, height, PixelFormat::Rgba16)?) } else { None };
        Ok(VideoWriter {
            staged: Some(staged),
            output,
            encoder,
            scaler,
            picture,
            input_format,
            staging,
            encoder_time_base: time_base,
            stream_time_base,
            next_pts: 0,
            display_path: path.to_owned(),
            frame_seconds: options.frame_rate.recip()?.to_f64(),
            audio,
            notes,
        })
    }

    pub(crate) fn write_frame(&mut self, frame: &FrameView<'_>) -> Result<()> {
        let source = match self.staging.as_mut() {
            Some(staging) => {
                convert(frame, &mut staging.view_mut())?;
                staging.view()
            }
            None => *frame,
        };
        debug_assert_eq!(source.format(), self.input_format);
        // The encoder may still hold a reference to the previous picture.
        // SAFETY: the picture is a valid AVFrame we own.
        let ret = unsafe { ffi::av_frame_make_writable(self.picture.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::new(crate::ErrorKind::OutOfMemory, "could not allocate an encoder picture"));
        }
        let src_row0 = source.row_bytes_at(0).as_ptr();
        // SAFETY: reading plane pointers of our own picture.
        let (dst, dst_stride) = unsafe {
            let raw = &*self.picture.as_ptr();
            (
                [raw.data[0], raw.data[1], raw.data[2], raw.data[3]],
                [raw.linesize[0], raw.linesize[1], raw.linesize[2], raw.linesize[3]],
            )
        };
        // SAFETY: the source view was validated at construction (size, stride,
        // length); the picture was allocated by ffmpeg for this format and size.
        unsafe {
            self.scaler.run(
                &[src_row0, ptr::null(), ptr::null(), ptr::null()],
                &[source.stride() as c_int, 0, 0, 0],
                &dst,
                &dst_stride,
                source.height(),
            )
        };
        self.picture.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        self.encoder.send_frame(&self.picture).map_err(|e| ff_error(&self.display_path, "encode a frame", e))?;
        self.write_packets()?;
        if let Some(audio) = self.audio.as_mut() {
            audio.pump(&mut self.output, self.next_pts as f64 * self.frame_seconds + AUDIO_LEAD_SECONDS)?;
        }
        Ok(())
    }

    fn write_packets(&mut self) -> Result<()> {
        let mut packet = ff::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    packet.set_stream(0);
                    packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
                    packet
                        .write_interleaved(&mut self.output)
                        .map_err(|e| ff_error(&self.display_path, "write a packet", e))?;
                }
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) => return Err(ff_error(&self.display_path, "encode", e)),
            }
        }
    }

    /// Finishes the file; returns where it is, what became of the audio, and notes.
    pub(crate) fn finish(mut self) -> Result<(PathBuf, Option<AudioReport>, Vec<String>)> {
        self.encoder.send_eof().map_err(|e| ff_error(&self.display_path, "flush the encoder", e))?;
        self.write_packets()?;
        let audio = match self.audio.take() {
            Some(carrier) => {
                let mut report = carrier.finish(&mut self.output)?;
                let video = self.next_pts as f64 * self.frame_seconds;
                for stream in &report.streams {
                    let gap = stream.duration_seconds - video;
                    if gap.abs() > self.frame_seconds {
                        let (how, what) = if gap > 0.0 { ("longer", "runs past") } else { ("shorter", "ends before") };
                        report.notes.push(format!(
                            "audio stream {} is {:.3} s {how} than the video: it {what} the last frame (kept as it is)",
                            stream.source_stream,
                            gap.abs()
                        ));
                    }
                }
                Some(report)
            }
            None => None,
        };
        self.output.write_trailer().map_err(|e| ff_error(&self.display_path, "finish the file", e))?;
        let staged = self.staged.take().expect("finish runs once");
        let path = staged.final_path().to_owned();
        let notes = std::mem::take(&mut self.notes);
        // The muxer's file handle closes when the output is dropped.
        drop(self);
        staged.commit()?;
        Ok((path, audio, notes))
    }
}
