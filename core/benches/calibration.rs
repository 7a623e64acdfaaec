//! The consistency calibration table (`docs/BENCHMARKS.md`): every score of
//! every calibration source, clean and with each failure mode; which
//! metric catches which failure, and by how much.
//!
//! `cargo bench -p mattebox-core --features media --bench calibration`
//! (needs `bash .ci/setup` for the photos and clips); add `--features
//! media,onnx ... -- --onnx` for the model backend.

#[path = "../tests/support/calibration.rs"]
mod calibration;

use calibration::{Failure, METRICS};

fn quantiles(mut v: Vec<f32>) -> String {
    v.sort_by(f32::total_cmp);
    let q = |p: f32| v[((v.len() - 1) as f32 * p).round() as usize];
    format!("min {:.3}  q25 {:.3}  median {:.3}  q75 {:.3}  max {:.3}", q(0.0), q(0.25), q(0.5), q(0.75), q(1.0))
}

fn main() {
    if std::env::args().any(|a| a == "--onnx") {
        #[cfg(feature = "onnx")]
        calibration::use_models();
        #[cfg(not(feature = "onnx"))]
        panic!("--onnx needs the `onnx` feature: --features media,onnx");
    }
    let (same, unrelated) = calibration::raw_likeness();
    for (family, get) in [
        ("colour", (|l: &mattebox_core::consistency::Likeness| l.colour) as fn(&_) -> f32),
        ("texture", |l| l.texture),
        ("structure", |l| l.structure),
        ("combined", |l| l.distance()),
    ] {
        println!("{family:>9} distance, same subject/place: {}", quantiles(same.iter().map(get).collect()));
        println!("{family:>9} distance, unrelated:          {}", quantiles(unrelated.iter().map(get).collect()));
    }
    if std::env::args().any(|a| a == "--likeness-only") {
        return;
    }
    let started = std::time::Instant::now();
    let rows = calibration::run();
    eprintln!("scored {} shots in {:.1} s", rows.len(), started.elapsed().as_secs_f64());
    let value = |row: &Vec<(&str, f32)>, m: &str| row.iter().find(|(n, _)| *n == m).map(|(_, v)| *v).unwrap();
    // Per source: clean scores, then each failure's drop.
    println!("\n| source | failure | {} |", METRICS.join(" | "));
    println!("|---|---|{}", "---|".repeat(METRICS.len()));
    for (source, failure, scores) in &rows {
        let cells: Vec<String> = METRICS.iter().map(|m| format!("{:.2}", value(scores, m))).collect();
        println!("| {source} | {} | {} |", failure.map_or("clean", Failure::name), cells.join(" | "));
    }
    // Summary: for each failure, the smallest and the median margin (clean
    // minus failure) over sources, per metric; the metrics meant to catch it
    // in bold.
    println!("\n| failure | {} |", METRICS.join(" | "));
    println!("|---|{}", "---|".repeat(METRICS.len()));
    let mut clean_min = vec![f32::MAX; METRICS.len()];
    for (_, failure, scores) in &rows {
        if failure.is_none() {
            for (k, m) in METRICS.iter().enumerate() {
                clean_min[k] = clean_min[k].min(value(scores, m));
            }
        }
    }
    let cells: Vec<String> = clean_min.iter().map(|v| format!("{v:.2}")).collect();
    println!("| clean (lowest score) | {} |", cells.join(" | "));
    for failure in Failure::ALL {
        let cells: Vec<String> = METRICS
            .iter()
            .map(|m| {
                let margins: Vec<f32> = rows
                    .iter()
                    .filter(|(_, f, _)| *f == Some(failure))
                    .map(|(source, _, scores)| {
                        let clean = rows.iter().find(|(s, f, _)| s == source && f.is_none()).unwrap();
                        value(&clean.2, m) - value(scores, m)
                    })
                    .collect();
                let min = margins.iter().copied().fold(f32::MAX, f32::min);
                let mut sorted = margins.clone();
                sorted.sort_by(f32::total_cmp);
                let median = sorted[sorted.len() / 2];
                let cell = format!("{min:+.2} / {median:+.2}");
                if failure.caught_by().contains(m) { format!("**{cell}**") } else { cell }
            })
            .collect();
        println!("| {} | {} |", failure.name(), cells.join(" | "));
    }
}
