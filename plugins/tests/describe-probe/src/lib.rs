//! An adapter whose `describe()` reports what it could reach: the host
//! runs `describe` when it checks or installs an adapter, before the user
//! asked for any take, so it must get no network and no secrets. The
//! report travels in the name the host shows.

use mattebox_adapter::*;

struct Probe;

impl Adapter for Probe {
    fn describe() -> AdapterInfo {
        let secret = has_secret("TOKEN");
        let fetched = match http::get("http://127.0.0.1:9/", &[("authorization", "Bearer {{secret:TOKEN}}")]) {
            Ok(r) => format!("fetched status {}", r.status),
            Err(GenerateError::Network(e)) => format!("fetch refused: {e}"),
            Err(_) => "fetch failed".into(),
        };
        let report = format!("has-secret {secret}; {fetched}");
        info("describe-probe", &report, "0.1.0", &[Field::Size])
    }

    fn generate(_request: ShotRequest) -> Result<TakeReport, GenerateError> {
        Err(GenerateError::Other("this adapter only describes itself".into()))
    }
}

export_adapter!(Probe);
