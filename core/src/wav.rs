//! WAV files of 16-bit PCM: the one sound format Mattebox writes for
//! others. A take's sound is kept as one (whatever a generator handed over
//! is decoded and written again by the host, so the take cache never holds
//! a file only a vendor vouches for), and a request's audio reaches an
//! adapter as one, which every vendor accepts.

use crate::error::{Error, Result};

/// Most channels a WAV Mattebox writes or reads may have.
pub const MAX_CHANNELS: u16 = 8;
/// Sample rates Mattebox keeps, in Hz.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;

/// What a WAV file holds, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavInfo {
    /// Samples per second, per channel.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Samples per channel.
    pub frames: u64,
}

impl WavInfo {
    /// Its length in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }
}

/// A WAV file (canonical 44-byte header, 16-bit PCM) of `samples`, which
/// are interleaved `channels` at `sample_rate`.
pub fn wav_bytes(sample_rate: u32, channels: u16, samples: &[i16]) -> Result<Vec<u8>> {
    check_shape(sample_rate, channels)?;
    if !samples.len().is_multiple_of(channels as usize) {
        return Err(Error::invalid_argument(format!(
            "{} samples do not divide into {channels} channels",
            samples.len()
        )));
    }
    let data = samples.len() as u64 * 2;
    if data > u32::MAX as u64 - 36 {
        return Err(Error::invalid_argument(format!("{data} bytes of sound are more than a WAV file holds")));
    }
    let block = channels as u32 * 2;
    let mut out = Vec::new();
    out.try_reserve_exact(44 + data as usize)?;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data as u32).to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    Ok(out)
}

fn check_shape(sample_rate: u32, channels: u16) -> Result<()> {
    if !SAMPLE_RATES.contains(&sample_rate) || channels == 0 || channels > MAX_CHANNELS {
        return Err(Error::invalid_argument(format!(
            "sound of {channels} channels at {sample_rate} Hz: Mattebox keeps 1-{MAX_CHANNELS} channels at {}-{} Hz",
            SAMPLE_RATES.start(),
            SAMPLE_RATES.end()
        )));
    }
    Ok(())
}

/// Reads the header of a WAV file as [`wav_bytes`] writes it (16-bit PCM,
/// its data chunk running to the end), checking that it is exactly that:
/// the take cache keeps only such files.
pub fn wav_info(bytes: &[u8]) -> Result<WavInfo> {
    let bad = |why: &str| Error::invalid_argument(format!("not a 16-bit PCM WAV file as Mattebox writes them: {why}"));
    if bytes.len() < 44 || &bytes[0..4] != b"RIFF" || &bytes[8..16] != b"WAVEfmt " {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if u32_at(16) != 16 || u16_at(20) != 1 || u16_at(34) != 16 || &bytes[36..40] != b"data" {
        return Err(bad("not plain 16-bit PCM"));
    }
    let (channels, sample_rate) = (u16_at(22), u32_at(24));
    check_shape(sample_rate, channels)?;
    let data = u32_at(40) as usize;
    if data != bytes.len() - 44 || !data.is_multiple_of(channels as usize * 2) || u32_at(4) as usize != bytes.len() - 8
    {
        return Err(bad("its sizes disagree with its length"));
    }
    Ok(WavInfo { sample_rate, channels, frames: (data / (channels as usize * 2)) as u64 })
}

/// `bytes` (a WAV as [`wav_bytes`] writes it) without its first `seconds`.
pub fn trim_wav_start(bytes: &[u8], seconds: f64) -> Result<Vec<u8>> {
    let info = wav_info(bytes)?;
    let block = info.channels as usize * 2;
    let skip = ((seconds.max(0.0) * info.sample_rate as f64) as u64).min(info.frames) as usize;
    let samples: Vec<i16> =
        bytes[44 + skip * block..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    wav_bytes(info.sample_rate, info.channels, &samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_wav_reads_back_and_damage_is_refused() {
        let samples: Vec<i16> = (0..4800).map(|i| ((i as f32 * 0.05).sin() * 8000.0) as i16).collect();
        let bytes = wav_bytes(48_000, 2, &samples).unwrap();
        let info = wav_info(&bytes).unwrap();
        assert_eq!(info, WavInfo { sample_rate: 48_000, channels: 2, frames: 2400 });
        assert!((info.seconds() - 0.05).abs() < 1e-9);
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 2);
        assert!(wav_info(&cut).is_err(), "a cut file is refused");
        let mut float = bytes.clone();
        float[20] = 3; // IEEE float
        assert!(wav_info(&float).is_err());
        assert!(wav_info(b"#EXTM3U\nfile:///etc/passwd\n").is_err());
        assert!(wav_bytes(4_000, 1, &samples).is_err(), "rates outside the kept range are refused");
        assert!(wav_bytes(48_000, 3, &samples[..4]).is_err(), "a partial sample frame is refused");
        let rest = trim_wav_start(&bytes, 0.02).unwrap();
        assert_eq!(wav_info(&rest).unwrap().frames, 2400 - 960);
        assert_eq!(&rest[44..48], &bytes[44 + 960 * 4..44 + 960 * 4 + 4], "the samples after the cut, in order");
    }
}
