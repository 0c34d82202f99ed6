//! `cargo xtask dist [--profile NAME] [--target TRIPLE]...`: what people without a Rust
//! toolchain install, for every shipped target or those named.
//!
//! 1. What the cross builds need is set up (`cross.rs`): zig, cargo-zigbuild and maturin
//!    from the cached Python environment (`python.rs`), a std for each target, qemu.
//! 2. `tapis` is built static for `x86_64-unknown-linux-musl` and `aarch64-unknown-linux-musl`
//!    and checked: no program interpreter, no shared library, and it runs `--version` (the
//!    aarch64 one under qemu). One binary per architecture runs on every Linux, glibc-less
//!    images and old kernels included; BENCHMARKS.md has what musl costs and saves.
//! 3. `target/dist/tapis-<version>-<target>.tar.gz` (binary, README, licence texts, and every
//!    Markdown file the README links to) and its
//!    `.sha256` are written for each, and README's install block is run against the x86_64 one.
//! 4. The source distribution, then the wheels `tapis_connect-<version>-cp39-abi3-
//!    manylinux2014_{x86_64,aarch64}…whl`, built by maturin with zig for glibc 2.17, each with
//!    its architecture's static `tapis` among its scripts (pip puts it in `bin/`); their
//!    extension modules pass the glibc and shared-library checks.
//! 5. The x86_64 wheel is installed into the cached environment and the Python tests run
//!    against it; the aarch64 wheel is unpacked and `connect_tapis()` logs in to a mock and
//!    then reuses the saved token, under qemu with Debian's arm64 Python (`cross.rs`).
//! 6. For Windows (`windows.rs`): `tapis.exe`, linked by mingw, imports only Windows' DLLs
//!    and runs under wine (a login against a mock, then `tapis token`); it ships in
//!    `tapis-<version>-x86_64-pc-windows-gnu.zip` with the same texts, and in the `win_amd64`
//!    wheel, whose tag, files and imports are checked (no Windows Python here imports it).
//!
//! The release workflow (`.github/workflows/release.yml`) builds macOS on its runners.
//!
//! The shipping build uses the `release` profile (fat LTO). `cargo xtask ci` passes
//! `--profile dist-check`, which inherits it without LTO, and writes to
//! `target/dist-check/` instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cross::{Cross, Target, check_static};
use crate::python::Venv;
use crate::{files_under, output_of, run, target_folder, workspace_root};

/// The binaries shipped (static for Linux; Windows' with the C runtime linked in), and the
/// wheels' targets with the binary each carries and the platform its file name says.
const BINARY_TARGETS: [Target; 3] = [Target::X86_64Musl, Target::Aarch64Musl, Target::Windows];
const WHEEL_TARGETS: [(&str, Target, &str); 3] = [
    ("x86_64-unknown-linux-gnu", Target::X86_64Musl, "manylinux2014_x86_64"),
    ("aarch64-unknown-linux-gnu", Target::Aarch64Musl, "manylinux2014_aarch64"),
    ("x86_64-pc-windows-gnu", Target::Windows, "win_amd64"),
];

/// The newest `GLIBC_x.y` symbol version a binary may require (manylinux2014).
const MAX_GLIBC: (u32, u32) = (2, 17);

/// The shared libraries a binary may need: the C runtime's, present on every glibc system.
const ALLOWED_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

/// The workspace version, which the binary and the wheel carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the wheel build finds the `tapis` binary: the `scripts/` of pyproject.toml's `data`
/// folder (ignored by git, and there only for the build).
const WHEEL_SCRIPTS: &str = "tapis-py/wheel-data/scripts";

/// The licence texts shipped in the tarball, at the workspace root.
const LICENCE_FILES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

pub(crate) fn run_task(args: &[String]) -> Result<(), String> {
    let usage = || {
        "usage: cargo xtask dist [--profile NAME] [--target x86_64-unknown-linux-musl | aarch64-unknown-linux-musl | \
         x86_64-pc-windows-gnu]..."
    };
    let (mut profile, mut targets) = ("release".to_owned(), Vec::new());
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let value = words.next().ok_or_else(usage)?;
        match word.as_str() {
            "--profile" => profile.clone_from(value),
            "--target" => {
                targets.push(BINARY_TARGETS.into_iter().find(|target| target.triple() == value).ok_or_else(usage)?);
            }
            _ => return Err(usage().to_owned()),
        }
    }
    build(&profile, if targets.is_empty() { &BINARY_TARGETS } else { &targets })
}

/// Builds and checks what ships for `targets` (each binary's tarball and wheel), and the sdist.
/// `cargo xtask ci` takes the x86_64 target alone; `cross --reduced` checks the aarch64 build.
pub(crate) fn build(profile: &str, targets: &[Target]) -> Result<(), String> {
    let profile = profile.to_owned();
    let started = std::time::Instant::now();
    let cross = Cross::ensure(targets, "dist")?;
    let out =
        workspace_root().join("target").join(if profile == "release" { "dist".to_owned() } else { profile.clone() });
    std::fs::create_dir_all(&out).map_err(|error| format!("cannot create {}: {error}", out.display()))?;

    let mut binaries = Vec::new();
    let mut written = Vec::new();
    for &target in targets {
        let target_started = std::time::Instant::now();
        let binary = build_binary(&cross, target, &profile)?;
        if target == Target::Windows {
            crate::windows::check_tapis_exe(&binary)?;
        } else {
            check_static(&binary)?;
            check_runs(&binary, target)?;
        }
        let archive = write_archive(&binary, target, &out)?;
        if target == Target::X86_64Musl {
            check_readme_install(&archive)?;
        }
        eprintln!(
            "==> {}: {} ({} packed), built and checked in {:.0?}",
            binary.display(),
            crate::cross::size_of(&binary),
            crate::cross::size_of(&archive),
            target_started.elapsed()
        );
        written.push(format!("{}.sha256", archive.display()));
        written.push(archive.display().to_string());
        binaries.push((target, binary));
    }

    // The source distribution first, while the wheel's data folder holds no binary.
    let sdist = build_sdist(&cross.venv, &out)?;
    written.push(sdist.display().to_string());
    for (wheel_target, binary_target, platform) in WHEEL_TARGETS {
        let Some((_, binary)) = binaries.iter().find(|(target, _)| *target == binary_target) else { continue };
        let wheel_started = std::time::Instant::now();
        let wheel = build_wheel(&cross, wheel_target, binary_target, platform, &profile, binary, &out)?;
        let module = wheel_target_folder().join(wheel_target).join(&profile).join("lib_native.so");
        match binary_target {
            Target::Windows => crate::windows::check_wheel(&wheel, binary)?,
            Target::Aarch64Musl => {
                check_elf(&module)?;
                crate::cross::test_aarch64_wheel(&wheel)?;
            }
            _ => {
                check_elf(&module)?;
                cross.venv.test_wheel(&wheel)?;
            }
        }
        eprintln!(
            "==> {}: {}, built and checked in {:.0?}",
            wheel.display(),
            crate::cross::size_of(&wheel),
            wheel_started.elapsed()
        );
        written.push(wheel.display().to_string());
    }
    eprintln!("==> dist done in {:.0?}:\n  {}", started.elapsed(), written.join("\n  "));
    Ok(())
}

/// The cargo target folder of the wheel's build. It is not the binary's: maturin links through
/// zig wrappers of its own and resolves features for tapis-py alone, so in one folder each
/// build would invalidate the other's dependencies and a warm run would rebuild them all.
fn wheel_target_folder() -> PathBuf {
    target_folder().join("python/cargo")
}

fn build_binary(cross: &Cross, target: Target, profile: &str) -> Result<PathBuf, String> {
    eprintln!("==> cargo zigbuild --profile {profile} -p tapis-cli --target {}", target.triple());
    run(
        &mut cross.cargo("build", target, &["--profile", profile, "-p", "tapis-cli", "--bin", "tapis"]),
        "the cross build failed; if a C dependency does not build with zig, see README's Install section",
    )?;
    Ok(cross.output_folder(target, profile).join(binary_name(target)))
}

/// The file name of the `tapis` binary for `target`.
fn binary_name(target: Target) -> &'static str {
    if target == Target::Windows { "tapis.exe" } else { "tapis" }
}

/// Builds the wheel for `wheel_target` with `binary` (built for `binary_target`) among its
/// scripts: for Linux with zig for glibc 2.17, for Windows linked by mingw. The extension
/// module needs no import library for `python3.dll` there: PyO3 links it as `raw-dylib`.
fn build_wheel(
    cross: &Cross,
    wheel_target: &str,
    binary_target: Target,
    platform: &str,
    profile: &str,
    binary: &Path,
    out: &Path,
) -> Result<PathBuf, String> {
    // pyproject.toml's `data` folder: maturin copies its scripts/ into the wheel's scripts.
    // The binary is there only for this build, so that no source distribution carries it.
    let scripts = workspace_root().join(WHEEL_SCRIPTS);
    std::fs::create_dir_all(&scripts).map_err(|error| format!("cannot create {}: {error}", scripts.display()))?;
    let script = scripts.join(binary_name(binary_target));
    std::fs::copy(binary, &script)
        .map_err(|error| format!("cannot copy {} into {}: {error}", binary.display(), scripts.display()))?;
    for old in wheels(out, platform) {
        std::fs::remove_file(&old).map_err(|error| format!("cannot remove {}: {error}", old.display()))?;
    }
    let linking: &[&str] =
        if binary_target == Target::Windows { &[] } else { &["--zig", "--compatibility", "manylinux2014"] };
    let shown_linking: String = linking.iter().map(|word| format!(" {word}")).collect();
    eprintln!("==> maturin build --profile {profile}{shown_linking} --target {wheel_target}");
    let mut command = Command::new(cross.venv.bin("maturin"));
    command
        .args(["build", "--locked", "--profile", profile])
        .args(linking)
        .arg("--target")
        .arg(wheel_target)
        .arg("--manifest-path")
        .arg(workspace_root().join("tapis-py/Cargo.toml"))
        .arg("--out")
        .arg(out)
        .env("PATH", cross.venv.path_variable())
        .env("CARGO_TARGET_DIR", wheel_target_folder())
        .current_dir(workspace_root());
    if binary_target == Target::Windows {
        command
            .env(binary_target.cargo_variable("LINKER"), crate::cross::WINDOWS_LINKER)
            .envs(crate::cross::windows_c_compilers());
    }
    if !crate::cross::target_installed(wheel_target) {
        // maturin runs cargo itself: build-std through cargo's environment configuration.
        command
            .env("RUSTUP_TOOLCHAIN", crate::cross::TOOLCHAIN_NAME)
            .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
            .env_remove("CARGO")
            .env_remove("RUSTC");
    }
    let built = run(&mut command, "the wheel build failed");
    std::fs::remove_file(&script).map_err(|error| format!("cannot remove {}: {error}", script.display()))?;
    built?;
    match wheels(out, platform).as_slice() {
        [wheel] => Ok(wheel.clone()),
        found => Err(format!("expected one {platform} tapis_connect wheel in {}, found {found:?}", out.display())),
    }
}

/// Runs README.md's install block, as written, in a fresh home folder holding the tarball and
/// its checksum, then the `tapis` it installed.
fn check_readme_install(tarball: &Path) -> Result<(), String> {
    let readme_path = workspace_root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .map_err(|error| format!("cannot read {}: {error}", readme_path.display()))?;
    let block = tapis_testkit::shell_blocks(&readme)
        .into_iter()
        .find(|block| block.starts_with("sha256sum -c "))
        .ok_or("README.md has no install block starting with `sha256sum -c`")?;
    let file_name = tarball.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if !block.contains(&file_name) {
        return Err(format!("README.md's install block does not name {file_name}: update it to this version"));
    }
    let home = tempfile::tempdir().map_err(|error| format!("cannot make a temporary folder: {error}"))?;
    for file in [tarball.to_path_buf(), tarball.with_file_name(format!("{file_name}.sha256"))] {
        let copy = home.path().join(file.file_name().unwrap_or_default());
        std::fs::copy(&file, &copy).map_err(|error| format!("cannot copy {}: {error}", file.display()))?;
    }
    eprintln!("==> README.md's install block, in a fresh home folder");
    let fix = "make README.md's install block work as written";
    run(Command::new("bash").args(["-euc", &block]).env("HOME", home.path()).current_dir(home.path()), fix)?;
    run(Command::new(home.path().join(".local/bin/tapis")).arg("--version"), fix)
}

/// Builds the source distribution with maturin and checks that it carries what PyPI and a
/// build from source need: the licence texts, the package metadata and the Rust sources.
fn build_sdist(venv: &Venv, out: &Path) -> Result<PathBuf, String> {
    let sdist = out.join(format!("tapis_connect-{VERSION}.tar.gz"));
    if sdist.exists() {
        std::fs::remove_file(&sdist).map_err(|error| format!("cannot remove {}: {error}", sdist.display()))?;
    }
    eprintln!("==> maturin sdist");
    run(
        Command::new(venv.bin("maturin"))
            .arg("sdist")
            .arg("--manifest-path")
            .arg(workspace_root().join("tapis-py/Cargo.toml"))
            .arg("--out")
            .arg(out)
            .env("PATH", venv.path_variable())
            .current_dir(workspace_root()),
        "the source distribution did not build",
    )?;
    let listing = output_of(Command::new("tar").arg("-tzf").arg(&sdist))?;
    let prefix = format!("tapis_connect-{VERSION}/");
    let missing: Vec<String> = SDIST_MUST_HOLD
        .iter()
        .map(|file| format!("{prefix}{file}"))
        .filter(|wanted| !listing.lines().any(|line| line == wanted))
        .collect();
    crate::no_problems(
        &format!("{} lacks files", sdist.display()),
        missing,
        "check tapis-py/pyproject.toml (license-files) and the tapis-py folder's links to the licence texts",
    )?;
    Ok(sdist)
}

/// Files the source distribution must hold, below its top folder: the last is the wheel's data
/// folder where a build from the sdist looks for it (beside the moved pyproject.toml).
const SDIST_MUST_HOLD: [&str; 6] = [
    "pyproject.toml",
    "PKG-INFO",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "tapis-py/Cargo.toml",
    "wheel-data/data/share/licenses/tapis-connect/LICENSE-MIT",
];

/// The tapis_connect wheels in `folder` for `platform` (`manylinux2014_x86_64`, `win_amd64`).
fn wheels(folder: &Path, platform: &str) -> Vec<PathBuf> {
    let wheels = files_under(folder, "whl").into_iter();
    wheels
        .filter(|path| {
            path.file_name().is_some_and(|name| {
                let name = name.to_string_lossy();
                name.starts_with("tapis_connect-") && name.contains(platform)
            })
        })
        .collect()
}

/// The glibc and shared-library checks of an ELF file, through `readelf`.
fn check_elf(file: &Path) -> Result<(), String> {
    let symbols = readelf(&["--dyn-syms", "--wide"], file)?;
    let highest = highest_glibc_version(&symbols);
    if let Some(version) = highest
        && version > MAX_GLIBC
    {
        return Err(format!(
            "{} needs GLIBC_{}.{}, newer than {}.{}: it would not run on older systems",
            file.display(),
            version.0,
            version.1,
            MAX_GLIBC.0,
            MAX_GLIBC.1
        ));
    }
    let dynamic = readelf(&["--dynamic", "--wide"], file)?;
    let needed = needed_libraries(&dynamic);
    let unexpected: Vec<&String> =
        needed.iter().filter(|library| !ALLOWED_LIBRARIES.contains(&library.as_str())).collect();
    if !unexpected.is_empty() {
        return Err(format!("{} needs shared libraries outside the C runtime: {unexpected:?}", file.display()));
    }
    let highest = highest.map_or_else(|| "none".to_owned(), |(major, minor)| format!("GLIBC_{major}.{minor}"));
    eprintln!("==> {}: highest glibc symbol {highest}; needs {}", file.display(), needed.join(", "));
    Ok(())
}

fn readelf(options: &[&str], file: &Path) -> Result<String, String> {
    output_of(Command::new("readelf").args(options).arg(file))
        .map_err(|error| format!("{error}\nfix: install binutils"))
}

/// The highest `GLIBC_x.y[.z]` version named in `readelf --dyn-syms` output, as (x, y).
fn highest_glibc_version(symbols: &str) -> Option<(u32, u32)> {
    symbols
        .split(|character: char| character.is_whitespace() || character == '@' || character == '(' || character == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().map_or(Some(0), |minor| minor.parse().ok())?;
            Some((major, minor))
        })
        .max()
}

/// The `NEEDED` entries of `readelf --dynamic` output.
fn needed_libraries(dynamic: &str) -> Vec<String> {
    dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| Some(line.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect()
}

/// The binary runs here (the aarch64 one under qemu) and says the workspace version.
fn check_runs(binary: &Path, target: Target) -> Result<(), String> {
    let mut command = match target {
        Target::Aarch64Musl => {
            let mut command = Command::new("qemu-aarch64-static");
            command.arg(binary);
            command
        }
        _ => Command::new(binary),
    };
    let said = output_of(command.arg("--version"))?;
    if said != format!("tapis {VERSION}") {
        return Err(format!("`{} --version` said {said:?}, expected `tapis {VERSION}`", binary.display()));
    }
    Ok(())
}

/// `tapis-<version>-<target>.tar.gz` (`.zip` for Windows) with the binary, the README and
/// the licence texts, in a folder of the same name, and its `.sha256` (in `sha256sum -c` form).
fn write_archive(binary: &Path, target: Target, out: &Path) -> Result<PathBuf, String> {
    let name = format!("tapis-{VERSION}-{}", target.triple());
    let staging = out.join(&name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|error| format!("cannot remove {}: {error}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).map_err(|error| format!("cannot create {}: {error}", staging.display()))?;
    let text_files = tarball_text_files()?;
    let mut files = vec![(binary.to_path_buf(), binary_name(target).to_owned())];
    files.extend(text_files.iter().map(|file| (workspace_root().join(file), file.clone())));
    for (source, file_name) in files {
        let target = staging.join(&file_name);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        }
        std::fs::copy(&source, &target)
            .map_err(|error| format!("cannot copy {} into {}: {error}", source.display(), staging.display()))?;
    }
    let archive_name = archive_name(target);
    let archive = out.join(&archive_name);
    if archive.exists() {
        // zip adds to an archive that exists.
        std::fs::remove_file(&archive).map_err(|error| format!("cannot remove {}: {error}", archive.display()))?;
    }
    if target == Target::Windows {
        // -D: no entries for folders; -X: no Unix owners and times beyond the usual.
        run(
            Command::new("zip").args(["-q", "-r", "-9", "-D", "-X", &archive_name, &name]).current_dir(out),
            "install zip",
        )?;
        let listing = output_of(Command::new("unzip").arg("-Z1").arg(&archive)).map_err(|error| {
            format!(
                "{error}
fix: install unzip"
            )
        })?;
        let mut found: Vec<&str> = listing.lines().collect();
        found.sort_unstable();
        let expected = archive_entries(target, &text_files);
        if found != expected {
            return Err(format!("{} holds {found:?}, expected {expected:?}", archive.display()));
        }
    } else {
        run(
            Command::new("tar")
                .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", &archive_name, &name])
                .current_dir(out),
            "install GNU tar",
        )?;
    }
    std::fs::remove_dir_all(&staging).map_err(|error| format!("cannot remove {}: {error}", staging.display()))?;
    let sum = output_of(Command::new("sha256sum").arg(&archive_name).current_dir(out))?;
    let checksum = out.join(format!("{archive_name}.sha256"));
    std::fs::write(&checksum, sum + "\n").map_err(|error| format!("cannot write {}: {error}", checksum.display()))?;
    Ok(archive)
}

/// The file name of the archive shipped for `target`: a zip for Windows, where Explorer opens
/// it, a gzipped tarball elsewhere.
fn archive_name(target: Target) -> String {
    let extension = if target == Target::Windows { "zip" } else { "tar.gz" };
    format!("tapis-{VERSION}-{}.{extension}", target.triple())
}

/// The files an archive for `target` holds, sorted: the binary and `text_files`, in a folder
/// named as the archive.
fn archive_entries(target: Target, text_files: &[String]) -> Vec<String> {
    let folder = format!("tapis-{VERSION}-{}", target.triple());
    let files = std::iter::once(binary_name(target)).chain(text_files.iter().map(String::as_str));
    let mut entries: Vec<String> = files.map(|file| format!("{folder}/{file}")).collect();
    entries.sort_unstable();
    entries
}

/// The texts the tarball carries besides the binary, as paths relative to the workspace: the
/// README, the licence texts, and every Markdown file the README links to (`docs/*.md`, ...),
/// so that no link in the README it ships is broken.
fn tarball_text_files() -> Result<Vec<String>, String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md"))
        .map_err(|error| format!("cannot read README.md: {error}"))?;
    let mut files = vec!["README.md".to_owned()];
    files.extend(LICENCE_FILES.iter().map(|file| (*file).to_owned()));
    for link in local_markdown_links(&readme) {
        if !files.contains(&link) {
            files.push(link);
        }
    }
    Ok(files)
}

/// The targets of a Markdown text's links to local `.md` files (`[text](docs/x.md)`), anchors
/// left off, in order.
fn local_markdown_links(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default().to_owned())
        .filter(|target| target.ends_with(".md") && !target.contains("://"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tarball_carries_every_file_the_readme_links_to() {
        assert_eq!(
            local_markdown_links("see [a](docs/a.md), [b](https://x.org/b.md) and [c](C.md#part) or [d](d.txt)"),
            ["docs/a.md", "C.md"]
        );
        let files = tarball_text_files().expect("README.md");
        assert!(files.iter().any(|file| file == "docs/scripting.md"), "{files:?}");
        for file in &files {
            assert!(workspace_root().join(file).is_file(), "README.md links {file}, which does not exist");
        }
    }

    #[test]
    fn each_target_ships_its_binary_in_its_archive() {
        let texts = ["README.md".to_owned(), "docs/scripting.md".to_owned()];
        let version = VERSION;
        assert_eq!(archive_name(Target::Windows), format!("tapis-{version}-x86_64-pc-windows-gnu.zip"));
        assert_eq!(archive_name(Target::Aarch64Musl), format!("tapis-{version}-aarch64-unknown-linux-musl.tar.gz"));
        let folder = format!("tapis-{version}-x86_64-pc-windows-gnu");
        assert_eq!(
            archive_entries(Target::Windows, &texts),
            [format!("{folder}/README.md"), format!("{folder}/docs/scripting.md"), format!("{folder}/tapis.exe")]
        );
        let folder = format!("tapis-{version}-x86_64-unknown-linux-musl");
        assert!(archive_entries(Target::X86_64Musl, &texts).contains(&format!("{folder}/tapis")));
    }

    fn check_glibc(readelf_output: &str, expected: Option<(u32, u32)>) {
        assert_eq!(highest_glibc_version(readelf_output), expected, "{readelf_output}");
    }

    #[test]
    fn the_highest_glibc_version_is_found() {
        check_glibc("", None);
        check_glibc("     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND memcpy@GLIBC_2.14 (3)", Some((2, 14)));
        check_glibc(
            "  2: 0 FUNC GLOBAL DEFAULT UND getrandom@GLIBC_2.25 (4)\n  3: 0 FUNC GLOBAL DEFAULT UND free@GLIBC_2.2.5 (2)\n",
            Some((2, 25)),
        );
        // Versions compare as numbers, not text: 2.17 is newer than 2.9.
        check_glibc("a@GLIBC_2.9 (2)\nb@GLIBC_2.17 (3)", Some((2, 17)));
        check_glibc("x@GLIBC_PRIVATE (5)\ny@@GLIBC_2.3 (6)", Some((2, 3)));
    }

    #[test]
    fn needed_libraries_are_read() {
        let dynamic = " 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n \
                       0x0000000000000001 (NEEDED)             Shared library: [libssl.so.3]\n \
                       0x000000000000000c (INIT)               0x1000\n";
        assert_eq!(needed_libraries(dynamic), ["libc.so.6", "libssl.so.3"]);
        assert!(!ALLOWED_LIBRARIES.contains(&"libssl.so.3") && ALLOWED_LIBRARIES.contains(&"libc.so.6"));
    }
}
