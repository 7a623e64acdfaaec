//! An adapter built against the contract as released at 0.1.0 (the frozen
//! copy in `plugins/tests/wit-0.1.0`), without the SDK: it must run
//! unchanged in a host of any later 0.1.x. It emits one grey frame per
//! requested frame.

wit_bindgen::generate!({
    path: "../wit-0.1.0",
    world: "generator",
});

use mattebox::generator::host;
use mattebox::generator::types::Field;

struct Old;

impl Guest for Old {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            id: "contract-0-1-0".into(),
            name: "Built for 0.1.0".into(),
            version: "0.1.0".into(),
            honours: vec![Field::Size],
        }
    }

    fn generate(request: ShotRequest) -> Result<Vec<Deviation>, GenerateError> {
        let frame = vec![128u8; (request.width * request.height * 4) as usize];
        let seconds = request.duration.num as f64 / request.duration.den.max(1) as f64;
        let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
        for _ in 0..((seconds * fps).round() as u32).max(1) {
            host::emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
        }
        Ok(Vec::new())
    }
}

export!(Old);
