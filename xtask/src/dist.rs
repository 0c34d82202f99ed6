//! `cargo xtask dist [--profile NAME]`: what people without a Rust toolchain install.
//!
//! 1. The cached Python environment (`python.rs`) supplies zig, cargo-zigbuild and maturin.
//! 2. `tapis` is built for `x86_64-unknown-linux-gnu.2.17` with zig as the linker, and
//!    checked: no `GLIBC_` symbol version above 2.17, no shared library outside the C
//!    runtime's, and it runs `--version`.
//! 3. `target/dist/tapis-<version>-x86_64-unknown-linux-gnu.tar.gz` (binary, README, licence
//!    texts, and every Markdown file the README links to) and its `.sha256` are written.
//! 4. The wheel `tapis_connect-<version>-cp39-abi3-manylinux2014_x86_64…whl` is built by
//!    maturin the same way, with that binary among its scripts (pip puts it in `bin/`), and
//!    its extension module passes the same checks.
//! 5. The wheel is installed into the cached environment and the Python tests run against it.
//!
//! The shipping build uses the `release` profile (fat LTO). `cargo xtask ci` passes
//! `--profile dist-check`, which inherits it without LTO, and writes to
//! `target/dist-check/` instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::python::Venv;
use crate::{files_under, output_of, run, target_folder, workspace_root};

/// Rust's target triple of the binaries, and the glibc version zig links them against.
const TARGET: &str = "x86_64-unknown-linux-gnu";
const GLIBC_TARGET: &str = "x86_64-unknown-linux-gnu.2.17";

/// The newest `GLIBC_x.y` symbol version a binary may require (manylinux2014).
const MAX_GLIBC: (u32, u32) = (2, 17);

/// The shared libraries a binary may need: the C runtime's, present on every glibc system.
const ALLOWED_LIBRARIES: &[&str] =
    &["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libgcc_s.so.1", "ld-linux-x86-64.so.2"];

/// The workspace version, which the binary and the wheel carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the wheel build finds the `tapis` binary: the `scripts/` of pyproject.toml's `data`
/// folder (ignored by git, and there only for the build).
const WHEEL_SCRIPTS: &str = "tapis-py/wheel-data/scripts";

/// The licence texts shipped in the tarball, at the workspace root.
const LICENCE_FILES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

pub(crate) fn run_task(args: &[String]) -> Result<(), String> {
    let profile = match args {
        [] => "release".to_owned(),
        [flag, name] if flag == "--profile" => name.clone(),
        _ => return Err("usage: cargo xtask dist [--profile NAME]".to_owned()),
    };
    let started = std::time::Instant::now();
    let venv = Venv::ensure()?;
    let out =
        workspace_root().join("target").join(if profile == "release" { "dist".to_owned() } else { profile.clone() });
    std::fs::create_dir_all(&out).map_err(|error| format!("cannot create {}: {error}", out.display()))?;

    let binary = build_binary(&venv, &profile)?;
    check_elf(&binary)?;
    check_runs(&binary)?;
    let tarball = write_tarball(&binary, &out)?;
    check_readme_install(&tarball)?;

    // The source distribution first, while the wheel's data folder holds no binary.
    let sdist = build_sdist(&venv, &out)?;
    let wheel = build_wheel(&venv, &profile, &binary, &out)?;
    check_elf(&wheel_target_folder().join(TARGET).join(&profile).join("lib_native.so"))?;
    venv.test_wheel(&wheel)?;
    eprintln!(
        "==> dist done in {:.0?}:\n  {}\n  {}.sha256\n  {}\n  {}",
        started.elapsed(),
        tarball.display(),
        tarball.display(),
        wheel.display(),
        sdist.display()
    );
    Ok(())
}

/// The cargo target folder of the wheel's build. It is not the binary's: maturin links through
/// zig wrappers of its own and resolves features for tapis-py alone, so in one folder each
/// build would invalidate the other's dependencies and a warm run would rebuild them all.
fn wheel_target_folder() -> PathBuf {
    target_folder().join("python/cargo")
}

fn build_binary(venv: &Venv, profile: &str) -> Result<PathBuf, String> {
    eprintln!("==> cargo zigbuild --profile {profile} -p tapis-cli --target {GLIBC_TARGET}");
    run(
        Command::new(venv.bin("cargo-zigbuild"))
            .args(["zigbuild", "--locked", "--profile", profile, "-p", "tapis-cli", "--bin", "tapis", "--target"])
            .arg(GLIBC_TARGET)
            .env("PATH", venv.path_variable())
            .current_dir(workspace_root()),
        "the cross build failed; if a C dependency does not build with zig, see README's Install section",
    )?;
    Ok(target_folder().join(TARGET).join(profile).join("tapis"))
}

fn build_wheel(venv: &Venv, profile: &str, binary: &Path, out: &Path) -> Result<PathBuf, String> {
    // pyproject.toml's `data` folder: maturin copies its scripts/ into the wheel's scripts.
    // The binary is there only for this build, so that no source distribution carries it.
    let scripts = workspace_root().join(WHEEL_SCRIPTS);
    std::fs::create_dir_all(&scripts).map_err(|error| format!("cannot create {}: {error}", scripts.display()))?;
    let script = scripts.join("tapis");
    std::fs::copy(binary, &script)
        .map_err(|error| format!("cannot copy {} into {}: {error}", binary.display(), scripts.display()))?;
    for old in wheels(out) {
        std::fs::remove_file(&old).map_err(|error| format!("cannot remove {}: {error}", old.display()))?;
    }
    eprintln!("==> maturin build --profile {profile} --zig --compatibility manylinux2014");
    let built = run(
        Command::new(venv.bin("maturin"))
            .args(["build", "--locked", "--profile", profile, "--zig", "--compatibility", "manylinux2014", "--target"])
            .arg(TARGET)
            .arg("--manifest-path")
            .arg(workspace_root().join("tapis-py/Cargo.toml"))
            .arg("--out")
            .arg(out)
            .env("PATH", venv.path_variable())
            .env("CARGO_TARGET_DIR", wheel_target_folder())
            .current_dir(workspace_root()),
        "the wheel build failed",
    );
    std::fs::remove_file(&script).map_err(|error| format!("cannot remove {}: {error}", script.display()))?;
    built?;
    match wheels(out).as_slice() {
        [wheel] => Ok(wheel.clone()),
        found => Err(format!("expected one tapis_connect wheel in {}, found {found:?}", out.display())),
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

/// The tapis_connect wheels in `folder`.
fn wheels(folder: &Path) -> Vec<PathBuf> {
    let wheels = files_under(folder, "whl").into_iter();
    wheels
        .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("tapis_connect-")))
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

/// The binary runs here and says the workspace version.
fn check_runs(binary: &Path) -> Result<(), String> {
    let said = output_of(Command::new(binary).arg("--version"))?;
    if said != format!("tapis {VERSION}") {
        return Err(format!("`{} --version` said {said:?}, expected `tapis {VERSION}`", binary.display()));
    }
    Ok(())
}

/// `tapis-<version>-<target>.tar.gz` with the binary, the README and the licence texts, in a
/// folder of the same name, and its `.sha256` (in `sha256sum -c` form).
fn write_tarball(binary: &Path, out: &Path) -> Result<PathBuf, String> {
    let name = format!("tapis-{VERSION}-{TARGET}");
    let staging = out.join(&name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|error| format!("cannot remove {}: {error}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).map_err(|error| format!("cannot create {}: {error}", staging.display()))?;
    let mut files = vec![(binary.to_path_buf(), "tapis".to_owned())];
    files.extend(tarball_text_files()?.into_iter().map(|file| (workspace_root().join(&file), file)));
    for (source, file_name) in files {
        let target = staging.join(&file_name);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        }
        std::fs::copy(&source, &target)
            .map_err(|error| format!("cannot copy {} into {}: {error}", source.display(), staging.display()))?;
    }
    let tarball_name = format!("{name}.tar.gz");
    run(
        Command::new("tar")
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", &tarball_name, &name])
            .current_dir(out),
        "install GNU tar",
    )?;
    std::fs::remove_dir_all(&staging).map_err(|error| format!("cannot remove {}: {error}", staging.display()))?;
    let sum = output_of(Command::new("sha256sum").arg(&tarball_name).current_dir(out))?;
    let checksum = out.join(format!("{tarball_name}.sha256"));
    std::fs::write(&checksum, sum + "\n").map_err(|error| format!("cannot write {}: {error}", checksum.display()))?;
    Ok(out.join(tarball_name))
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
