//! A long run of calls on one session, as a service or a notebook makes them, printing the
//! process's resident memory after each checkpoint: what `cargo xtask bench` reports as the
//! soak. It serves itself (a few lines of HTTP/1.1 on loopback that keep connections open
//! and answer every request 200), so nothing else runs in the process.
//!
//! ```text
//! cargo run --release -p tapis-auth --example soak -- 300 10000
//! ```
//!
//! prints, per checkpoint, `calls=300 rss_kib=6012 n_remembered=1`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt as _;

use tapis_auth::{ApiRequest, LoginOptions, NoPrompt, blocking};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let checkpoints: Vec<usize> = std::env::args().skip(1).map(|arg| arg.parse()).collect::<Result<_, _>>()?;
    let checkpoints = if checkpoints.is_empty() { vec![300, 10_000] } else { checkpoints };
    let url = serve()?;
    let folder = tempfile::tempdir()?;
    let token_file = folder.path().join("tokens.json");
    let exp = tapis_testkit::now_unix() + 4 * 3600;
    let access = tapis_testkit::jwt(&tapis_testkit::claims("jdoe", exp, &url));
    let fields = serde_json::json!({
        "access_token": access, "expires_at": tapis_testkit::isoformat_seconds(exp), "base_url": url,
    });
    std::fs::write(&token_file, fields.to_string())?;
    #[cfg(unix)]
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;

    let options = LoginOptions::new(url.parse()?, token_file);
    let mut session = blocking::connect(&options, &mut NoPrompt)?;
    let request = ApiRequest::get("/v3/jobs/list?limit=2");
    let mut n_calls = 0;
    for checkpoint in checkpoints {
        while n_calls < checkpoint {
            let answer = blocking::call(&mut session, &request)?;
            assert_eq!(answer.status, 200);
            n_calls += 1;
        }
        let n_remembered = tapis_auth::secrets::n_remembered();
        println!("calls={n_calls} rss_kib={} n_remembered={n_remembered}", rss_kib()?);
    }
    Ok(())
}

/// Serves `200 {"status": "success", ...}` to every request on keep-alive connections; the
/// base URL.
fn serve() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let body = r#"{"status": "success", "message": "ok", "result": [], "version": "1"}"#;
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" && (&stream).write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    Ok(url)
}

/// The resident set size, from `/proc/self/status`.
fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).ok_or("no VmRSS in /proc/self/status")?;
    Ok(line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse()?)
}
