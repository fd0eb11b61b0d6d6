//! Registries that never stop sending: every body the scan reads from a registry is capped while
//! it arrives, so a hostile registry costs bounded memory and ends in a finding that names the
//! image. Each registry is a thread on loopback; the scan is the real binary, its peak memory
//! measured by the kernel, and it is stopped long before an uncapped read could hurt the machine.

use serde_json::{Value, json};
use sha2::Digest;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The peak resident memory a scan of one hostile registry may reach: the process, its rules
/// and one capped body, with room to spare, and far below what an uncapped read reaches.
const PEAK_LIMIT_KIB: i64 = 128 * 1024;

/// Past this the scan is stopped, as it is reading without a cap.
const STOP_AT_KIB: i64 = 1024 * 1024;

/// Past this the scan is stopped, as it is still reading.
const DEADLINE: Duration = Duration::from_secs(180);

/// The token the token service hands out.
const TOKEN: &str = "a-pull-token";

/// The limit an error must name: the client's cap on manifests and referrers indexes.
const MANIFEST_LIMIT: &str = "over the 4194304-byte limit";

#[derive(Clone, Copy)]
enum Hostility {
    /// Every manifest is a chunked body that never ends.
    EndlessManifest,
    /// Every manifest declares a terabyte, and keeps sending.
    DeclaredTerabyte,
    /// Manifests are honest, but the referrers list is a body without a length that never ends.
    EndlessReferrers,
    /// Manifests need a bearer token from the registry's token service, which answers with
    /// one, or (`endless`) with a body that never ends.
    TokenRequired { endless: bool },
}

/// A small image manifest, served honestly where the hostility lies elsewhere.
fn honest_manifest() -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{}", "0".repeat(64)), "size": 2},
        "layers": []
    })
    .to_string()
}

/// Start a registry on loopback that behaves as `hostility` says; its `host:port`.
fn hostile_registry(hostility: Hostility) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let own = address.clone();
    std::thread::spawn(move || {
        let address = own;
        for stream in listener.incoming().flatten() {
            let address = address.clone();
            std::thread::spawn(move || answer(stream, hostility, &address));
        }
    });
    address
}

fn answer(mut stream: TcpStream, hostility: Hostility, address: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let token = format!("authorization: bearer {TOKEN}");
    let authorized = head
        .to_ascii_lowercase()
        .contains(&token.to_ascii_lowercase());
    let manifest_type = "Content-Type: application/vnd.oci.image.manifest.v1+json";
    let small = |status: &str, content_type: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\n{content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let response = match hostility {
        _ if path == "/v2/" => small("200 OK", "Content-Type: application/json", "{}"),
        Hostility::EndlessManifest if path.contains("/manifests/") => {
            let head =
                format!("HTTP/1.1 200 OK\r\n{manifest_type}\r\nTransfer-Encoding: chunked\r\n\r\n");
            return send_forever(stream, &head, true);
        }
        Hostility::DeclaredTerabyte if path.contains("/manifests/") => {
            let head = format!(
                "HTTP/1.1 200 OK\r\n{manifest_type}\r\nContent-Length: {}\r\n\r\n",
                1u64 << 40
            );
            return send_forever(stream, &head, false);
        }
        Hostility::EndlessReferrers if path.contains("/referrers/") => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nConnection: close\r\n\r\n";
            return send_forever(stream, head, false);
        }
        Hostility::EndlessReferrers if path.contains("/manifests/") && !path.ends_with(".sig") => {
            small("200 OK", manifest_type, &honest_manifest())
        }
        Hostility::TokenRequired { endless: true } if path.starts_with("/token") => {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            return send_forever(stream, head, false);
        }
        Hostility::TokenRequired { .. } if path.starts_with("/token") => small(
            "200 OK",
            "Content-Type: application/json",
            &json!({ "token": TOKEN }).to_string(),
        ),
        Hostility::TokenRequired { .. } if !authorized => small(
            "401 Unauthorized",
            &format!(
                "Content-Type: application/json\r\nWWW-Authenticate: Bearer realm=\"http://{address}/token\",service=\"{address}\""
            ),
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"a token, please"}]}"#,
        ),
        Hostility::TokenRequired { .. }
            if path.contains("/manifests/") && !path.ends_with(".sig") =>
        {
            small("200 OK", manifest_type, &honest_manifest())
        }
        _ => small(
            "404 Not Found",
            "Content-Type: application/json",
            r#"{"errors":[{"code":"NOT_FOUND","message":"none here"}]}"#,
        ),
    };
    let _ = stream.write_all(response.as_bytes());
}

/// Write `head`, then a JSON-looking body for as long as the peer reads it.
fn send_forever(mut stream: TcpStream, head: &str, chunked: bool) {
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let block = "{\"mediaType\":\"x\"},".repeat(4096);
    let piece = if chunked {
        format!("{:x}\r\n{block}\r\n", block.len())
    } else {
        block
    };
    while stream.write_all(piece.as_bytes()).is_ok() {}
}

/// A finished scan: its exit status, peak resident memory and JSON report.
struct Scan {
    code: Option<i32>,
    peak_kib: i64,
    stopped: Option<String>,
    report: Value,
    stderr: String,
}

impl Scan {
    fn findings(&self, server: &str) -> Vec<(String, String)> {
        self.report["findings"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|f| f["server"] == server)
                    .map(|f| {
                        (
                            f["rule_id"].as_str().unwrap_or("").to_string(),
                            f["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-audit-bounds-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Scan a config of one `docker run` server of `image`, watching the scan's memory: it is
/// stopped when it passes `STOP_AT_KIB` or `DEADLINE`, and its peak is the kernel's count.
fn scan_watched(name: &str, image: &str) -> Scan {
    let dir = temp_dir(name);
    let config = dir.join(".mcp.json");
    let server = json!({"command": "docker", "args": ["run", "-i", "--rm", image]});
    std::fs::write(&config, json!({"mcpServers": {name: server}}).to_string()).unwrap();
    let docker_config = dir.join("no-docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    #[expect(
        clippy::zombie_processes,
        reason = "reaped by wait4, which also reports the peak memory"
    )]
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-audit"))
        .arg("scan")
        .arg(&config)
        .args(["--format", "json", "--timeout", "20"])
        .env("DOCKER_CONFIG", &docker_config)
        .env_remove("COSIGN_REPOSITORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let mut stopped = None;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is this test's own child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert_eq!(reaped, 0, "wait4 failed");
        let resident = resident_kib(pid);
        if stopped.is_none() && (resident > STOP_AT_KIB || started.elapsed() > DEADLINE) {
            stopped = Some(format!(
                "stopped at {resident} KiB resident after {:?}",
                started.elapsed()
            ));
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    Scan {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        peak_kib: usage.ru_maxrss,
        stopped,
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The resident memory of a running process, from `/proc`.
fn resident_kib(pid: libc::pid_t) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The scan ended on its own, within the memory bound, with a finding `rule` that names the
/// image and the limit.
fn assert_bounded(scan: &Scan, server: &str, image: &str, rule: &str, limit: &str) {
    assert_eq!(
        scan.stopped, None,
        "the scan kept reading (peak {} KiB): {}",
        scan.peak_kib, scan.stderr
    );
    assert!(
        scan.peak_kib < PEAK_LIMIT_KIB,
        "peak {} KiB, over {PEAK_LIMIT_KIB} KiB",
        scan.peak_kib
    );
    assert_eq!(scan.code, Some(1), "{}\n{}", scan.stderr, scan.report);
    let findings = scan.findings(server);
    assert!(
        findings
            .iter()
            .any(|(id, message)| id == rule && message.contains(image) && message.contains(limit)),
        "no {rule} naming `{image}` and the limit: {findings:?}"
    );
}

#[test]
fn a_manifest_that_never_ends_is_refused_at_the_limit() {
    let registry = hostile_registry(Hostility::EndlessManifest);
    let image = format!("{registry}/hostile/endless:1");
    let scan = scan_watched("endless", &image);
    assert_bounded(&scan, "endless", &image, "MCP404", MANIFEST_LIMIT);
}

#[test]
fn a_manifest_that_declares_a_terabyte_is_refused_before_it_is_read() {
    let registry = hostile_registry(Hostility::DeclaredTerabyte);
    let image = format!("{registry}/hostile/huge:1");
    let scan = scan_watched("huge", &image);
    assert_bounded(&scan, "huge", &image, "MCP404", MANIFEST_LIMIT);
}

#[test]
fn a_referrers_list_that_never_ends_is_refused_at_the_limit() {
    let registry = hostile_registry(Hostility::EndlessReferrers);
    let image = format!("{registry}/hostile/referred:1");
    let scan = scan_watched("referred", &image);
    assert_bounded(&scan, "referred", &image, "MCP414", MANIFEST_LIMIT);
}

#[test]
fn a_token_service_that_never_ends_is_refused_at_its_limit() {
    let registry = hostile_registry(Hostility::TokenRequired { endless: true });
    let image = format!("{registry}/hostile/token:1");
    let scan = scan_watched("token", &image);
    assert_bounded(
        &scan,
        "token",
        &image,
        "MCP404",
        "over the 65536-byte limit",
    );
}

#[test]
fn a_token_from_the_registrys_token_service_is_used() {
    let registry = hostile_registry(Hostility::TokenRequired { endless: false });
    let image = format!("{registry}/hostile/token:1");
    let scan = scan_watched("token", &image);
    assert_eq!(scan.stopped, None, "{}", scan.stderr);
    let server = scan.report["servers"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == "token"))
        .unwrap_or_else(|| panic!("no server: {}", scan.report));
    let digest = format!(
        "sha256:{}",
        sha2::Sha256::digest(honest_manifest().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    assert_eq!(server["digest"], digest.as_str(), "{}", scan.report);
}
