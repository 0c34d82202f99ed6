//! `cargo xtask cross [--reduced]`: build and test for every platform we ship, from this one.
//!
//! What a target needs is set up first, all of it under `target/cross/` except system packages:
//!
//! - **A standard library for the target.** Where `rustup target add` works, the installed
//!   targets are used as they are. Where it does not (a toolchain with the host's std only),
//!   the std source comes from Debian sid's `rust-src` package, fetched with a private apt
//!   configuration (`target/cross/apt/`) and unpacked, never installed; a hard-linked copy of
//!   the nightly toolchain gets that source and is linked with rustup as [`TOOLCHAIN_NAME`], and
//!   every build passes `-Zbuild-std`. Sid moves to newer Rust releases: when its source no
//!   longer matches the nightly, the build fails on unstable features, and this says so.
//! - **zig and cargo-zigbuild** from the xtask's Python environment (`python.rs`), which link
//!   every Linux and Windows target.
//! - **System tools**: qemu (aarch64 tests), wine and mingw (Windows tests and the stub DLL
//!   below). As root they are installed with apt-get when missing; otherwise the message names
//!   the packages.
//! - **A wine prefix** (`target/cross/wine`) with a stub `bcryptprimitives.dll` built by mingw:
//!   Rust's std draws randomness from its `ProcessPrng`, which wine 8 lacks; the stub forwards
//!   to `RtlGenRandom` (`SystemFunction036` in advapi32).
//!
//! Then, per target ([`TARGETS`]), each step timed and reported with its tests and sizes:
//!
//! - `x86_64-unknown-linux-musl`: the static `tapis`, then the workspace's tests natively,
//!   the end-to-end tests (tests/e2e) among them, run against that musl binary, except what
//!   musl cannot run ([`MUSL_LEFT_OUT`]);
//! - `aarch64-unknown-linux-musl`: the static `tapis`, then the workspace's tests under
//!   `qemu-aarch64-static`, the end-to-end tests against that aarch64 binary among them, except
//!   those, the pty prompt tests qemu cannot run ([`QEMU_LEFT_OUT`]), and, where the kernel
//!   cannot start an aarch64 program (no binfmt_misc, and not root to register qemu with it),
//!   the tests that start one ([`AARCH64_LEFT_OUT`]);
//! - `x86_64-pc-windows-gnu`: the tests of every package ([`WINDOWS_PACKAGES`]) under wine,
//!   the end-to-end tests (tests/e2e) among them, run against `tapis.exe`, except what Windows
//!   cannot run ([`WINDOWS_LEFT_OUT`]: compiled for Unix only where they are); insta is told
//!   the workspace's root, as no cargo runs under wine to ask;
//! - `aarch64-apple-darwin`, `x86_64-apple-darwin`: `clippy -D warnings --all-targets` of
//!   every package but the xtask ([`APPLE_CHECK_ARGS`], [`APPLE_LEFT_OUT`]): the libraries
//!   (the store's macOS liveness checks among them), the CLI, the Python binding and all
//!   their tests; nothing here can link or run a Mach-O binary.
//!
//! `--reduced` (what `cargo xtask ci` runs) checks the aarch64 build of the CLI and lints the
//! Windows build of the store, the CLI and the Python binding, and nothing else; `cargo xtask
//! dist` ships the musl binaries and Windows' `tapis.exe` (its checks are in `windows.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::python::Venv;
use crate::{output_of, run, target_folder, workspace_root};

/// The name under which rustup knows the nightly copy that carries Debian's std source.
pub(crate) const TOOLCHAIN_NAME: &str = "tapis-cross";

/// The linker of the Windows builds: mingw-w64's gcc.
pub(crate) const WINDOWS_LINKER: &str = "x86_64-w64-mingw32-gcc";

/// The `cc` crate's variables that make mingw-w64 compile the Windows build's C code.
pub(crate) fn windows_c_compilers() -> [(&'static str, &'static str); 3] {
    [
        ("CC_x86_64_pc_windows_gnu", WINDOWS_LINKER),
        ("CXX_x86_64_pc_windows_gnu", "x86_64-w64-mingw32-g++"),
        ("AR_x86_64_pc_windows_gnu", "x86_64-w64-mingw32-ar"),
    ]
}

/// The Debian package with the standard library's sources, and the suite that has the one
/// matching the nightly.
const RUST_SRC_PACKAGE: &str = "rust-src";
const RUST_SRC_SUITE: &str = "sid";

/// The system's programs a cross build needs, each with the Debian package that has it.
const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("qemu-aarch64-static", "qemu-user-static"),
    ("x86_64-w64-mingw32-gcc", "mingw-w64"),
    ("/usr/lib/wine/wine64", "wine64"),
    ("dpkg-deb", "dpkg"),
];

/// The packages tested under wine: every package with tests but the automation. The Python
/// binding is a cdylib tested from Python (`cargo xtask dist`).
const WINDOWS_PACKAGES: &[&str] = &["tapis-auth-core", "tapis-store", "tapis-auth", "tapis-cli", "tapis-testkit"];

/// What the Windows tests leave out, and why. These tests are compiled for Unix only
/// (`#[cfg(unix)]`, or `cfg(target_os = "linux")`, on the test itself, or on the module where
/// the whole module is about it), so there is nothing to skip here: the list is what is said.
const WINDOWS_LEFT_OUT: [(&str, &str); 12] = [
    (
        "the lock folder's tests (tapis-store's lock_fallback and lock_cluster, tests/e2e/lock_fallback.rs, an flock \
         waiting for a lock folder)",
        "the lock folder, for file systems that refuse flock, is Unix only; Windows locks with LockFileEx",
    ),
    (
        "the unreadable-file and lock-creation tests (tests/e2e/guarded_writes.rs)",
        "their LD_PRELOAD open shim: Windows loads no preloaded library",
    ),
    (
        "the prompt tests (tests/e2e/prompt.rs), echo before the prompt, a killed lock holder",
        "they drive tapis in a pseudo-terminal (rexpect), which Windows does not have",
    ),
    (
        "file modes (tapis-store's permissions.rs, and each 0600/0700 check in the other tests)",
        "Windows has no mode bits: a new file takes its folder's access list (docs/platforms.md)",
    ),
    (
        "another user's token or lock file",
        "giving a file to another user takes root's chown; Windows has no such owner check",
    ),
    (
        "symbolic links at the token or lock path (a link loop, a save, removal, login or token through a link)",
        "making links takes Developer Mode or a privilege, and wine's links are Unix links, not reparse points",
    ),
    ("a FIFO at the token or lock path", "Windows has no FIFOs among files"),
    (
        "the store's crash test (a writer killed 50 times while a reader reads all the time), verify_held after the lock \
         file's removal",
        "a rename over a file another process has open is refused (the reader outlasts a save's retries); a file removed \
         while open stays, pending deletion, depending on the Windows version (wine keeps it)",
    ),
    ("tapis-auth's fork test", "Windows has no fork"),
    (
        "exec of sh and cat, the README's bash examples, the notebooks' reader (python3), a shell evaluating `--format env`",
        "Unix programs",
    ),
    (
        "the profiles' and the default token file's folders (profiles in tests/e2e, two tenants at once, the settings \
         table through the command), a save's cleanup of dead writers' temporaries (uname), a file name too long",
        "Windows keeps them in the user's profile and AppData whatever HOME says; uname; Windows limits whole paths (260 \
         characters) before names",
    ),
    ("the dumpable flag, a read-only bind mount", "Linux's own"),
];

/// What the aarch64 tests leave out where the kernel cannot start an aarch64 program, and
/// why: these tests start one (the `tapis` binary, or the test binary itself again), and
/// qemu runs only the program it was given. The kernel can when binfmt_misc hands aarch64
/// programs to qemu: [`ensure_aarch64_programs_run`] registers that as root, and then
/// nothing is left out. The same tests run natively for x86_64 musl.
const AARCH64_LEFT_OUT: &str = "the end-to-end tests (tests/e2e), which start the aarch64 `tapis`, and two tests \
     that start their own test binary again (the store's crash test, the CLI's comparison with clap)";

/// The tests of [`AARCH64_LEFT_OUT`] that start their own test binary, for cargo test's filter.
const AARCH64_SKIPS: [&str; 2] = [
    "a_writer_killed_at_any_moment_leaves_the_old_or_the_new_file",
    "cli::tests::the_bare_token_command_parses_as_clap_does",
];

/// What qemu itself cannot run, whether or not the kernel starts aarch64 programs: the tests
/// of a prompt on a pseudo-terminal. qemu-user 7.2 (Debian bookworm's) answers the `TCGETS2`
/// ioctl, with which rustix reads a terminal's settings, with ENOSYS, so `tapis` says "cannot
/// ask for credentials on the terminal: Function not implemented" (a real aarch64 kernel has
/// the ioctl). The same tests run natively for x86_64 musl.
const QEMU_LEFT_OUT: &str = "the tests of a prompt on a pseudo-terminal: qemu-user 7.2 has no TCGETS2 ioctl (ENOSYS)";

/// The tests of [`QEMU_LEFT_OUT`], for cargo test's filter.
const QEMU_SKIPS: [&str; 7] = [
    "concurrency::a_killed_lock_holder_releases_the_lock_at_once",
    "edges::echo_is_off_before_the_password_prompt_is_shown",
    "prompt::attempts_are_bounded",
    "prompt::ctrl_c_at_the_password_prompt_restores_echo",
    "prompt::ctrl_c_at_the_username_prompt_changes_nothing_and_exits_130",
    "prompt::end_of_input_at_the_password_prompt_exits_cleanly",
    "prompt::username_visible_password_hidden_wrong_then_right",
];

/// The tests left out on musl, by the name cargo test filters on, and why.
const MUSL_LEFT_OUT: [(&str, &str); 4] = [
    // `tapis_testkit::flock_shim` makes `flock` fail through LD_PRELOAD; the lock folder's own
    // tests still run.
    ("lock_fallback", "the flock-refused tests: their LD_PRELOAD shim is never loaded by a static binary"),
    ("lock_cluster", "the lock folder's cluster tests: the same LD_PRELOAD flock shim"),
    // `tapis_testkit::open_shim` makes opening the token file fail through LD_PRELOAD.
    (
        "guarded_writes::an_unreadable_token_file_is_an_error_for_every_command_and_left_as_it_is",
        "the unreadable-file tests: their LD_PRELOAD open shim is never loaded by a static binary",
    ),
    (
        "guarded_writes::a_token_is_renewed_with_a_warning_where_the_lock_cannot_be_created",
        "the same LD_PRELOAD open shim, making the lock file's creation fail",
    ),
];

/// A platform we build for, and what is done with it here.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Target {
    /// Built static; tests run natively.
    X86_64Musl,
    /// Built static; tests run under qemu.
    Aarch64Musl,
    /// Tests of [`WINDOWS_PACKAGES`] under wine.
    Windows,
    /// `check` and `clippy` only.
    AppleArm,
    /// `check` and `clippy` only.
    AppleIntel,
}

/// Every target, in the order `cross` takes them.
pub(crate) const TARGETS: [Target; 5] =
    [Target::X86_64Musl, Target::Aarch64Musl, Target::Windows, Target::AppleArm, Target::AppleIntel];

impl Target {
    pub(crate) fn triple(self) -> &'static str {
        match self {
            Self::X86_64Musl => "x86_64-unknown-linux-musl",
            Self::Aarch64Musl => "aarch64-unknown-linux-musl",
            Self::Windows => "x86_64-pc-windows-gnu",
            Self::AppleArm => "aarch64-apple-darwin",
            Self::AppleIntel => "x86_64-apple-darwin",
        }
    }

    /// Cargo's `CARGO_TARGET_<TRIPLE>_<NAME>` variable for this target.
    pub(crate) fn cargo_variable(self, name: &str) -> String {
        format!("CARGO_TARGET_{}_{name}", self.triple().to_uppercase().replace('-', "_"))
    }
}

/// How a toolchain gets a target's standard library.
#[derive(Clone, Debug)]
pub(crate) enum Std {
    /// `rustup target add` put it in the running toolchain.
    Installed,
    /// The linked nightly copy builds it from source (`-Zbuild-std`).
    BuildStd,
}

/// Everything a cross build needs, set up.
pub(crate) struct Cross {
    pub(crate) venv: Venv,
    std: Std,
    /// The cargo target folder of the cross builds.
    pub(crate) target_dir: PathBuf,
}

/// The folder of everything `cross` fetches or makes.
fn cross_folder() -> PathBuf {
    target_folder().join("cross")
}

impl Cross {
    /// Sets up what `targets` need: the std, zig, and the system tools. The builds go to
    /// `target/cross/<folder>/`: `cross` and `dist` each have theirs, so that either can run
    /// while the other builds.
    pub(crate) fn ensure(targets: &[Target], folder: &str) -> Result<Self, String> {
        let std = if targets.iter().all(|target| target_installed(target.triple())) {
            eprintln!("==> the targets' standard libraries are installed: no build-std");
            Std::Installed
        } else {
            ensure_nightly_with_source()?;
            Std::BuildStd
        };
        ensure_system_tools()?;
        let venv = Venv::ensure()?;
        let target_dir = cross_folder().join(folder);
        Ok(Self { venv, std, target_dir })
    }

    /// `cargo-zigbuild <subcommand>` for `target` with what it needs to build there; `args`
    /// follow the target.
    pub(crate) fn cargo(&self, subcommand: &str, target: Target, args: &[&str]) -> Command {
        let mut command = Command::new(self.venv.bin("cargo-zigbuild"));
        command.arg(subcommand).args(["--locked", "--target", target.triple()]);
        if let Std::BuildStd = self.std {
            command.args(["-Zbuild-std=std,panic_abort"]).env("RUSTUP_TOOLCHAIN", TOOLCHAIN_NAME);
            // rustc names the target's folder in the sysroot to the linker, which warns when
            // it is missing; with build-std it is empty.
            let _ =
                std::fs::create_dir_all(cross_folder().join("toolchain/lib/rustlib").join(target.triple()).join("lib"));
        }
        command.args(args);
        command
            .env("PATH", self.venv.path_variable())
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .current_dir(workspace_root());
        match target {
            // zig brings musl's C runtime; Rust's own copy of it (self-contained) is not in a
            // std built from source ("failed to open object rcrt1.o").
            Target::X86_64Musl | Target::Aarch64Musl => {
                command.env(target.cargo_variable("RUSTFLAGS"), "-Clink-self-contained=no");
            }
            Target::Windows => {
                // The C dependencies (aws-lc) compiled by mingw too: objects from zig's
                // compiler ask for a stack protector and a C runtime that mingw's linker
                // does not bring (`__stack_chk_fail`).
                command.env(target.cargo_variable("LINKER"), WINDOWS_LINKER).envs(windows_c_compilers());
            }
            Target::AppleArm | Target::AppleIntel => {}
        }
        command
    }

    /// Where cargo puts what it builds for `target` with `profile` (`debug` for dev).
    pub(crate) fn output_folder(&self, target: Target, profile: &str) -> PathBuf {
        self.target_dir.join(target.triple()).join(profile)
    }

    /// The environment that runs `target`'s tests here: qemu or wine as cargo's runner.
    fn runner(&self, target: Target) -> Result<Vec<(String, String)>, String> {
        Ok(match target {
            Target::Aarch64Musl => vec![(target.cargo_variable("RUNNER"), "qemu-aarch64-static".to_owned())],
            Target::Windows => {
                let prefix = ensure_wine_prefix()?;
                vec![
                    (target.cargo_variable("RUNNER"), "/usr/lib/wine/wine64".to_owned()),
                    ("WINEPREFIX".to_owned(), prefix.display().to_string()),
                    ("WINEDEBUG".to_owned(), "-all".to_owned()),
                    // insta finds the snapshots from the workspace's root, which it asks
                    // `cargo metadata` for: no cargo under wine. And a mismatch is a failure,
                    // not a `.snap.new` left in the sources.
                    ("INSTA_WORKSPACE_ROOT".to_owned(), workspace_root().display().to_string()),
                    ("INSTA_UPDATE".to_owned(), "no".to_owned()),
                ]
            }
            _ => Vec::new(),
        })
    }
}

/// Whether the running toolchain has `triple`'s standard library (`rustup target list
/// --installed`; false without rustup).
pub(crate) fn target_installed(triple: &str) -> bool {
    let installed = output_of(Command::new("rustup").args(["target", "list", "--installed"]));
    installed.is_ok_and(|list| list.lines().any(|line| line.trim() == triple))
}

/// The nightly copy with Debian's std source, linked with rustup as [`TOOLCHAIN_NAME`]; made
/// when missing.
fn ensure_nightly_with_source() -> Result<(), String> {
    let folder = cross_folder();
    let toolchain = folder.join("toolchain");
    let library = toolchain.join("lib/rustlib/src/rust/library");
    // Compared as real paths: `target/cross/toolchain` may be a link to another clone's.
    let real = std::fs::canonicalize(&toolchain).unwrap_or_else(|_| toolchain.clone());
    let linked = output_of(Command::new("rustup").args(["toolchain", "list", "-v"])).is_ok_and(|list| {
        list.lines().any(|line| line.starts_with(TOOLCHAIN_NAME) && line.contains(&*real.to_string_lossy()))
    });
    if library.join("Cargo.lock").is_file() && linked {
        eprintln!("==> reusing the nightly with the std source in {}", toolchain.display());
        return Ok(());
    }
    let nightly = output_of(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))
        .map_err(|error| format!("{error}\nfix: install a nightly toolchain (`rustup toolchain install nightly`)"))?;
    let source = fetch_rust_src(&folder)?;
    check_versions_match(&nightly, &source)?;
    if toolchain.exists() {
        std::fs::remove_dir_all(&toolchain)
            .map_err(|error| format!("cannot remove {}: {error}", toolchain.display()))?;
    }
    // Hard links: the copy costs no space, and rustup never writes into a toolchain's files.
    eprintln!("==> a linked copy of {nightly} in {}", toolchain.display());
    let copied = output_of(Command::new("cp").arg("-al").arg(&nightly).arg(&toolchain));
    if copied.is_err() {
        output_of(Command::new("cp").arg("-a").arg(&nightly).arg(&toolchain))?;
    }
    let parent = library.parent().unwrap_or(&toolchain);
    std::fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    output_of(Command::new("cp").arg("-a").arg(source.join("library")).arg(&library))?;
    output_of(Command::new("rustup").args(["toolchain", "link", TOOLCHAIN_NAME]).arg(&toolchain))?;
    Ok(())
}

/// Debian sid's `rust-src`, downloaded with a private apt configuration and unpacked under
/// `folder`; returns its `usr/src/rustc-<version>` folder.
fn fetch_rust_src(folder: &Path) -> Result<PathBuf, String> {
    let unpacked = folder.join("rust-src");
    apt_download_unpacked(&folder.join("apt"), RUST_SRC_SUITE, None, &[RUST_SRC_PACKAGE], &unpacked)?;
    let sources = unpacked.join("usr/src");
    std::fs::read_dir(&sources)
        .map_err(|error| format!("cannot read {}: {error}", sources.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.join("library/Cargo.lock").is_file())
        .ok_or_else(|| format!("{} holds no rustc-<version>/library", sources.display()))
}

/// Downloads Debian `packages` of `suite` (for `architecture`, else the system's) with a
/// private apt configuration in `apt` (its own sources, lists and cache: nothing is installed
/// and the system's apt state is not touched), and unpacks them all into `into`, afresh.
fn apt_download_unpacked(
    apt: &Path,
    suite: &str,
    architecture: Option<&str>,
    packages: &[&str],
    into: &Path,
) -> Result<(), String> {
    for sub in ["lists/partial", "cache/archives/partial", "sources.list.d", "debs"] {
        std::fs::create_dir_all(apt.join(sub)).map_err(|error| format!("cannot create {}: {error}", apt.display()))?;
    }
    let (uri, keyring) = system_debian_source()?;
    let sources = apt.join("sources.list");
    let line = format!("deb [signed-by={keyring}] {uri} {suite} main\n");
    std::fs::write(&sources, line).map_err(|error| format!("cannot write {}: {error}", sources.display()))?;
    let mut options = vec![
        format!("Dir::Etc::sourcelist={}", sources.display()),
        format!("Dir::Etc::sourceparts={}", apt.join("sources.list.d").display()),
        format!("Dir::State::Lists={}", apt.join("lists").display()),
        format!("Dir::Cache={}", apt.join("cache").display()),
        "APT::Sandbox::User=root".to_owned(),
    ];
    if let Some(architecture) = architecture {
        options.push(format!("APT::Architecture={architecture}"));
        options.push(format!("APT::Architectures={architecture}"));
    }
    let debs = apt.join("debs");
    let apt_get = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        for option in &options {
            command.args(["-o", option]);
        }
        command.args(args).current_dir(&debs);
        command
    };
    let fix =
        "check that the Debian mirror is reachable; or, on a machine where it works, `rustup target add` the targets";
    eprintln!("==> apt-get update ({suite}, private to {})", apt.display());
    run(&mut apt_get(&["-q", "update"]), fix)?;
    eprintln!("==> apt-get download {}", packages.join(" "));
    run(apt_get(&["-q", "download"]).args(packages), fix)?;
    if into.exists() {
        std::fs::remove_dir_all(into).map_err(|error| format!("cannot remove {}: {error}", into.display()))?;
    }
    for package in packages {
        let prefix = format!("{package}_");
        let deb = std::fs::read_dir(&debs)
            .map_err(|error| format!("cannot read {}: {error}", debs.display()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(&prefix)))
            .max()
            .ok_or_else(|| format!("apt-get download left no {package} .deb in {}", debs.display()))?;
        output_of(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(into))?;
    }
    Ok(())
}

/// Debian bookworm's arm64 Python, unpacked into a sysroot that qemu runs it in (`-L`).
const ARM64_PYTHON_PACKAGES: &[&str] =
    &["python3.11-minimal", "libpython3.11-minimal", "libc6", "libexpat1", "zlib1g", "libgcc-s1"];

/// The sysroot with the arm64 Python, made when missing.
fn ensure_arm64_python() -> Result<PathBuf, String> {
    let sysroot = cross_folder().join("arm64-python");
    if sysroot.join("usr/bin/python3.11").is_file() {
        return Ok(sysroot);
    }
    let apt = cross_folder().join("apt-arm64");
    apt_download_unpacked(&apt, "bookworm", Some("arm64"), ARM64_PYTHON_PACKAGES, &sysroot)?;
    Ok(sysroot)
}

/// The Python run under qemu against the unpacked aarch64 wheel: a first `connect_tapis()`
/// logs in with a password, a second reuses the saved token; the `tapis` in the wheel runs.
const AARCH64_WHEEL_CHECK: &str = "\
import sys
token_file, base_url, site = sys.argv[1:4]
sys.path.insert(0, site)
import tapis_connect
first = tapis_connect.connect_tapis(token_filePath=token_file, base_url=base_url, username='jdoe', password='s3cret')
again = tapis_connect.connect_tapis(token_filePath=token_file, base_url=base_url)
assert first.username == again.username == 'jdoe', (first.username, again.username)
assert again.access_token == first.access_token
print('connect_tapis() on aarch64: logged in, then reused the saved token')
";

/// Unpacks the aarch64 `wheel` and runs [`AARCH64_WHEEL_CHECK`] with Debian's arm64 Python
/// under qemu, against a mock Tapis that counts the requests; then the wheel's `tapis`.
pub(crate) fn test_aarch64_wheel(wheel: &Path) -> Result<(), String> {
    let sysroot = ensure_arm64_python()?;
    let scratch = tempfile::tempdir().map_err(|error| format!("cannot make a temporary folder: {error}"))?;
    let unpacked = scratch.path().join("site");
    output_of(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(wheel).arg(&unpacked))?;
    let mut mock = tapis_testkit::MockTapis::new();
    let exp = tapis_testkit::now_unix() + 4 * 3600;
    let access = mock.access_jwt("jdoe", exp);
    let refresh = mock.refresh_jwt("jdoe", exp + 3600, "refresh-jti");
    // The first login on a machine: a grant, the personal client, a grant through it (as the
    // real service: a refresh token only for a grant made through a client).
    let (client_id, client_key) = ("tapis-connect-aarch64", "client-key");
    let first = mock.password_grant("jdoe", "s3cret").without_client().answer_tokens(&access, exp).expect(1);
    let client = mock.create_client().answer_client(client_id, client_key, "jdoe").expect(1);
    let through_client = mock
        .password_grant("jdoe", "s3cret")
        .through_client(client_id, client_key)
        .answer_tokens_with_refresh(&access, exp, &refresh, exp + 3600)
        .expect(1);
    let token_file = scratch.path().join("tokens.json");
    eprintln!("==> connect_tapis() from {} under qemu-aarch64-static", wheel.display());
    let said = output_of(
        Command::new("qemu-aarch64-static")
            .arg("-L")
            .arg(&sysroot)
            .arg(sysroot.join("usr/bin/python3.11"))
            .args(["-I", "-c", AARCH64_WHEEL_CHECK])
            .arg(&token_file)
            .arg(mock.url())
            .arg(&unpacked)
            .env_clear()
            .env("HOME", scratch.path()),
    )?;
    eprintln!("{said}");
    for expected in [first, client, through_client] {
        expected.assert();
    }
    mock.assert_no_strays();
    let scripts = unpacked.join(format!("tapis_connect-{}.data/scripts/tapis", env!("CARGO_PKG_VERSION")));
    // pip makes a wheel's scripts executable; Python's zipfile keeps no modes.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&scripts, std::fs::Permissions::from_mode(0o755))
        .map_err(|error| format!("cannot make {} executable: {error}", scripts.display()))?;
    let version = output_of(Command::new("qemu-aarch64-static").arg(&scripts).arg("--version"))?;
    eprintln!("==> the wheel's tapis under qemu: {version}");
    Ok(())
}

/// The URI and keyring of the system's Debian source (deb822 `debian.sources`), which the
/// private configuration reuses for sid.
fn system_debian_source() -> Result<(String, String), String> {
    let path = Path::new("/etc/apt/sources.list.d/debian.sources");
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read {} ({error}): this fetch needs a Debian system; elsewhere `rustup target add` the targets",
            path.display()
        )
    })?;
    let field = |name: &str| text.lines().find_map(|line| line.strip_prefix(name)).map(|value| value.trim().to_owned());
    match (field("URIs:"), field("Signed-By:")) {
        (Some(uri), Some(keyring)) => Ok((uri.split_whitespace().next().unwrap_or_default().to_owned(), keyring)),
        _ => Err(format!("{} names no URIs or Signed-By", path.display())),
    }
}

/// The nightly and the std source must be the same Rust release (1.97.x with 1.97.y);
/// otherwise build-std fails with errors about unstable features.
fn check_versions_match(nightly_sysroot: &str, source: &Path) -> Result<(), String> {
    let nightly = output_of(Command::new(Path::new(nightly_sysroot).join("bin/rustc")).arg("--version"))?;
    let source_name = source.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let source_version = source_name.trim_start_matches("rustc-");
    let release = |version: &str| version.split('.').take(2).collect::<Vec<_>>().join(".");
    let nightly_version = nightly.split_whitespace().nth(1).unwrap_or_default();
    if release(nightly_version) != release(source_version) {
        return Err(format!(
            "Debian {RUST_SRC_SUITE}'s rust-src is {source_version} but the nightly is {nightly_version}: build-std needs \
             the same release\nfix: install the nightly of that release, or `rustup target add` the targets where rustup can"
        ));
    }
    eprintln!("==> std source {source_version} for {nightly}");
    Ok(())
}

/// The system tools are present; as root, apt-get installs those missing.
fn ensure_system_tools() -> Result<(), String> {
    let missing = || -> Vec<&'static str> {
        let absent = SYSTEM_TOOLS.iter().filter(|(program, _)| !program_exists(program));
        absent.map(|(_, package)| *package).collect()
    };
    let packages = missing();
    if packages.is_empty() {
        return Ok(());
    }
    let root = output_of(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0");
    if root && program_exists("apt-get") {
        eprintln!("==> apt-get install {}", packages.join(" "));
        run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "run `apt-get update` first, or install the packages above by hand",
        )?;
    }
    crate::no_problems(
        "the cross builds need programs that are missing",
        missing().iter().map(|package| format!("the Debian package {package}")).collect(),
        "install them (`sudo apt-get install <package>`, or your system's equivalent)",
    )
}

/// Whether `program` (a path, or a name looked up in `PATH`) exists.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|folder| folder.join(program).is_file())
}

/// The wine prefix with the stub `bcryptprimitives.dll`; made when missing.
pub(crate) fn ensure_wine_prefix() -> Result<PathBuf, String> {
    let prefix = cross_folder().join("wine");
    let dll = prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
    if dll.is_file() {
        return Ok(prefix);
    }
    eprintln!("==> a wine prefix in {} (the first start takes a while)", prefix.display());
    std::fs::create_dir_all(&prefix).map_err(|error| format!("cannot create {}: {error}", prefix.display()))?;
    // wineboot makes the prefix; a `syswow64` error on a 64-bit-only wine is harmless.
    let _ = Command::new("/usr/lib/wine/wine64")
        .args(["wineboot", "--init"])
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .output();
    let stub = cross_folder().join("bcryptprimitives.c");
    std::fs::write(&stub, BCRYPTPRIMITIVES_STUB)
        .map_err(|error| format!("cannot write {}: {error}", stub.display()))?;
    let folder = dll.parent().unwrap_or(&prefix);
    std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    run(
        Command::new("x86_64-w64-mingw32-gcc").args(["-shared", "-O2", "-o"]).arg(&dll).arg(&stub).arg("-ladvapi32"),
        "install mingw-w64",
    )?;
    Ok(prefix)
}

/// `ProcessPrng` for wine 8, which lacks it: the same bytes from `RtlGenRandom`.
const BCRYPTPRIMITIVES_STUB: &str = r#"#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
"#;

/// One timed step, for the report at the end.
struct Step {
    name: String,
    elapsed: Duration,
    result: String,
}

pub(crate) fn run_task(args: &[String]) -> Result<(), String> {
    let usage = || format!("usage: cargo xtask cross [--reduced | --target TRIPLE...]\ntargets: {}", triples());
    let mut reduced = false;
    let mut targets = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--reduced" => reduced = true,
            "--target" => {
                let triple = words.next().ok_or_else(usage)?;
                targets.push(TARGETS.into_iter().find(|target| target.triple() == triple).ok_or_else(usage)?);
            }
            _ => return Err(usage()),
        }
    }
    if reduced {
        targets = vec![Target::Aarch64Musl, Target::Windows];
    } else if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let started = Instant::now();
    let mut steps = Vec::new();
    let cross = timed(&mut steps, "set up", || Cross::ensure(&targets, "cargo").map(|cross| (cross, String::new())))?;
    if reduced {
        let target = Target::Aarch64Musl;
        timed(&mut steps, &format!("{}: check tapis", target.triple()), || {
            let fix = "the CLI does not compile for aarch64: see the errors above";
            run(&mut cross.cargo("check", target, &["-p", "tapis-cli", "--bin", "tapis"]), fix)
                .map(|()| ((), String::new()))
        })?;
        // The Unix-only code that most easily creeps in is caught here: a Windows half that
        // no longer compiles, or code left unused on Windows.
        let target = Target::Windows;
        timed(&mut steps, &format!("{}: clippy", target.triple()), || {
            let fix = "fix the Windows errors and lints above (`#[cfg(unix)]` code, or a Windows half)";
            run(&mut cross.cargo("clippy", target, &[REDUCED_WINDOWS_CLIPPY, &["--", "-D", "warnings"]].concat()), fix)
                .map(|()| ((), String::new()))
        })?;
    } else {
        for target in targets {
            cross_target(&cross, target, &mut steps)?;
        }
    }
    eprintln!("==> cross done in {:.0?}", started.elapsed());
    for step in &steps {
        eprintln!("  {:<44} {:>6.0?}  {}", step.name, step.elapsed, step.result);
    }
    Ok(())
}

/// Every target's triple, for the usage line.
fn triples() -> String {
    TARGETS.map(Target::triple).join(", ")
}

/// Runs `work`, recording its time and what it reports.
fn timed<T>(
    steps: &mut Vec<Step>,
    name: &str,
    work: impl FnOnce() -> Result<(T, String), String>,
) -> Result<T, String> {
    let started = Instant::now();
    let (value, result) = work()?;
    eprintln!("==> {name}: {:.0?} {result}", started.elapsed());
    steps.push(Step { name: name.to_owned(), elapsed: started.elapsed(), result });
    Ok(value)
}

/// The packages tested for the Linux targets: all but the automation and the Python binding
/// (a cdylib tested from Python, by `cargo xtask dist`). `--tests`: the unit and integration
/// tests; the documentation's examples are API examples, run on the host by `cargo test`.
const LINUX_TEST_ARGS: &[&str] = &["--workspace", "--exclude", "xtask", "--exclude", "tapis-py", "--tests"];

/// What `--reduced` lints for Windows: the store, which carries most platform code, the CLI
/// and the Python binding (and so everything they stand on).
const REDUCED_WINDOWS_CLIPPY: &[&str] = &["-p", "tapis-store", "-p", "tapis-cli", "-p", "tapis-py"];

/// What is checked for macOS: every package but the automation, with its tests, examples
/// and benchmarks (the end-to-end tests among the CLI's).
const APPLE_CHECK_ARGS: &[&str] = &["--workspace", "--exclude", "xtask", "--all-targets"];

/// What the macOS check leaves out, and why.
const APPLE_LEFT_OUT: &str = "the automation (xtask), which runs only on the machine that builds; and nothing is \
     linked or run: linking needs Apple's SDK, and nothing here runs a Mach-O binary";

fn cross_target(cross: &Cross, target: Target, steps: &mut Vec<Step>) -> Result<(), String> {
    let triple = target.triple();
    match target {
        Target::X86_64Musl | Target::Aarch64Musl => {
            let binary = cross.output_folder(target, "debug").join("tapis");
            timed(steps, &format!("{triple}: build tapis"), || {
                let fix = "the static build failed: see the errors above";
                run(&mut cross.cargo("build", target, &["-p", "tapis-cli", "--bin", "tapis"]), fix)?;
                check_static(&binary)?;
                Ok(((), format!("static, {}", size_of(&binary))))
            })?;
            let runner = cross.runner(target)?;
            let mut args = LINUX_TEST_ARGS.to_vec();
            // Under qemu, the tests that start an aarch64 program run only where the kernel
            // can start one: see AARCH64_LEFT_OUT.
            let leave_out = target == Target::Aarch64Musl && !ensure_aarch64_programs_run(&binary);
            if leave_out {
                // The CLI's unit tests only.
                args.extend(["--exclude", "tapis-cli"]);
            }
            args.extend(["--no-fail-fast", "--"]);
            for (filter, reason) in MUSL_LEFT_OUT {
                args.extend(["--skip", filter]);
                eprintln!("==> left out for {triple}: {reason}");
            }
            let mut skips = Vec::new();
            if target == Target::Aarch64Musl {
                skips = QEMU_SKIPS.iter().flat_map(|test| ["--skip", test]).collect();
                eprintln!("==> left out under qemu: {QEMU_LEFT_OUT}");
            }
            if leave_out {
                skips.extend(AARCH64_SKIPS.iter().flat_map(|test| ["--skip", test]));
                eprintln!("==> left out under qemu: {AARCH64_LEFT_OUT}");
            }
            args.extend(&skips);
            let mut tests = |name: &str, args: &[&str]| {
                timed(steps, &format!("{triple}: {name}"), || {
                    let mut command = cross.cargo("test", target, args);
                    command.envs(runner.iter().map(|(key, value)| (key, value)));
                    let counted = run_counting_tests(&mut command)?;
                    Ok(((), counted))
                })
            };
            tests("tests", &args)?;
            if leave_out {
                tests("tapis-cli's unit tests", &[&["-p", "tapis-cli", "--bins", "--"], &skips[..]].concat())?;
            }
        }
        Target::Windows => {
            let runner = cross.runner(target)?;
            let mut args = vec!["--tests"];
            for package in WINDOWS_PACKAGES {
                args.extend(["-p", package]);
            }
            args.push("--no-fail-fast");
            for (tests, reason) in WINDOWS_LEFT_OUT {
                eprintln!("==> left out for {triple}: {tests}: {reason}");
            }
            timed(steps, &format!("{triple}: tests under wine"), || {
                let mut command = cross.cargo("test", target, &args);
                command.envs(runner.iter().map(|(key, value)| (key, value)));
                Ok(((), run_counting_tests(&mut command)?))
            })?;
        }
        Target::AppleArm | Target::AppleIntel => {
            timed(steps, &format!("{triple}: check + clippy"), || {
                let fix = "fix the macOS errors and lints above";
                let args = [APPLE_CHECK_ARGS, &["--", "-D", "warnings"]].concat();
                eprintln!("==> {}", crate::shown(&cross.cargo("clippy", target, &args)));
                run(&mut cross.cargo("clippy", target, &args), fix)?;
                Ok(((), "no errors, no warnings".to_owned()))
            })?;
            eprintln!("==> left out for {triple}: {APPLE_LEFT_OUT}");
        }
    }
    Ok(())
}

/// Whether the kernel starts aarch64 programs (`binary --version` runs): through binfmt_misc,
/// which hands them to qemu. As root, when it does not, this mounts binfmt_misc if needed and
/// registers `qemu-aarch64-static` for aarch64 ELF programs, as Debian's `binfmt-support` or
/// `docker run --privileged multiarch/qemu-user-static` do (until the next boot; the `F` flag
/// opens qemu now, so that it serves every mount namespace). Elsewhere it says what is left
/// out.
fn ensure_aarch64_programs_run(binary: &Path) -> bool {
    let runs = || Command::new(binary).arg("--version").output().is_ok_and(|output| output.status.success());
    if runs() {
        eprintln!("==> the kernel starts aarch64 programs (binfmt_misc): nothing is left out under qemu");
        return true;
    }
    let root = output_of(Command::new("id").arg("-u")).is_ok_and(|uid| uid == "0");
    let folder = Path::new("/proc/sys/fs/binfmt_misc");
    if !root {
        eprintln!("==> the kernel cannot start aarch64 programs, and only root can register qemu with binfmt_misc");
        return false;
    }
    if !folder.join("register").exists() {
        let _ = Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc"]).arg(folder).output();
    }
    let qemu = output_of(Command::new("sh").args(["-c", "command -v qemu-aarch64-static"])).unwrap_or_default();
    let registration = format!("{AARCH64_BINFMT}{qemu}:F");
    match std::fs::write(folder.join("register"), registration) {
        Ok(()) => eprintln!("==> registered {qemu} with binfmt_misc for aarch64 programs (until the next boot)"),
        Err(error) => eprintln!("==> cannot register qemu with binfmt_misc ({error})"),
    }
    runs()
}

/// binfmt_misc's registration of aarch64 ELF programs, up to the interpreter: the name, the
/// kind (magic bytes), the ELF header's magic and mask (those of qemu's
/// `scripts/qemu-binfmt-conf.sh`). binfmt_misc reads the `\x` escapes itself.
const AARCH64_BINFMT: &str = r":qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:";

/// `file`'s size in MB.
pub(crate) fn size_of(file: &Path) -> String {
    let bytes = std::fs::metadata(file).map_or(0, |metadata| metadata.len());
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// An ELF binary that needs no shared library and no program interpreter.
pub(crate) fn check_static(binary: &Path) -> Result<(), String> {
    let headers = output_of(Command::new("readelf").args(["--program-headers", "--dynamic", "--wide"]).arg(binary))
        .map_err(|error| format!("{error}\nfix: install binutils"))?;
    if headers.contains("INTERP") || headers.contains("(NEEDED)") {
        return Err(format!("{} is not static: it names a program interpreter or shared libraries", binary.display()));
    }
    Ok(())
}

/// Runs a `cargo test` command, its output shown as it comes, and counts the tests run
/// ("N passed, M ignored in K binaries").
fn run_counting_tests(command: &mut Command) -> Result<String, String> {
    use std::io::BufRead;
    eprintln!("==> {}", crate::shown(command));
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{}`: {error}", crate::shown(command)))?;
    let (mut passed, mut ignored, mut binaries) = (0, 0, 0);
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Some((counted_passed, counted_ignored)) = test_result_counts(&line) {
                passed += counted_passed;
                ignored += counted_ignored;
                binaries += 1;
            }
        }
    }
    let status = child.wait().map_err(|error| format!("cannot wait for cargo test: {error}"))?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})\nfix: see the failing tests above", crate::shown(command)));
    }
    if passed == 0 {
        return Err(format!("`{}` ran no test", crate::shown(command)));
    }
    Ok(format!("{passed} passed, {ignored} ignored in {binaries} test binaries"))
}

/// The passed and ignored counts of libtest's summary line
/// (`test result: ok. 12 passed; 0 failed; 1 ignored; ...`).
fn test_result_counts(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("test result: ")?;
    let count = |word: &str| {
        // The first part carries the verdict: `ok. 12 passed`, `FAILED. 3 passed`.
        let mut parts = rest.split(';').map(|part| part.rsplit(". ").next().unwrap_or(part).trim());
        parts.find_map(|part| part.strip_suffix(word)?.trim().parse().ok())
    };
    Some((count("passed")?, count("ignored").unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_summaries_are_counted() {
        let check = |line: &str, expected: Option<(u64, u64)>| assert_eq!(test_result_counts(line), expected, "{line}");
        check(
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.50s",
            Some((12, 1)),
        );
        check("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out", Some((3, 0)));
        check("running 12 tests", None);
        check("test a::b ... ok", None);
    }

    #[test]
    fn cargo_variables_name_the_target_in_capitals() {
        assert_eq!(Target::Aarch64Musl.cargo_variable("RUNNER"), "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER");
        assert_eq!(Target::Windows.cargo_variable("LINKER"), "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER");
    }
}
