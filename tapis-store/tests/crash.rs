//! Crash safety: a writer killed with SIGKILL at random moments never leaves an empty, partial
//! or mixed token file, and a reader looking all the while never sees one.
//!
//! This test binary is also the writer: the test re-executes it to run only
//! [`writer_process`] with `TAPIS_SAVE_LOOP=<path>`, which then saves two different token sets
//! to that path, one after the other, until it is killed. So the writer is always built from
//! the same source as the test. Without the variable `writer_process` does nothing, so the
//! binary is an ordinary test binary (`cargo test`, `cargo nextest`).
//!
//! `TAPIS_STRESS_KILLS` sets the number of kills (default 50, which keeps the test within
//! about two seconds); `cargo xtask stress` runs 1000.
//!
//! Unix only: Windows (wine at least) refuses a rename over a file that another process has
//! open, even one that shares deletion, and this test's reader, which reads all the time,
//! outlasts a save's second of retries.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use tapis_auth_core::{AccessToken, SecretString, TokenSet};
use tapis_store::TokenStore;

const SAVE_LOOP_VARIABLE: &str = "TAPIS_SAVE_LOOP";

/// The name of the test that is the writer, for the test to run it alone.
const WRITER_TEST: &str = "writer_process";

/// The writer when `TAPIS_SAVE_LOOP` is set (see the module's documentation); else nothing.
#[test]
fn writer_process() {
    if let Some(path) = std::env::var_os(SAVE_LOOP_VARIABLE) {
        std::process::exit(save_loop(PathBuf::from(path)));
    }
}

/// The `which`-th (0 or 1) of the two token sets the writer alternates between. They differ
/// in length, so a torn write could not pass for either.
fn token_set(which: usize) -> TokenSet {
    let user = if which == 0 { "alice" } else { "bartholomew-the-second" };
    let claims = tapis_testkit::claims(user, 4_102_444_800 + which as i64, "https://designsafe.tapis.io");
    let access = AccessToken::new(SecretString::from(tapis_testkit::jwt(&claims)), None).expect("a valid token");
    TokenSet::new(access)
}

/// The writer: saves the two token sets in turn until killed; returns an exit code only if a
/// save fails. It says `saving` on a line of stdout once it has saved one, so the test can
/// kill it inside the loop rather than at start-up.
fn save_loop(path: PathBuf) -> i32 {
    let store = TokenStore::new(path);
    let Ok(lock) = store.lock(std::time::Duration::from_secs(5)) else { return 1 };
    let save = |tokens| store.read_for_update(&lock).and_then(|read| read.guard.replace_tokens(tokens));
    let sets = [token_set(0), token_set(1)];
    if save(&sets[1]).is_err() {
        return 1;
    }
    println!("\nsaving");
    for which in (0..2).cycle() {
        if let Err(error) = save(&sets[which]) {
            eprintln!("save loop: {error}");
            return 1;
        }
    }
    0
}

/// Starts a writer and returns once it is inside its save loop.
fn spawn_writer(path: &PathBuf) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args([WRITER_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(SAVE_LOOP_VARIABLE, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    // The test harness's own lines come first.
    let stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let started = std::io::BufRead::lines(stdout).map_while(Result::ok).any(|line| line == "saving");
    assert!(started, "the writer started saving");
    child
}

/// How many temporary files are in `folder`: a kill that leaves one interrupted a save.
fn temporaries_in(folder: &std::path::Path) -> usize {
    std::fs::read_dir(folder)
        .expect("list")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .count()
}

/// A small deterministic pseudo-random sequence (xorshift), so a failure can be replayed.
struct Jitter(u64);

impl Jitter {
    fn next_micros(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max
    }
}

#[test]
fn a_writer_killed_at_any_moment_leaves_the_old_or_the_new_file() {
    let kills: usize = std::env::var("TAPIS_STRESS_KILLS").ok().and_then(|n| n.parse().ok()).unwrap_or(50);
    let folder = tempfile::tempdir().expect("temp folder");
    let path = folder.path().join("tokens.json");

    // Let one writer run long enough to save both versions; those are the only two files
    // a reader may ever see.
    // How long a writer takes to start and save once sets the window the kills land in: a
    // few milliseconds natively, far more under an emulator (qemu) or on a loaded machine.
    let started = std::time::Instant::now();
    let mut child = spawn_writer(&path);
    let mut versions = std::collections::BTreeSet::new();
    let mut first_save = Duration::ZERO;
    while versions.len() < 2 {
        if let Ok(bytes) = std::fs::read(&path)
            && tapis_store::format::parse_token_file(&bytes).is_ok()
        {
            if versions.is_empty() {
                first_save = started.elapsed();
            }
            versions.insert(bytes);
        }
    }
    let window = (2 * first_save.as_micros()).clamp(2000, 2_000_000) as u64;
    child.kill().expect("kill");
    child.wait().expect("reap");

    // A reader that looks at the file all the time the writers run and are killed: at no
    // moment may it see anything but a complete version.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, path, versions) = (stop.clone(), path.clone(), versions.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = std::fs::read(&path).expect("the file always exists");
                if !versions.contains(&bytes) {
                    return Err(format!(
                        "read {reads}: saw {} bytes: {:?}",
                        bytes.len(),
                        String::from_utf8_lossy(&bytes)
                    ));
                }
                reads += 1;
            }
            Ok(reads)
        })
    };

    let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
    let mut mid_save_kills = 0;
    for kill in 1..=kills {
        let mut child = spawn_writer(&path);
        std::thread::sleep(Duration::from_micros(jitter.next_micros(window)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let after = std::fs::read(&path).expect("the file still exists");
        assert!(
            versions.contains(&after),
            "kill {kill}: the file is neither complete version ({} bytes: {:?})",
            after.len(),
            String::from_utf8_lossy(&after)
        );
        // The writer's first save swept the orphans of earlier kills, so a temporary now
        // means this kill landed between creating one and renaming it over the file.
        if temporaries_in(folder.path()) > 0 {
            mid_save_kills += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("reader thread").unwrap_or_else(|torn| panic!("a reader saw a torn file: {torn}"));
    // The test tests something: kills did land in the middle of saves.
    assert!(mid_save_kills > 0, "no kill interrupted a save");

    // Temporaries of the killed writers are swept up by the next save.
    let store = TokenStore::new(&path);
    let lock = store.lock(std::time::Duration::from_secs(5)).expect("lock");
    store.read_for_update(&lock).expect("read").guard.replace_tokens(&token_set(0)).expect("save");
    let leftovers: Vec<_> = std::fs::read_dir(folder.path())
        .expect("list")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "tokens.json" && name != "tokens.json.lock")
        .collect();
    assert!(leftovers.is_empty(), "orphaned temporaries left: {leftovers:?}");
    eprintln!(
        "crash safety: {kills} kills, {mid_save_kills} in the middle of a save, {reads} concurrent reads, 0 corrupt files"
    );
}
