//! Media I/O against files made by the real `ffmpeg` program.
//!
//! Every clip shows a bright vertical bar at x = 4 * frame number, so a
//! decoded frame says which frame it is: that is how seeking is checked.

#![cfg(feature = "media")]

use std::path::{Path, PathBuf};
use std::process::Command;

use mattebox_core::media::{MediaKind, MediaReader, MediaWriter, OpenOptions, VideoCodec, WriteOptions};
use mattebox_core::{ErrorKind, Frame, PixelFormat, Rational};

const FRAMES: u32 = 60;

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg program must be installed (apt-get install ffmpeg)");
    assert!(out.status.success(), "ffmpeg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A bar clip: `rate` frames per second, encoded with `codec_args`.
fn make_clip(dir: &Path, name: &str, rate: &str, pix_fmt: &str, codec_args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let src = format!(
        "color=c=black:s=320x240:r={rate},format={pix_fmt},geq=lum='if(between(X\\,N*4\\,N*4+3)\\,235\\,16)':cb=128:cr=128"
    );
    let src = if pix_fmt.starts_with("yuv") {
        src
    } else {
        format!(
            "color=c=black:s=320x240:r={rate},format=rgb24,geq=r='if(between(X\\,N*4\\,N*4+3)\\,235\\,16)':g='if(between(X\\,N*4\\,N*4+3)\\,235\\,16)':b='if(between(X\\,N*4\\,N*4+3)\\,235\\,16)',format={pix_fmt}"
        )
    };
    let frames = FRAMES.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &src, "-frames:v", &frames];
    args.extend_from_slice(codec_args);
    let out_str = out.to_str().unwrap().to_owned();
    args.push(&out_str);
    ffmpeg(&args);
    out
}

/// Which frame a decoded picture is, from the bar's column.
fn bar_frame(frame: &Frame) -> u32 {
    let mut row = vec![0.0; frame.width() as usize * 4];
    frame.view().read_row_f32(frame.height() / 2, &mut row);
    let (x, _) =
        row.chunks_exact(4).enumerate().fold((0, 0.0f32), |best, (x, p)| if p[1] > best.1 { (x, p[1]) } else { best });
    x as u32 / 4
}

fn check_clip(path: &Path, rate: Rational, format: PixelFormat) {
    let mut reader = MediaReader::open(path, &OpenOptions::default()).unwrap();
    let info = reader.info().clone();
    assert_eq!((info.width, info.height), (320, 240), "{}", path.display());
    assert_eq!(info.frame_rate, rate, "{}: the frame rate is kept exactly", path.display());
    assert_eq!(info.frame_count, FRAMES as u64, "{}", path.display());
    assert_eq!(info.decoded_format, format, "{}", path.display());
    // Forward, backward, and jumping around across keyframes.
    let order: Vec<u64> =
        (0..FRAMES as u64).chain((0..FRAMES as u64).rev()).chain([7, 51, 3, 33, 34, 12, 59, 0, 25]).collect();
    for n in order {
        let frame = reader.read_frame(n).unwrap();
        assert_eq!(frame.format(), format);
        assert_eq!(bar_frame(&frame), n as u32, "{}: asked for frame {n}", path.display());
    }
    let err = reader.read_frame(FRAMES as u64).unwrap_err();
    assert!(err.to_string().contains("60 frames"), "{err}");
}

#[test]
fn reads_h264_prores_ffv1_and_png_sequences_frame_accurately() {
    let dir = tempfile::tempdir().unwrap();
    let ntsc = Rational::new(24000, 1001).unwrap();
    let mp4 = make_clip(dir.path(), "clip.mp4", "24000/1001", "yuv420p", &["-c:v", "libx264", "-g", "12", "-bf", "2"]);
    check_clip(&mp4, ntsc, PixelFormat::Rgba8);
    let mov = make_clip(dir.path(), "clip.mov", "30000/1001", "yuv422p10le", &["-c:v", "prores_ks", "-profile:v", "3"]);
    check_clip(&mov, Rational::new(30000, 1001).unwrap(), PixelFormat::Rgba16);
    let mkv = make_clip(dir.path(), "clip.mkv", "25", "bgr0", &["-c:v", "ffv1", "-g", "10"]);
    check_clip(&mkv, Rational::integer(25), PixelFormat::Rgba8);
    // AVI with B-frames (DivX, Xvid): the packets carry only decode times,
    // every picture comes out one frame's time late and the last with none.
    let avi =
        make_clip(dir.path(), "clip.avi", "25", "yuv420p", &["-c:v", "mpeg4", "-g", "12", "-bf", "2", "-q:v", "2"]);
    check_clip(&avi, Rational::integer(25), PixelFormat::Rgba8);

    let seq_dir = dir.path().join("seq");
    std::fs::create_dir(&seq_dir).unwrap();
    make_clip(&seq_dir, "%04d.png", "24", "rgb24", &[]);
    // Without a sidecar, a sequence plays at 24 fps unless told otherwise.
    check_clip(&seq_dir, Rational::integer(24), PixelFormat::Rgba8);
    check_clip(&seq_dir.join("%04d.png"), Rational::integer(24), PixelFormat::Rgba8);
    let told = MediaReader::open(&seq_dir, &OpenOptions { frame_rate: Some(ntsc), ..Default::default() }).unwrap();
    assert_eq!(told.info().frame_rate, ntsc);
    assert_eq!(told.info().kind, MediaKind::ImageSequence);
    assert_eq!(told.info().first_number, Some(1));
}

fn copy_all(from: &Path, to: &Path, codec: Option<VideoCodec>) -> MediaReader {
    let mut reader = MediaReader::open(from, &OpenOptions::default()).unwrap();
    let info = reader.info().clone();
    let options = WriteOptions { codec, ..WriteOptions::new(info.frame_rate) };
    let mut writer = MediaWriter::create(to, info.width, info.height, info.decoded_format, &options).unwrap();
    for n in 0..info.frame_count {
        writer.write_frame(&reader.read_frame(n).unwrap().view()).unwrap();
    }
    writer.finish().unwrap();
    MediaReader::open(to, &OpenOptions::default()).unwrap()
}

#[test]
fn mp4_to_png_sequence_to_ffv1_is_lossless_and_keeps_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = make_clip(dir.path(), "in.mp4", "24000/1001", "yuv420p", &["-c:v", "libx264"]);
    let seq = dir.path().join("frames");
    let mut pngs = copy_all(&mp4, &seq, None);
    assert_eq!(pngs.info().frame_rate, Rational::new(24000, 1001).unwrap(), "the sidecar keeps the rate");
    assert!(seq.join(mattebox_core::media::SIDECAR_NAME).exists());
    let mkv = dir.path().join("out.mkv");
    let mut ffv1 = copy_all(&seq, &mkv, None);
    assert_eq!(ffv1.info().codec, "ffv1");
    assert_eq!(ffv1.info().frame_rate, Rational::new(24000, 1001).unwrap());
    assert_eq!(ffv1.info().frame_count, FRAMES as u64);
    for n in 0..FRAMES as u64 {
        assert_eq!(ffv1.read_frame(n).unwrap(), pngs.read_frame(n).unwrap(), "frame {n} differs after FFV1");
    }
    // And ffmpeg itself agrees that the file is FFV1 at the exact rate.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,r_frame_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(&mkv)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "ffv1,24000/1001");
}

#[test]
fn writes_each_codec_at_ntsc_rates() {
    let dir = tempfile::tempdir().unwrap();
    let src = make_clip(dir.path(), "src.mkv", "30000/1001", "bgr0", &["-c:v", "ffv1"]);
    for (name, codec) in [("a.mp4", "h264"), ("b.mov", "prores"), ("c.mkv", "ffv1")] {
        let mut out = copy_all(&src, &dir.path().join(name), None);
        let info = out.info().clone();
        assert_eq!(info.frame_rate, Rational::new(30000, 1001).unwrap(), "{name}");
        assert_eq!(info.frame_count, FRAMES as u64, "{name}");
        assert!(info.codec.starts_with(codec), "{name}: {}", info.codec);
        for n in [0, 29, 59] {
            assert_eq!(bar_frame(&out.read_frame(n).unwrap()), n as u32, "{name} frame {n}");
        }
    }
}

#[test]
fn float_frames_become_exr_sequences_and_16_bit_ffv1() {
    let dir = tempfile::tempdir().unwrap();
    let mut frame = Frame::new(64, 32, PixelFormat::Rgba32F).unwrap();
    frame.view_mut().fill([0.25, 0.5, 2.0, 0.75]);
    let seq = dir.path().join("float");
    let mut writer =
        MediaWriter::create(&seq, 64, 32, PixelFormat::Rgba32F, &WriteOptions::new(Rational::integer(48))).unwrap();
    writer.write_frame(&frame.view()).unwrap();
    writer.write_frame(&frame.view()).unwrap();
    writer.finish().unwrap();
    assert!(seq.join("frame_000001.exr").exists());
    let mut back = MediaReader::open(&seq, &OpenOptions::default()).unwrap();
    assert_eq!(back.info().frame_rate, Rational::integer(48));
    assert_eq!(back.read_frame(1).unwrap(), frame, "EXR keeps floats, even above 1.0");

    let mkv = dir.path().join("deep.mkv");
    let mut writer =
        MediaWriter::create(&mkv, 64, 32, PixelFormat::Rgba32F, &WriteOptions::new(Rational::integer(48))).unwrap();
    writer.write_frame(&frame.view()).unwrap();
    writer.finish().unwrap();
    let mut back = MediaReader::open(&mkv, &OpenOptions::default()).unwrap();
    assert_eq!(back.info().decoded_format, PixelFormat::Rgba16);
    let got = back.read_frame(0).unwrap();
    let want = frame.to_format(PixelFormat::Rgba16).unwrap();
    assert_eq!(got, want, "16-bit FFV1 is lossless for 16-bit data (floats are clamped to 0..1)");
}

#[test]
fn bad_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let open = |p: &Path| MediaReader::open(p, &OpenOptions::default());

    let missing = dir.path().join("missing.mp4");
    let err = open(&missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("missing.mp4"), "{err}");

    let junk = dir.path().join("junk.mov");
    std::fs::write(&junk, vec![0x5Au8; 4096]).unwrap();
    let err = open(&junk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Media, "{err}");
    assert!(err.to_string().contains("junk.mov"), "{err}");

    // An MP4 cut in half has lost its index (moov atom is written last).
    let mp4 = make_clip(dir.path(), "whole.mp4", "24", "yuv420p", &["-c:v", "libx264"]);
    let bytes = std::fs::read(&mp4).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = open(&cut).unwrap_err();
    assert!(err.to_string().contains("cut.mp4"), "{err}");

    // A Matroska file cut short opens with the frames that survive, and every
    // frame it claims either decodes or fails with a message; nothing panics.
    let mkv = make_clip(dir.path(), "whole.mkv", "24", "bgr0", &["-c:v", "ffv1"]);
    let bytes = std::fs::read(&mkv).unwrap();
    let cut = dir.path().join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    match open(&cut) {
        Ok(mut reader) => {
            let count = reader.info().frame_count;
            assert!(count < FRAMES as u64, "a truncated file cannot hold every frame");
            for n in 0..count {
                if let Err(e) = reader.read_frame(n) {
                    assert!(e.to_string().contains("cut.mkv"), "{e}");
                }
            }
        }
        Err(e) => assert!(e.to_string().contains("cut.mkv"), "{e}"),
    }

    // A sequence with a hole names the missing file.
    let seq = dir.path().join("holes");
    std::fs::create_dir(&seq).unwrap();
    make_clip(&seq, "f_%03d.png", "24", "rgb24", &[]);
    std::fs::remove_file(seq.join("f_010.png")).unwrap();
    let err = open(&seq).unwrap_err();
    assert!(err.to_string().contains("f_010.png"), "{err}");
}

#[test]
fn writers_refuse_bad_requests_and_leave_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let rate = WriteOptions::new(Rational::integer(24));
    let odd = MediaWriter::create(&dir.path().join("odd.mp4"), 175, 143, PixelFormat::Rgba8, &rate).unwrap_err();
    assert_eq!(odd.kind(), ErrorKind::Unsupported);
    assert!(odd.to_string().contains("175x143"), "{odd}");
    let err = MediaWriter::create(&dir.path().join("x.avi"), 64, 64, PixelFormat::Rgba8, &rate).unwrap_err();
    assert!(err.to_string().contains(".mp4"), "the message says what would work: {err}");
    let err = MediaWriter::create(&dir.path().join("x.mp4"), 0, 64, PixelFormat::Rgba8, &rate).unwrap_err();
    assert!(err.to_string().contains("0x64"), "{err}");

    // An abandoned writer leaves no file and no temporary behind.
    let mut frame = Frame::new(64, 64, PixelFormat::Rgba8).unwrap();
    frame.view_mut().fill([0.2, 0.4, 0.6, 1.0]);
    for name in ["gone.mp4", "gone_seq", "gone.png"] {
        let mut w = MediaWriter::create(&dir.path().join(name), 64, 64, PixelFormat::Rgba8, &rate).unwrap();
        w.write_frame(&frame.view()).unwrap();
        drop(w);
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Existing outputs are not replaced without overwrite, and are with it.
    let out = dir.path().join("keep.mkv");
    std::fs::write(&out, b"precious").unwrap();
    let err = MediaWriter::create(&out, 64, 64, PixelFormat::Rgba8, &rate).unwrap_err();
    assert!(err.to_string().contains("--overwrite"), "{err}");
    let mut w =
        MediaWriter::create(&out, 64, 64, PixelFormat::Rgba8, &WriteOptions { overwrite: true, ..rate.clone() })
            .unwrap();
    w.write_frame(&frame.view()).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"precious", "the old file stays until the new one is finished");
    w.finish().unwrap();
    assert_ne!(std::fs::read(&out).unwrap(), b"precious");

    // A single still takes one frame only.
    let mut still = MediaWriter::create(&dir.path().join("one.png"), 64, 64, PixelFormat::Rgba8, &rate).unwrap();
    still.write_frame(&frame.view()).unwrap();
    assert!(still.write_frame(&frame.view()).unwrap_err().to_string().contains("single image"));
}

#[test]
fn sequence_into_an_existing_directory_merges_safely() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    let pattern = dir.path().join("shot_%03d.png");
    let mut frame = Frame::new(16, 16, PixelFormat::Rgba8).unwrap();
    let rate = WriteOptions::new(Rational::integer(24));
    let write = |n: usize, options: &WriteOptions, frame: &Frame| {
        let mut w = MediaWriter::create(&pattern, 16, 16, PixelFormat::Rgba8, options)?;
        for _ in 0..n {
            w.write_frame(&frame.view())?;
        }
        w.finish()
    };
    write(5, &rate, &frame).unwrap();
    assert!(write(3, &rate, &frame).unwrap_err().to_string().contains("already holds 5 frames"));
    frame.view_mut().fill([1.0, 0.0, 0.0, 1.0]);
    write(3, &WriteOptions { overwrite: true, ..rate.clone() }, &frame).unwrap();
    let mut back = MediaReader::open(&pattern, &OpenOptions::default()).unwrap();
    assert_eq!(back.info().frame_count, 3, "old frames past the new end are removed");
    assert_eq!(back.read_frame(2).unwrap(), frame);
    assert_eq!(std::fs::read(dir.path().join("notes.txt")).unwrap(), b"mine", "other files are untouched");
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "no temporary directory is left");
}

/// A farm renders one sequence as ranges on separate nodes: each range is
/// staged apart and moved in whole, and until every range is in, a reader
/// refuses the sequence instead of reading part of the shot.
#[test]
fn chunks_of_a_sequence_make_the_whole_and_a_missing_chunk_is_refused() {
    use mattebox_core::media::SequenceChunk;
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("out").join("shot_%04d.png");
    let tags = mattebox_core::media::ClipTags { timecode: Some("01:00:00:00".parse().unwrap()), ..Default::default() };
    let write = |first: u64, len: u64, overwrite: bool| {
        let chunk = SequenceChunk { first, count: len, total: 10 };
        let options = WriteOptions {
            chunk: Some(chunk),
            overwrite,
            tags: tags.clone(),
            ..WriteOptions::new(Rational::integer(30))
        };
        let mut w = MediaWriter::create(&pattern, 8, 8, PixelFormat::Rgba8, &options)?;
        for n in first..first + len {
            let mut frame = Frame::new(8, 8, PixelFormat::Rgba8).unwrap();
            frame.view_mut().fill([n as f32 / 10.0, 0.0, 0.0, 1.0]);
            w.write_frame(&frame.view())?;
        }
        w.finish()
    };
    write(7, 3, false).unwrap();
    write(0, 3, false).unwrap();
    let err = MediaReader::open(&pattern, &OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("shot_0004.png is missing"), "{err}");
    assert!(err.to_string().contains("unfinished"), "{err}");
    // A chunk whose frames exist is written again only with overwrite.
    assert!(write(0, 3, false).unwrap_err().to_string().contains("--overwrite"));
    // Past the end of the sequence: refused.
    let err = write(3, 8, false).unwrap_err();
    assert!(err.to_string().contains("not within a 10-frame sequence"), "{err}");
    write(3, 4, false).unwrap();
    write(0, 3, true).unwrap();
    let mut back = MediaReader::open(&pattern, &OpenOptions::default()).unwrap();
    let info = back.info().clone();
    assert_eq!((info.frame_count, info.frame_rate), (10, Rational::integer(30)));
    assert_eq!(info.tags.timecode, tags.timecode, "the sidecar carries the tags");
    for n in 0..10u64 {
        let red = back.read_frame(n).unwrap().pixel_f32(0, 0)[0];
        assert!((red - n as f32 / 10.0).abs() < 0.01, "frame {n}: {red}");
    }
    let hidden: Vec<_> = std::fs::read_dir(pattern.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "no staging directory is left");
    // A video file cannot hold a range of frames.
    let chunked = WriteOptions {
        chunk: Some(SequenceChunk { first: 0, count: 10, total: 10 }),
        ..WriteOptions::new(Rational::integer(30))
    };
    let err = MediaWriter::create(&dir.path().join("a.mp4"), 8, 8, PixelFormat::Rgba8, &chunked).unwrap_err();
    assert!(err.to_string().contains("mattebox convert"), "{err}");
}

#[test]
fn a_jpeg_still_decodes_and_can_be_read_again() {
    // ffmpeg's image2 demuxer takes a seek on a single JPEG and then delivers
    // nothing; the reader must still give the frame, every time it is asked.
    let dir = tempfile::tempdir().unwrap();
    let still = dir.path().join("still.jpg");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=96x64", "-frames:v", "1", still.to_str().unwrap()]);
    let mut reader = MediaReader::open(&still, &OpenOptions::default()).unwrap();
    assert_eq!(reader.info().frame_count, 1);
    let first = reader.read_frame(0).unwrap();
    assert_eq!((first.width(), first.height()), (96, 64));
    let again = reader.read_frame(0).unwrap();
    assert!(first.view().same_pixels(&again.view()));
    assert!(reader.read_frame(1).is_err());
}

/// Animated GIF, WebP and PNG (what ComfyUI's SaveAnimatedWEBP and
/// SaveAnimatedPNG write, and VideoHelperSuite's GIFs), read from memory as
/// an adapter hands them over: every frame, at its own rate.
#[test]
fn animated_gif_webp_and_png_decode_every_frame_at_their_rate() {
    use mattebox_core::media::UntrustedLimits;
    let dir = tempfile::tempdir().unwrap();
    let limits = UntrustedLimits { max_pixels: 1 << 22, max_frames: 1000 };
    for (name, args) in [
        ("bar.gif", &["-f", "gif"][..]),
        ("bar.webp", &["-c:v", "libwebp_anim", "-lossless", "1", "-loop", "0"][..]),
        ("bar.apng", &["-f", "apng", "-plays", "0"][..]),
    ] {
        let clip = make_clip(dir.path(), name, "10", "rgb24", args);
        let bytes = std::fs::read(&clip).unwrap();
        let mut reader = MediaReader::open_untrusted(name, bytes, &limits).unwrap();
        let info = reader.info().clone();
        assert_eq!((info.width, info.height), (320, 240), "{name}");
        assert_eq!(info.frame_rate, Rational::integer(10), "{name}");
        assert_eq!(info.frame_count, FRAMES as u64, "{name}");
        for n in [0, 1, 29, FRAMES - 1] {
            assert_eq!(bar_frame(&reader.read_frame(n as u64).unwrap()), n, "{name} frame {n}");
        }
        // Too many frames for what it may hold: refused with its name.
        let tight = UntrustedLimits { max_pixels: 1 << 22, max_frames: 20 };
        let err = MediaReader::open_untrusted(name, std::fs::read(&clip).unwrap(), &tight).unwrap_err();
        assert!(err.to_string().contains(name) && err.to_string().contains("more"), "{err}");
    }
}

/// Sound an adapter hands over is decoded from memory by the one demuxer its
/// name says, into a WAV the take cache can keep: a 440 Hz tone comes back
/// at its rate, channels, length and pitch, from a sound file and from a
/// video's track; a video without sound has none; a playlist, a file of
/// another type and sound longer than allowed are refused.
#[test]
fn untrusted_sound_decodes_to_a_wav_of_its_own_rate_and_length() {
    use mattebox_core::media::decode_untrusted_audio;
    use mattebox_core::wav::wav_info;
    let dir = tempfile::tempdir().unwrap();
    let tone = "sine=frequency=440:sample_rate=44100:duration=1.5";
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    ffmpeg(&["-f", "lavfi", "-i", tone, "-c:a", "libmp3lame", "-b:a", "128k", &p("line.mp3")]);
    ffmpeg(&["-f", "lavfi", "-i", tone, "-ac", "2", "-c:a", "aac", &p("line.m4a")]);
    ffmpeg(&["-f", "lavfi", "-i", tone, "-c:a", "flac", &p("line.flac")]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=160x120:r=24:d=1.5",
        "-f",
        "lavfi",
        "-i",
        tone,
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        "-shortest",
        &p("take.mp4"),
    ]);
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=s=160x120:r=24:d=1", "-c:v", "libx264", &p("silent.mp4")]);
    for (name, channels) in [("line.mp3", 1), ("line.m4a", 2), ("line.flac", 1), ("take.mp4", 1)] {
        let wav = decode_untrusted_audio(name, std::fs::read(p(name)).unwrap(), 10.0).unwrap().expect(name);
        let info = wav_info(&wav).unwrap();
        assert_eq!((info.sample_rate, info.channels), (44_100, channels), "{name}");
        assert!((info.seconds() - 1.5).abs() < 0.06, "{name}: {} s", info.seconds());
        // The pitch survives: count the zero crossings of channel 0 in the middle second.
        let samples: Vec<i16> =
            wav[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).step_by(channels as usize).collect();
        let middle = &samples[11_025..55_125];
        let crossings = middle.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((crossings as i64 - 880).abs() <= 4, "{name}: {crossings} zero crossings in 1 s of 440 Hz");
    }
    assert_eq!(decode_untrusted_audio("silent.mp4", std::fs::read(p("silent.mp4")).unwrap(), 10.0).unwrap(), None);
    let long = decode_untrusted_audio("line.mp3", std::fs::read(p("line.mp3")).unwrap(), 1.0).unwrap_err();
    assert!(long.to_string().contains("more than 1.0 s"), "{long}");
    let playlist = b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n".to_vec();
    for name in ["line.mp3", "line.wav", "line.m4a"] {
        let err = decode_untrusted_audio(name, playlist.clone(), 10.0).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    let mislabelled = decode_untrusted_audio("line.wav", std::fs::read(p("line.mp3")).unwrap(), 10.0).unwrap_err();
    assert!(mislabelled.to_string().contains("not a wav file"), "{mislabelled}");
    let unknown = decode_untrusted_audio("line.m3u8", playlist, 10.0).unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::Unsupported, "{unknown}");
}
