//! Real components in the real sandbox: the example adapter through the job
//! queue and the take cache, and the hostile adapter doing everything an
//! adapter must not, each time checking the host stays up, the take ends
//! with a clear error, other work finishes, and the cache holds nothing
//! partial. The guests are built here, for wasm32-wasip2, with the cargo
//! that runs these tests. HTTP goes to a local server of the test's own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generations, TakeCache, TakeStage};
use mattebox_core::shot::{CameraMotion, Field, ShotRequest};
use mattebox_core::{ErrorKind, LogSink, Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;
use guests::guests;
use server::serve;

/// A runtime whose log lines are counted (bytes).
fn runtime(logged: Arc<AtomicUsize>) -> Arc<Runtime> {
    let sink = LogSink::Callback(Arc::new(move |_, line: &str| {
        logged.fetch_add(line.len(), Ordering::Relaxed);
    }));
    Arc::new(Runtime::new(RuntimeConfig { threads: 2, log_sink: sink, ..Default::default() }).unwrap())
}

fn request(mode: &str, url: &str) -> ShotRequest {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (32, 18, Rational::integer(10), Rational::integer(1));
    r.extras.insert("mode".into(), mode.into());
    r.extras.insert("url".into(), url.into());
    r
}

/// The hostile component installed in `dir` with a manifest granting `origins`.
fn hostile(dir: &Path, origins: &[String]) -> PathBuf {
    let wasm = &guests().hostile;
    std::fs::copy(wasm, dir.join("hostile.wasm")).unwrap();
    let origins: Vec<String> = origins.iter().map(|o| format!("{o:?}")).collect();
    let secrets = if origins.is_empty() {
        String::new()
    } else {
        format!("secrets = [{{ name = \"TOKEN\", origins = [{}] }}]\n", origins.join(", "))
    };
    let manifest = format!(
        "id = \"hostile\"\nname = \"Hostile\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
         component = \"hostile.wasm\"\n{secrets}[network]\norigins = [{}]\n\
         [limits]\nmemory_mib = 64\ndeadline_seconds = 3\nconcurrent = 4\nresponse_mib = 1\nlog_kib = 64\n",
        origins.join(", ")
    );
    std::fs::write(dir.join("adapter.toml"), manifest).unwrap();
    dir.to_owned()
}

/// A local server: `/ok` (5 bytes), `/redirect` (302 to another origin),
/// `/huge` (claims 10 GB), anything else 404. Returns its origin.
fn server() -> String {
    serve(|request| match request.path() {
        "/ok" => (200, vec![], b"hello".to_vec()),
        "/redirect" => (302, vec![("location".into(), "http://example.com/".into())], vec![]),
        "/huge" => (200, vec![("content-length".into(), "10737418240".into())], vec![0u8; 1 << 20]),
        _ => (404, vec![], vec![]),
    })
}

fn policy(cache: &Path, allow_loopback: bool) -> SandboxPolicy {
    let mut policy = SandboxPolicy::new(cache.join("compiled"));
    if allow_loopback {
        policy.network.allow_addresses.push("127.0.0.1".parse().unwrap());
    }
    policy.state_dir = Some(cache.join("state"));
    policy.network.secrets.insert("TOKEN".into(), "t0ken-for-tests".into());
    policy.network.secrets.insert("OTHER".into(), "other-secret".into());
    policy
}

fn hidden_or_any_entries(cache: &Path) -> Vec<String> {
    match std::fs::read_dir(cache.join("takes")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn the_example_adapter_makes_takes_through_the_job_queue_and_the_cache() {
    let example = &guests().example;
    let dir = tempfile::tempdir().unwrap();
    let adapter = WasmAdapter::load(example, &policy(dir.path(), false)).unwrap();
    let info = mattebox_core::generate::Generator::info(&adapter).clone();
    assert_eq!((info.id.as_str(), info.version.as_str()), ("sweep", "0.1.0"));
    assert!(info.honours.contains(&Field::Seed) && !info.honours.contains(&Field::Prompt));
    let generations = Generations::with_cache(runtime(Arc::default()), TakeCache::new(dir.path().join("takes")));
    generations.register(Arc::new(adapter));
    let mut r = request("", "");
    r.extras.clear();
    r.prompt = "ignored".into();
    r.camera = CameraMotion { pan: 0.5, zoom: 0.2, ..Default::default() };
    let takes: Vec<_> = generations.submit("sweep", r.clone(), 2).unwrap().results();
    let takes: Vec<_> = takes.into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(takes[0].frames, 10);
    let fields: Vec<Field> = takes[0].deviations.iter().map(|d| d.field).collect();
    assert_eq!(fields, [Field::Prompt, Field::Camera]);
    // The frames are the adapter's: different seeds, different colours; the pan moves them.
    let read = |t: &mattebox_core::shot::Take, n| {
        mattebox_core::media::MediaReader::open(&t.media, &Default::default()).unwrap().read_frame(n).unwrap()
    };
    assert_ne!(read(&takes[0], 0).pixel_f32(0, 0), read(&takes[1], 0).pixel_f32(0, 0));
    assert_ne!(read(&takes[0], 0), read(&takes[0], 9));
    // Asked again: served from the cache.
    let again = generations.submit("sweep", r, 2).unwrap().results();
    assert!(again.iter().all(|t| t.as_ref().unwrap().from_cache));
    // One compiled component and its tag in the cache; a second load
    // compiles nothing new.
    let names = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("compiled"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = names();
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before[0].ends_with(".cwasm") && before[1] == format!("{}.tag", before[0]), "{before:?}");
    WasmAdapter::load(example, &policy(dir.path(), false)).unwrap();
    assert_eq!(names(), before);
}

#[test]
fn hostile_adapters_end_with_clear_errors_and_others_finish() {
    let origin = server();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let logged = Arc::new(AtomicUsize::new(0));
    let generations = Generations::with_cache(runtime(logged.clone()), TakeCache::new(cache.join("takes")));
    let open = tempfile::tempdir().unwrap();
    let strict = tempfile::tempdir().unwrap();
    // One adapter may reach the local server; an identical one, by policy, may not.
    let trusted =
        WasmAdapter::load(&hostile(open.path(), std::slice::from_ref(&origin)), &policy(&cache, true)).unwrap();
    generations.register(Arc::new(trusted));
    let ok = |url: &str| format!("{origin}{url}");
    let cases: Vec<(&str, String, ErrorKind, &str)> = vec![
        ("spin", String::new(), ErrorKind::Io, "deadline of 3 s"),
        ("sleep", String::new(), ErrorKind::Io, "deadline of 3 s"),
        ("allocate", String::new(), ErrorKind::Media, "more memory than its limit"),
        ("trap", String::new(), ErrorKind::Media, "crashed"),
        ("recurse", String::new(), ErrorKind::Media, "stack ran out"),
        ("fetch", "http://example.com/".into(), ErrorKind::Network, "not among the origins"),
        ("fetch", ok("/ok"), ErrorKind::Media, "fetched: status 200, 5 bytes"),
        ("fetch", ok("/redirect"), ErrorKind::Media, "fetched: status 302"),
        ("fetch", ok("/huge"), ErrorKind::Network, "the limit is 1048576"),
        ("undeclared-secret", ok("/ok"), ErrorKind::Network, "OTHER is not declared"),
        ("huge-frame", String::new(), ErrorKind::Media, "emit-frame"),
        ("short-frame", String::new(), ErrorKind::Media, "bytes, not"),
        ("many-frames", String::new(), ErrorKind::InvalidArgument, "more than 280 frames"),
        ("unknown", String::new(), ErrorKind::InvalidArgument, "unknown mode"),
    ];
    let started = Instant::now();
    let jobs: Vec<_> =
        cases.iter().map(|(mode, url, _, _)| generations.submit("hostile", request(mode, url), 1).unwrap()).collect();
    // Honest work at the same time.
    let mut fine = request("", "");
    fine.extras.clear();
    let builtin = generations.submit("builtin", fine, 2).unwrap();
    for (job, (mode, url, kind, says)) in jobs.into_iter().zip(&cases) {
        let err = job.results().remove(0).unwrap_err();
        assert!(err.to_string().contains(says), "{mode} {url}: expected {says:?}, got: {err}");
        assert_eq!(err.kind(), *kind, "{mode} {url}: {err}");
    }
    assert!(started.elapsed() < Duration::from_secs(60), "a hostile take was not stopped");
    assert!(builtin.results().iter().all(|r| r.is_ok()), "the built-in job finished despite its neighbours");
    let entries = hidden_or_any_entries(&cache);
    assert_eq!(entries.len(), 2, "only the built-in takes: {entries:?}");

    // Escapes find nothing; a flood of log lines is capped; both still finish.
    for mode in ["escape", "log-flood"] {
        let take = generations.submit("hostile", request(mode, ""), 1).unwrap().results().remove(0);
        assert_eq!(take.unwrap().frames, 10, "{mode}");
    }
    let bytes = logged.load(Ordering::Relaxed);
    assert!(bytes < 256 << 10, "the adapter logged {bytes} bytes past its 64 KiB quota");
    assert!(bytes >= 64 << 10, "the quota's worth reached the log: {bytes}");

    // Loopback without the user's permission is refused, whatever the manifest says.
    let refused =
        WasmAdapter::load(&hostile(strict.path(), std::slice::from_ref(&origin)), &policy(&cache, false)).unwrap();
    let strict_generations = Generations::with_cache(runtime(Arc::default()), TakeCache::new(cache.join("takes")));
    strict_generations.register(Arc::new(refused));
    let err =
        strict_generations.submit("hostile", request("fetch", &ok("/ok")), 1).unwrap().results().remove(0).unwrap_err();
    assert!(err.to_string().contains("private or special addresses"), "{err}");
}

#[test]
fn cancelling_stops_an_adapter_that_never_asks() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let generations = Generations::with_cache(runtime(Arc::default()), TakeCache::new(cache.join("takes")));
    let install = tempfile::tempdir().unwrap();
    let adapter = WasmAdapter::load(&hostile(install.path(), &[]), &policy(&cache, false)).unwrap();
    generations.register(Arc::new(adapter));
    let job = generations.submit("hostile", request("ignore-cancel", ""), 1).unwrap();
    // Its first frame arrives, then it spins without calling the host.
    while job.status()[0].fraction == 0.0 {
        assert!(!job.is_finished(), "{:?}", job.status()[0].error);
        std::thread::yield_now();
    }
    job.cancel();
    let status = {
        job.wait();
        job.status().remove(0)
    };
    assert_eq!(status.stage, TakeStage::Cancelled, "{:?}", status.error);
    assert_eq!(hidden_or_any_entries(&cache), Vec::<String>::new());
}

#[test]
fn components_that_do_not_fit_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), false);
    // Not WebAssembly at all.
    let install = tempfile::tempdir().unwrap();
    hostile(install.path(), &[]);
    std::fs::write(install.path().join("hostile.wasm"), b"not wasm").unwrap();
    let err = WasmAdapter::load(install.path(), &policy).unwrap_err();
    assert!(err.to_string().contains("not a valid WebAssembly component"), "{err}");
    // A manifest whose id disagrees with the component's describe().
    hostile(install.path(), &[]);
    let text = std::fs::read_to_string(install.path().join("adapter.toml"))
        .unwrap()
        .replace("id = \"hostile\"", "id = \"kling\"");
    std::fs::write(install.path().join("adapter.toml"), text).unwrap();
    let err = WasmAdapter::load(install.path(), &policy).unwrap_err();
    assert!(err.to_string().contains("says it is hostile"), "{err}");
    // A missing component.
    std::fs::remove_file(install.path().join("hostile.wasm")).unwrap();
    assert_eq!(WasmAdapter::load(install.path(), &policy).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn an_adapter_built_for_contract_0_1_0_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&guests().contract_0_1_0, dir.path().join("old.wasm")).unwrap();
    std::fs::write(
        dir.path().join("adapter.toml"),
        "id = \"contract-0-1-0\"\nname = \"Old\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.1.0\"\n\
         component = \"old.wasm\"\n",
    )
    .unwrap();
    let adapter = WasmAdapter::load(dir.path(), &policy(&dir.path().join("cache"), false)).unwrap();
    assert_eq!(mattebox_core::generate::Generator::info(&adapter).name, "Built for 0.1.0");
    let mut r = request("", "");
    r.extras.clear();
    let runtime = runtime(Arc::default());
    let frames = mattebox_core::generate::dry_run(&adapter, &r, 0, &runtime).unwrap();
    assert_eq!(frames.0, 10);
}
