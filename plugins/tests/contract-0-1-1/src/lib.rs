//! An adapter built against contract 0.1.1 (`plugins/wit-0.1`), without
//! the SDK: a host of 0.2 runs it through the 0.1 world. It uses the host
//! calls 0.1 has (log, has-secret, http-fetch, websocket-connect) and
//! reports what they answered in its error when `mode=calls`; otherwise it
//! emits its first frame (a continuation's source's last frame, which the
//! host gives a 0.1 adapter) once per requested frame, or grey.

wit_bindgen::generate!({
    path: "../../wit-0.1",
    world: "generator",
});

use mattebox::generator::host;
use mattebox::generator::types::Field;

struct Old;

fn frames(request: &ShotRequest) -> u32 {
    let seconds = request.duration.num as f64 / request.duration.den.max(1) as f64;
    let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
    ((seconds * fps).round() as u32).max(1)
}

impl Guest for Old {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            id: "contract-0-1-1".into(),
            name: "Built for 0.1.1".into(),
            version: "0.1.1".into(),
            honours: vec![Field::Size, Field::FirstFrame],
        }
    }

    fn generate(request: ShotRequest) -> Result<Vec<Deviation>, GenerateError> {
        if request.extras.iter().any(|(k, v)| k == "mode" && v == "calls") {
            host::log(host::LogLevel::Info, "contract 0.1.1 adapter calling the host");
            let fetched = host::http_fetch(&host::HttpRequest {
                method: "GET".into(),
                url: "http://127.0.0.1:9/".into(),
                headers: Vec::new(),
                body: Vec::new(),
            });
            let socket = host::websocket_connect("ws://127.0.0.1:9/ws", &[]);
            return Err(GenerateError::Other(format!(
                "secret {}; fetch {:?}; socket {:?}",
                host::has_secret("TOKEN"),
                fetched.map(|r| r.status),
                socket
            )));
        }
        let (width, height, frame) = match &request.first_frame {
            Some(first) => (first.width, first.height, first.rgba8.clone()),
            None => (request.width, request.height, vec![128u8; (request.width * request.height * 4) as usize]),
        };
        for _ in 0..frames(&request) {
            host::emit_frame(width, height, &frame).map_err(GenerateError::Other)?;
        }
        Ok(Vec::new())
    }
}

export!(Old);
