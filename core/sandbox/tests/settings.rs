//! A user's settings for an adapter (`mattebox plugin config`): extras
//! every request gets unless it has its own, and the only way an adapter
//! reaches a server on a private or loopback address: the user names it.

use std::path::Path;
use std::sync::Arc;

use mattebox_core::generate::{AdapterSettings, Generations, Setting, TakeCache};
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;
#[path = "common/server.rs"]
mod server;

/// The hostile adapter, whose `url` extra names a server of the user's.
fn install(dir: &Path) {
    std::fs::copy(&guests::guests().hostile, dir.join("hostile.wasm")).unwrap();
    std::fs::write(
        dir.join("adapter.toml"),
        "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
         component = \"hostile.wasm\"\nsecrets = [{ name = \"TOKEN\", to_user_servers = true }]\n\
         [network]\nserver_extras = [\"url\"]\n",
    )
    .unwrap();
}

fn generations(root: &Path, settings: &AdapterSettings) -> Generations {
    let settings_dir = root.join("settings");
    settings.save(&settings_dir, "hostile").unwrap();
    let mut policy = SandboxPolicy::new(root.join("cache"));
    policy.state_dir = Some(root.join("state"));
    policy.settings_dir = Some(settings_dir.clone());
    policy.network.secrets.insert("TOKEN".into(), "user-server-token".into());
    let adapter = WasmAdapter::load(&root.join("adapter"), &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(root.join("takes")));
    generations.set_settings_dir(Some(settings_dir));
    generations.register(Arc::new(adapter));
    generations
}

fn take_error(generations: &Generations, extras: &[(&str, &str)]) -> String {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (8, 8, Rational::integer(4), Rational::integer(1));
    r.extras.insert("mode".into(), "reflect".into());
    for (k, v) in extras {
        r.extras.insert((*k).into(), (*v).into());
    }
    generations.submit("hostile", r, 1).unwrap().results().remove(0).unwrap_err().to_string()
}

#[test]
fn only_a_server_the_user_names_is_reachable_on_loopback() {
    let origin = server::serve(|r| (200, vec![], format!("auth {}", r.header("authorization").unwrap_or("")).into()));
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("adapter")).unwrap();
    install(&root.path().join("adapter"));

    // Without settings: the request may name the server, but it is refused,
    // and the refusal says how to allow it.
    let none = generations(root.path(), &AdapterSettings::default());
    let text = take_error(&none, &[("url", &format!("{origin}/"))]);
    assert!(text.contains("not among the origins"), "{text}");
    assert!(text.contains(&format!("mattebox plugin config hostile url={origin}")), "{text}");

    // Named in the settings: reachable (loopback and all), the settings fill
    // the request, and the secret bound to user servers goes there.
    let mut named = AdapterSettings::default();
    named.extras.insert("url".into(), Setting::Text(format!("{origin}/")));
    let user = generations(root.path(), &named);
    let text = take_error(&user, &[]);
    assert!(text.contains("status 200"), "{text}");
    assert!(text.contains("auth Bearer [secret TOKEN]"), "sent, and redacted on its way back: {text}");

    // `localhost`, as a user would write it, is the same server.
    let mut by_name = AdapterSettings::default();
    by_name.extras.insert("url".into(), Setting::Text(origin.replace("127.0.0.1", "localhost")));
    let text = take_error(&generations(root.path(), &by_name), &[]);
    assert!(text.contains("status 200"), "{text}");

    // Another loopback server named only by the request stays refused.
    let other = server::serve(|_| (200, vec![], b"other".to_vec()));
    let text = take_error(&user, &[("url", &format!("{other}/"))]);
    assert!(text.contains("not among the origins") && !text.contains("status 200"), "{text}");
}
