//! The lock folder on real clusters: clocks that disagree, holders that stop, containers and
//! other machines (real pid and UTS namespaces), folders others can write to, whole-process
//! liveness, cheap releases. Each test runs under the flock shim as in [`crate::lock_fallback`];
//! waiters that should see a heartbeat stand still are given a short lease.

use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tapis_store::{LockKind, StoreError, StoreLock, TokenStore};

use crate::lock_fallback::{
    backdate, dead_pid, plant, set_heartbeat, setup, sleeper, start_time, this_machine, under_shim_in,
};
use crate::{check, describe_error, names_in, set_mode};

fn under_shim(test: &str) -> bool {
    under_shim_in("lock_cluster", test, &["ENOSYS"]).is_some()
}

/// `taken` or `waited`, or the error.
fn outcome(result: Result<StoreLock, StoreError>, path: &Path) -> String {
    match result {
        Ok(lock) => {
            assert_eq!(lock.kind(), LockKind::LockFolder);
            "taken".to_owned()
        }
        Err(StoreError::LockTimeout { .. }) => "waited".to_owned(),
        Err(error) => describe_error(&error, path),
    }
}

fn other_host() -> Value {
    json!({"host": "other-node.cluster.example", "boot_id": "0b5e7c2a", "pid_namespace": "pid:[4026531836]"})
}

/// A holder on another machine whose clock is `skew` away from ours (ahead when positive):
/// it sets its entry's mtime from its own clock every 20 ms, until the flag is cleared.
fn beating_with_skew(entry: PathBuf, skew_seconds: i64) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let beating = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&beating);
    let thread = std::thread::spawn(move || {
        while flag.load(Ordering::SeqCst) {
            let now = SystemTime::now();
            let skewed = if skew_seconds >= 0 {
                now + Duration::from_secs(skew_seconds.unsigned_abs())
            } else {
                now - Duration::from_secs(skew_seconds.unsigned_abs())
            };
            set_heartbeat(&entry, skewed);
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (beating, thread)
}

/// Clocks that disagree, both ways: what the mtime says never matters, only whether it
/// changes. A dead holder whose clock ran 5 min ahead (or behind) is taken over after the
/// lease; a live one whose clock runs 5 min behind (or ahead) is never taken over.
#[test]
fn a_holder_whose_clock_runs_5_minutes_ahead_neither_blocks_nor_loses_the_lock() {
    if under_shim("a_holder_whose_clock_runs_5_minutes_ahead_neither_blocks_nor_loses_the_lock") {
        clock_skew("its clock 5 min ahead", 300);
    }
}

#[test]
fn a_holder_whose_clock_runs_5_minutes_behind_neither_blocks_nor_loses_the_lock() {
    if under_shim("a_holder_whose_clock_runs_5_minutes_behind_neither_blocks_nor_loses_the_lock") {
        clock_skew("its clock 5 min behind", -300);
    }
}

/// A holder on another machine whose clock is `skew` seconds off ours: dead, taken over
/// after the lease; alive, waited on.
fn clock_skew(case: &str, skew: i64) {
    // Dead: its last heartbeat, from its clock, then nothing.
    let (_folder, path, store) = setup();
    let entry = plant(&store, &other_host(), 1, None, Duration::ZERO);
    let (beating, thread) = beating_with_skew(entry.clone(), skew);
    beating.store(false, Ordering::SeqCst);
    thread.join().expect("the beat");
    let lease = Duration::from_millis(300);
    check(&format!("dead, {case}"), &outcome(store.clone().with_lock_lease(lease).lock(lease * 10), &path), "taken");

    // Alive: its heartbeat keeps changing, from a clock far from ours.
    let (_folder, path, store) = setup();
    let entry = plant(&store, &other_host(), 1, None, Duration::ZERO);
    let (beating, thread) = beating_with_skew(entry.clone(), skew);
    let lease = Duration::from_millis(800);
    let result = store.with_lock_lease(lease).lock(lease * 3 / 2);
    beating.store(false, Ordering::SeqCst);
    thread.join().expect("the beat");
    check(&format!("alive, {case}"), &outcome(result, &path), "waited");
    assert!(entry.exists(), "alive, {case}: the live holder's entry is untouched");
}

/// Set in a holder process: the token path it locks.
const HOLDER_PATH_VARIABLE: &str = "TAPIS_TEST_LOCK_HOLDER_PATH";

/// A holder in a process of its own: it takes the lock (heartbeat every 50 ms), says
/// `held`, and then answers each line on its stdin: `verify` with `ok` or `lost: <why>`,
/// `die` by exiting without releasing (as a SIGKILL would leave it).
struct Holder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The holder's side, in the child process; `true` when this process is a holder.
fn be_a_holder() -> bool {
    let Some(path) = std::env::var_os(HOLDER_PATH_VARIABLE) else { return false };
    let store = TokenStore::new(PathBuf::from(path)).with_heartbeat_period(Duration::from_millis(50));
    let lock = store.lock(Duration::from_secs(10)).expect("the holder's lock");
    println!("held");
    for line in std::io::stdin().lines() {
        match line.expect("a line").as_str() {
            "verify" => match lock.verify_held() {
                Ok(()) => println!("ok"),
                Err(error) => println!("lost: {error}"),
            },
            _ => break,
        }
    }
    std::process::exit(3);
}

impl Holder {
    /// Runs the test `test` of this module as a holder of `path`'s lock, after `prefix` (a
    /// command such as `unshare --pid --fork --mount-proc`).
    fn spawn(test: &str, path: &Path, prefix: &[&str]) -> Self {
        let exe = std::env::current_exe().expect("own path");
        let mut command = match prefix.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        command
            .args([&format!("lock_cluster::{test}"), "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(HOLDER_PATH_VARIABLE, path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("spawn a holder");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut holder = Self { child, stdin, stdout };
        assert_eq!(holder.line(), "held");
        holder
    }

    /// The next line the holder says that is its own (not the test harness's).
    fn line(&mut self) -> String {
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).expect("read") > 0, "the holder ended");
            let line = line.trim_end();
            if line == "held" || line == "ok" || line.starts_with("lost: ") {
                return line.to_owned();
            }
        }
    }

    fn verify(&mut self) -> String {
        writeln!(self.stdin, "verify").expect("ask");
        self.line()
    }

    fn die(mut self) {
        let _ = writeln!(self.stdin, "die");
        let _ = self.child.wait();
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, signal).expect("signal the holder");
    }
}

/// A test that fails midway must not leave a stopped holder behind: it would keep the test's
/// output open, and the test harness would wait for it for ever.
impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one entry in the lock folder.
fn the_entry(store: &TokenStore) -> PathBuf {
    let names = names_in(&store.lock_folder_path());
    let [name] = names.as_slice() else { panic!("one entry, not {names:?}") };
    store.lock_folder_path().join(name)
}

/// Rewrites an entry's record, in place, as if its holder were on another host.
fn move_to_another_host(entry: &Path) {
    let mut record: Value = serde_json::from_slice(&fs::read(entry).expect("read")).expect("JSON");
    record["host"] = "login2.cluster.example".into();
    fs::write(entry, record.to_string()).expect("rewrite the record");
}

/// A holder stopped (SIGSTOP) past the lease is taken over; resumed (SIGCONT), it learns at
/// once that it lost the lock, and the new holder's entry is untouched. (On this machine a
/// stopped process is alive and is never taken over; so the holder's record says another
/// host, as a holder on a login node would.)
#[test]
fn a_holder_stopped_past_the_lease_learns_it_lost_the_lock() {
    const TEST: &str = "a_holder_stopped_past_the_lease_learns_it_lost_the_lock";
    if be_a_holder() || !under_shim(TEST) {
        return;
    }
    let (_folder, path, store) = setup();
    let mut holder = Holder::spawn(TEST, &path, &[]);
    check("before", &holder.verify(), "ok");
    move_to_another_host(&the_entry(&store));
    holder.signal(rustix::process::Signal::STOP);

    let lease = Duration::from_millis(300);
    let successor = store.clone().with_lock_lease(lease).lock(lease * 10).expect("taken over");
    let successor_entry = the_entry(&store);
    holder.signal(rustix::process::Signal::CONT);
    let resumed = Instant::now();
    let said = holder.verify();
    let noticed = resumed.elapsed();
    check(
        "the resumed holder",
        &said.replace(path.to_str().expect("UTF-8"), "<path>"),
        "lost: the lock folder <path>.lock.d was taken over by another process: this process was stopped, or could not refresh the lock, for longer than its lease (90s); nothing was saved, run the command again",
    );
    eprintln!("figure: a holder stopped past the lease knew it had lost the lock {noticed:?} after it was resumed");
    // Its heartbeat did not touch the successor's entry, nor did its exit remove it.
    holder.die();
    assert_eq!(the_entry(&store), successor_entry);
    successor.verify_held().expect("the successor still holds the lock");
    drop(successor);
    check("left behind", &names_in(path.parent().expect("folder")).join(" "), "tokens.json.lock");
}

/// Whether `unshare` with these options works here (root, or user namespaces allowed).
fn unshare_works(options: &[&str]) -> bool {
    let works = Command::new("unshare").args(options).arg("true").stderr(Stdio::null()).status();
    works.is_ok_and(|status| status.success())
}

/// Real namespaces: a holder in a container (its own pid namespace) is another machine's.
#[test]
fn a_holder_in_another_pid_namespace_is_judged_by_the_lease() {
    const TEST: &str = "a_holder_in_another_pid_namespace_is_judged_by_the_lease";
    if !be_a_holder() && under_shim(TEST) {
        in_a_namespace(TEST, "a pid namespace (a container)", &["--pid", "--fork", "--mount-proc", "--kill-child"]);
    }
}

/// Real namespaces: a holder "on another machine" (its own UTS namespace, another host name).
#[test]
fn a_holder_in_another_uts_namespace_is_judged_by_the_lease() {
    const TEST: &str = "a_holder_in_another_uts_namespace_is_judged_by_the_lease";
    if !be_a_holder() && under_shim(TEST) {
        in_a_namespace(TEST, "a UTS namespace (another host name)", &["--uts"]);
    }
}

/// A holder run by the test `test` under `unshare <options>` is another machine's: while it
/// lives and beats it is waited on past the lease; once it is dead, it is taken over after
/// the lease. Skipped, with the reason, where `unshare` is not allowed.
fn in_a_namespace(test: &str, case: &str, options: &[&str]) {
    if !unshare_works(options) {
        eprintln!(
            "skipped: {case}: `unshare {}` is not allowed here (needs root or user namespaces)",
            options.join(" ")
        );
        return;
    }
    let mut prefix = vec!["unshare"];
    prefix.extend(options);
    if options == ["--uts"] {
        prefix.extend(["sh", "-c", "hostname other-node && exec \"$@\"", "sh"]);
    }
    let (_folder, path, store) = setup();
    let mut holder = Holder::spawn(test, &path, &prefix);
    let record: Value = serde_json::from_slice(&fs::read(the_entry(&store)).expect("read")).expect("JSON");
    let here = this_machine();
    assert!(
        record["host"] != here["host"] || record["pid_namespace"] != here["pid_namespace"],
        "{case}: the holder's record is another machine's: {record}"
    );
    let lease = Duration::from_millis(800);
    check(
        &format!("{case}, alive"),
        &outcome(store.clone().with_lock_lease(lease).lock(lease * 3 / 2), &path),
        "waited",
    );
    check(&format!("{case}, alive, after"), &holder.verify(), "ok");
    holder.die();
    let lease = Duration::from_millis(300);
    let started = Instant::now();
    check(&format!("{case}, dead"), &outcome(store.clone().with_lock_lease(lease).lock(lease * 10), &path), "taken");
    eprintln!("figure: {case}: dead holder taken over {:?} after it died (lease {lease:?})", started.elapsed());
}

/// The zombie check covers the whole process: a process whose main thread has exited while
/// another thread runs shows `Z` in `/proc/<pid>/stat`, and is alive.
#[test]
fn a_process_whose_main_thread_exited_is_alive() {
    if !under_shim("a_process_whose_main_thread_exited_is_alive") {
        return;
    }
    let (folder, path, store) = setup();
    let source = folder.path().join("main_thread_exits.c");
    fs::write(
        &source,
        "#include <pthread.h>\n#include <unistd.h>\nstatic void *run(void *arg) { (void)arg; sleep(600); return 0; }\nint main(void) { pthread_t thread; pthread_create(&thread, 0, run, 0); pthread_exit(0); }\n",
    )
    .expect("write the source");
    let program = folder.path().join("main_thread_exits");
    let compiled = Command::new("cc").arg("-pthread").arg("-o").arg(&program).arg(&source).status().expect("run cc");
    assert!(compiled.success(), "cc failed");
    let mut process = Command::new(&program).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("run it");
    let pid = process.id();
    while !fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z") {
        std::thread::sleep(Duration::from_millis(5));
    }
    plant(&store, &this_machine(), pid, start_time(pid), Duration::ZERO);
    check("its main thread exited", &outcome(store.lock(Duration::from_millis(200)), &path), "waited");
    process.kill().expect("SIGKILL");
    process.wait().expect("reap");
    check("killed", &outcome(store.lock(Duration::ZERO), &path), "taken");
}

/// A staging folder of a dead process on this machine, in `folder`: returns its name.
fn plant_debris(folder: &Path, pid: u32) -> String {
    let nonce = format!("{:032x}", crate::lock_fallback::rand_u128());
    let name = format!(".tokens.json.lock.{nonce}.new");
    fs::create_dir(folder.join(&name)).expect("mkdir");
    let mut record = this_machine();
    record["pid"] = pid.into();
    record["nonce"] = nonce.clone().into();
    fs::write(folder.join(&name).join(format!("{nonce}.owner")), record.to_string()).expect("write");
    name
}

/// Releases sweep debris only after a contended acquisition (when there may be some), and
/// then remove only the protocol's own folders: a link planted under a staging folder's
/// name, to a folder holding an old file, is left alone, and so is its target.
#[test]
fn releases_sweep_only_after_contention_and_never_through_a_link() {
    if !under_shim("releases_sweep_only_after_contention_and_never_through_a_link") {
        return;
    }
    let (folder, path, store) = setup();
    let debris = plant_debris(folder.path(), dead_pid());
    fs::create_dir(folder.path().join("elsewhere")).expect("mkdir");
    fs::write(folder.path().join("elsewhere/old.txt"), "precious").expect("write");
    backdate(&folder.path().join("elsewhere/old.txt"), Duration::from_secs(30 * 24 * 3600));
    let planted = format!(".tokens.json.lock.{:032x}.new", crate::lock_fallback::rand_u128());
    std::os::unix::fs::symlink(folder.path().join("elsewhere"), folder.path().join(&planted)).expect("symlink");
    let mut expected = vec![debris.clone(), planted.clone(), "elsewhere".to_owned(), "tokens.json.lock".to_owned()];
    expected.sort();

    // Uncontended: the release does not list the folder.
    drop(store.lock(Duration::ZERO).expect("free"));
    check("after an uncontended release", &names_in(folder.path()).join(" "), &expected.join(" "));

    // Contended (a dead holder taken over): the release sweeps, the dead process's staging
    // folder goes, the link and its target stay.
    plant(&store, &this_machine(), dead_pid(), None, Duration::ZERO);
    drop(store.lock(Duration::ZERO).expect("taken over"));
    expected.retain(|name| *name != debris);
    check("after a contended release", &names_in(folder.path()).join(" "), &expected.join(" "));
    check("the link's target", &fs::read_to_string(folder.path().join("elsewhere/old.txt")).expect("read"), "precious");
    let _ = path;
}

/// A token folder others can write to, without the sticky bit, is refused for the lock
/// folder (as ssh's `StrictModes` refuses such a home); with the sticky bit it is used.
#[test]
fn a_token_folder_others_can_write_to_needs_the_sticky_bit() {
    if !under_shim("a_token_folder_others_can_write_to_needs_the_sticky_bit") {
        return;
    }
    for (mode, expected) in [
        (
            0o777,
            "Lock: cannot lock <path>.lock.d: other users can write to the folder <folder> (mode 777, no sticky bit), so they could break the lock that stands in for flock there; make it private (chmod go-w) or keep the token file elsewhere",
        ),
        (
            0o770,
            "Lock: cannot lock <path>.lock.d: other users can write to the folder <folder> (mode 770, no sticky bit), so they could break the lock that stands in for flock there; make it private (chmod go-w) or keep the token file elsewhere",
        ),
        (0o1777, "taken"),
        (0o755, "taken"),
    ] {
        let (folder, path, store) = setup();
        set_mode(folder.path(), mode);
        let said = outcome(store.lock(Duration::ZERO), &path);
        check(&format!("{mode:o}"), &said.replace(folder.path().to_str().expect("UTF-8"), "<folder>"), expected);
        check(&format!("{mode:o}: left behind"), &names_in(folder.path()).join(" "), "tokens.json.lock");
    }
}

/// A live holder keeps the lock, however long, on this machine too; the lease is for others.
#[test]
fn a_live_holder_on_this_machine_is_never_taken_over_even_with_a_short_lease() {
    if !under_shim("a_live_holder_on_this_machine_is_never_taken_over_even_with_a_short_lease") {
        return;
    }
    let (_folder, path, store) = setup();
    let mut holder = sleeper();
    plant(&store, &this_machine(), holder.id(), start_time(holder.id()), Duration::ZERO);
    let lease = Duration::from_millis(100);
    check("alive", &outcome(store.clone().with_lock_lease(lease).lock(lease * 5), &path), "waited");
    holder.kill().expect("kill");
    holder.wait().expect("reap");
}
