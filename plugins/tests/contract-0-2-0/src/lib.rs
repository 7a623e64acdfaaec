//! An adapter built against the contract as released at 0.2.0 (the frozen
//! copy in `plugins/tests/wit-0.2.0`), without the SDK: it must run
//! unchanged in a host of any later 0.2.x. It emits one grey frame per
//! requested frame, gives the take a WAV of silence, and reports a vendor id.

wit_bindgen::generate!({
    path: "../wit-0.2.0",
    world: "generator",
});

use mattebox::generator::host;
use mattebox::generator::types::Field;

struct Old;

/// A WAV file of `samples` 16-bit mono samples of silence at 8 kHz.
fn silence(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(wav.len() + data as usize, 0);
    wav
}

impl Guest for Old {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            id: "contract-0-2-0".into(),
            name: "Built for 0.2.0".into(),
            version: "0.2.0".into(),
            honours: vec![Field::Size],
        }
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        let frame = vec![128u8; (request.width * request.height * 4) as usize];
        let seconds = request.duration.num as f64 / request.duration.den.max(1) as f64;
        let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
        for _ in 0..((seconds * fps).round() as u32).max(1) {
            host::emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
        }
        host::emit_audio("silence.wav", &silence((seconds * 8000.0) as u32)).map_err(GenerateError::Other)?;
        Ok(TakeReport { deviations: Vec::new(), vendor_generation: Some(format!("old-{}", request.take)) })
    }
}

export!(Old);
