//! The registry stage end to end, with real parts: images built `FROM scratch` with Docker or
//! pushed through the registry API to the loopback registries that `scripts/test-env.sh`
//! starts (open on 127.0.0.1:5000, basic auth on 127.0.0.1:5001), signed in the test with keys
//! generated in the test, and scanned by the real binary. Every repository is `supply-test/…`.

use base64::Engine;
use oci_client::Reference;
use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{OciImageIndex, OciImageManifest, OciManifest};
use oci_client::secrets::RegistryAuth;
use serde_json::{Value, json};
use sigstore::crypto::SigningScheme;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

mod sandbox;
mod signing;

use sandbox::docker_ok;
use signing::*;

/// A unique repository, so tests running at once (and colleagues' tests) never share one.
fn repository(registry: &str, name: &str) -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{registry}/supply-test/{name}-{}-{n}-{nanos}",
        std::process::id()
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-audit-supply-{name}-{}",
        repository("x", "d").rsplit('/').next().unwrap_or("d")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Push a one-layer image for `os/arch` through the registry API; its digest.
fn push_image(reference: &str, content: &str, arch: &str) -> String {
    let parsed: Reference = reference.parse().unwrap();
    let layer = ImageLayer::oci_v1(content.as_bytes().to_vec(), None);
    let config = json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(content.as_bytes())]},
        "config": {"Entrypoint": ["/server"]}
    });
    let config = Config::oci_v1(config.to_string().into_bytes(), None);
    let manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    runtime()
        .block_on(client().push(
            &parsed,
            &[layer],
            config,
            &auth_for(reference),
            Some(manifest),
        ))
        .unwrap();
    manifest_digest(reference)
}

/// Build an image `FROM scratch` with Docker, holding a file copied from this machine, and
/// push it with `docker push`; its digest.
fn docker_build_and_push(reference: &str, content: &str) -> String {
    let dir = temp_dir("build");
    std::fs::write(dir.join("server.txt"), content).unwrap();
    std::fs::copy("/etc/hostname", dir.join("hostname")).unwrap_or_default();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY server.txt /server.txt\n",
    )
    .unwrap();
    docker_ok(&["build", "-q", "-t", reference, dir.to_str().unwrap()]);
    docker_ok(&["push", reference]);
    docker_ok(&["image", "rm", reference]);
    manifest_digest(reference)
}

struct Scan {
    code: i32,
    report: Value,
    stderr: String,
}

impl Scan {
    fn server(&self, name: &str) -> &Value {
        self.report["servers"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .unwrap_or_else(|| panic!("no server {name}: {}", self.report))
    }

    /// Whether the run failed the default gate on the capture alone: these test images hold no
    /// MCP server, so the capture fails (high), and nothing else reaches high.
    fn fails_only_on_the_capture(&self) -> bool {
        let failing: Vec<&Value> = self.report["findings"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|f| f["severity"] == "high" || f["severity"] == "critical")
                    .collect()
            })
            .unwrap_or_default();
        self.code == 1 && !failing.is_empty() && failing.iter().all(|f| f["category"] == "capture")
    }

    /// (rule, severity) of the supply-chain findings of a server, beyond the config lint's.
    fn registry_findings(&self, server: &str) -> Vec<(String, String)> {
        self.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["server"] == server
                    && f["rule_id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("MCP4"))
            })
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// Write a config of `docker run` servers into `dir` and scan it, with `DOCKER_CONFIG` pointing
/// at `docker_config` (an empty directory unless a test gives credentials).
fn scan(dir: &Path, servers: &[(&str, &str)], args: &[&str], docker_config: Option<&Path>) -> Scan {
    let output = run_scan(dir, servers, args, docker_config, "json");
    Scan {
        code: output.0,
        report: serde_json::from_str(&output.1).unwrap_or(Value::Null),
        stderr: output.2,
    }
}

/// The binary's exit code, standard output and standard error for a scan in `format`.
fn run_scan(
    dir: &Path,
    servers: &[(&str, &str)],
    args: &[&str],
    docker_config: Option<&Path>,
    format: &str,
) -> (i32, String, String) {
    run_scan_with_path(dir, servers, args, docker_config, format, None)
}

/// As `run_scan`, with `extra_path` searched first for programs (credential helpers).
fn run_scan_with_path(
    dir: &Path,
    servers: &[(&str, &str)],
    args: &[&str],
    docker_config: Option<&Path>,
    format: &str,
    extra_path: Option<&Path>,
) -> (i32, String, String) {
    let entries: serde_json::Map<String, Value> = servers
        .iter()
        .map(|(name, image)| {
            // `--flag value image` puts `docker run` options before the image.
            let mut args = vec!["run", "-i", "--rm"];
            args.extend(image.split(' '));
            (name.to_string(), json!({"command": "docker", "args": args}))
        })
        .collect();
    let config = dir.join(".mcp.json");
    std::fs::write(&config, json!({"mcpServers": entries}).to_string()).unwrap();
    let empty = dir.join("no-docker-config");
    std::fs::create_dir_all(&empty).unwrap();
    let path = match extra_path {
        Some(extra) => format!(
            "{}:{}",
            extra.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-audit"))
        .env("PATH", path)
        .arg("scan")
        .arg(&config)
        .args(args)
        .args(["--format", format])
        .env("DOCKER_CONFIG", docker_config.unwrap_or(&empty))
        .env_remove("COSIGN_REPOSITORY")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn an_image_built_with_docker_and_signed_verifies_with_its_key_and_not_with_another() {
    let dir = temp_dir("right-key");
    let repo = repository(OPEN, "hello");
    let digest = docker_build_and_push(&format!("{repo}:1.0"), "hello, right key");
    let right = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "right");
    let wrong = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "wrong");
    let (payload, signature) = sign(&right, &repo, &digest);
    push_signature(&repo, &digest, payload, &signature);
    let image = format!("{repo}:1.0");

    let run = scan(
        &dir,
        &[("hello", &image)],
        &["--key", right.public_pem.to_str().unwrap()],
        None,
    );
    assert!(
        run.fails_only_on_the_capture(),
        "{}\n{}",
        run.stderr,
        run.report
    );
    let server = run.server("hello");
    assert_eq!(server["image"], image.as_str());
    assert_eq!(server["digest"], digest.as_str());
    assert_eq!(server["signature"]["verified"], true);
    assert_eq!(server["signature"]["kind"], "key");
    assert!(
        server["signature"]["signer"]
            .as_str()
            .unwrap()
            .ends_with("right.pub")
    );
    assert_eq!(run.registry_findings("hello"), Vec::new());

    // Text, Markdown and SARIF show the same.
    let key_arg = ["--key", right.public_pem.to_str().unwrap()];
    let (_, text, _) = run_scan(&dir, &[("hello", &image)], &key_arg, None, "text");
    assert!(
        text.contains(&format!(
            "Images\n  hello  {image}\n    digest:    {digest}\n"
        )),
        "{text}"
    );
    assert!(text.contains("    signature: verified (key: "), "{text}");
    let (_, markdown, _) = run_scan(&dir, &[("hello", &image)], &key_arg, None, "markdown");
    assert!(
        markdown.contains(&format!(
            "| hello | `{image}` | `{digest}` |  | verified (key: "
        )),
        "{markdown}"
    );
    let (_, sarif, _) = run_scan(&dir, &[("hello", &image)], &key_arg, None, "sarif");
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let images = &sarif["runs"][0]["properties"]["mcpAudit/images"];
    assert_eq!(images[0]["digest"], digest.as_str());
    assert_eq!(images[0]["signature"]["verified"], true);

    let run = scan(
        &dir,
        &[("hello", &image)],
        &["--key", wrong.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.registry_findings("hello"), pairs(&[("MCP412", "high")]));
    assert_eq!(run.server("hello")["signature"]["verified"], false);
}

#[test]
fn p384_and_ed25519_keys_verify_too() {
    let dir = temp_dir("schemes");
    for (scheme, name) in [
        (SigningScheme::ECDSA_P384_SHA384_ASN1, "p384"),
        (SigningScheme::ED25519, "ed25519"),
    ] {
        let repo = repository(OPEN, name);
        let digest = push_image(&format!("{repo}:1"), name, "amd64");
        let signer = key(scheme, &dir, name);
        let (payload, signature) = sign(&signer, &repo, &digest);
        push_signature(&repo, &digest, payload, &signature);
        let run = scan(
            &dir,
            &[("s", &format!("{repo}:1"))],
            &["--key", signer.public_pem.to_str().unwrap()],
            None,
        );
        assert_eq!(
            run.server("s")["signature"]["verified"],
            true,
            "{name}: {}",
            run.report
        );
        assert!(run.fails_only_on_the_capture(), "{name}: {}", run.report);
    }
}

#[test]
fn no_signature_is_information_without_a_policy_and_high_with_a_key() {
    let dir = temp_dir("unsigned");
    let repo = repository(OPEN, "unsigned");
    let image = format!("{repo}:1");
    push_image(&image, "nobody signed me", "amd64");
    let run = scan(&dir, &[("u", &image)], &[], None);
    assert_eq!(run.registry_findings("u"), pairs(&[("MCP410", "info")]));
    assert_eq!(run.server("u")["signature"]["verified"], false);
    assert_eq!(run.server("u")["signature"]["error"], "no signature found");
    assert!(run.fails_only_on_the_capture(), "{}", run.report);

    let some = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "some");
    let run = scan(
        &dir,
        &[("u", &image)],
        &["--key", some.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(run.registry_findings("u"), pairs(&[("MCP411", "high")]));
    assert_eq!(run.code, 1);
}

#[test]
fn a_tampered_payload_is_critical() {
    let dir = temp_dir("tampered");
    let repo = repository(OPEN, "tampered");
    let digest = push_image(&format!("{repo}:1"), "original", "amd64");
    let other = push_image(&format!("{repo}:evil"), "malicious", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "k");
    let (payload, signature) = sign(&signer, &repo, &other);
    // The payload is edited to claim this image; the signature stays the one of the original.
    let edited = String::from_utf8(payload).unwrap().replace(&other, &digest);
    push_signature(&repo, &digest, edited.into_bytes(), &signature);
    let run = scan(
        &dir,
        &[("t", &format!("{repo}:1"))],
        &["--key", signer.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.registry_findings("t"),
        pairs(&[("MCP412", "high")]),
        "{}",
        run.report
    );

    // Edited the other way round, the payload names another image: invalid, whatever the key.
    let repo = repository(OPEN, "tampered2");
    let digest = push_image(&format!("{repo}:1"), "original 2", "amd64");
    let (payload, signature) = sign(&signer, &repo, &digest);
    let forged = String::from_utf8(payload).unwrap().replace(&digest, &other);
    push_signature(&repo, &digest, forged.into_bytes(), &signature);
    let run = scan(
        &dir,
        &[("t", &format!("{repo}:1"))],
        &["--key", signer.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.registry_findings("t"),
        pairs(&[("MCP413", "critical")]),
        "{}",
        run.report
    );
    assert_eq!(run.code, 1);
    let run = scan(&dir, &[("t", &format!("{repo}:1"))], &[], None);
    assert_eq!(
        run.registry_findings("t"),
        pairs(&[("MCP413", "critical")]),
        "{}",
        run.report
    );
}

#[test]
fn a_valid_signature_of_another_digest_is_critical() {
    let dir = temp_dir("other-digest");
    let repo = repository(OPEN, "copied");
    let digest = push_image(&format!("{repo}:1"), "this image", "amd64");
    let other = push_image(&format!("{repo}:2"), "another image", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "k");
    let (payload, signature) = sign(&signer, &repo, &other);
    // The other image's real signature, copied under this image's `.sig` tag.
    push_signature(&repo, &digest, payload, &signature);
    let run = scan(
        &dir,
        &[("c", &format!("{repo}:1"))],
        &["--key", signer.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.registry_findings("c"),
        pairs(&[("MCP413", "critical")]),
        "{}",
        run.report
    );
    assert!(
        run.server("c")["signature"]["error"]
            .as_str()
            .unwrap()
            .contains(&other)
    );
}

#[test]
fn a_tag_re_pointed_after_signing_is_unsigned_and_the_signed_digest_still_verifies() {
    let dir = temp_dir("repointed");
    let repo = repository(OPEN, "moved");
    let image = format!("{repo}:1.0");
    let signed = push_image(&image, "reviewed release", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "k");
    let (payload, signature) = sign(&signer, &repo, &signed);
    push_signature(&repo, &signed, payload, &signature);
    let moved = push_image(&image, "pushed later under the same tag", "amd64");
    assert_ne!(signed, moved);
    let key_arg = ["--key", signer.public_pem.to_str().unwrap()];

    let run = scan(&dir, &[("m", &image)], &key_arg, None);
    assert_eq!(run.server("m")["digest"], moved.as_str());
    assert_eq!(run.registry_findings("m"), pairs(&[("MCP411", "high")]));

    let pinned = format!("{image}@{signed}");
    let run = scan(&dir, &[("m", &pinned)], &key_arg, None);
    assert_eq!(run.server("m")["digest"], signed.as_str());
    assert_eq!(
        run.server("m")["signature"]["verified"],
        true,
        "{}",
        run.report
    );
    assert_eq!(run.registry_findings("m"), Vec::new());
}

#[test]
fn signatures_are_found_in_a_separate_signature_repository() {
    let dir = temp_dir("sig-repo");
    let repo = repository(OPEN, "catalogue");
    let store = repository(OPEN, "signatures");
    let digest = push_image(&format!("{repo}:1"), "catalogue image", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "k");
    let (payload, signature) = sign(&signer, &repo, &digest);
    push_signature(&store, &digest, payload, &signature);
    let key_arg = ["--key", signer.public_pem.to_str().unwrap()];
    let run = scan(&dir, &[("c", &format!("{repo}:1"))], &key_arg, None);
    assert_eq!(run.registry_findings("c"), pairs(&[("MCP411", "high")]));
    let args = [key_arg[0], key_arg[1], "--signature-repository", &store];
    let run = scan(&dir, &[("c", &format!("{repo}:1"))], &args, None);
    assert_eq!(
        run.server("c")["signature"]["verified"],
        true,
        "{}",
        run.report
    );
}

#[test]
fn credentials_come_from_the_docker_config() {
    let dir = temp_dir("auth");
    let repo = repository(AUTH, "private");
    let image = format!("{repo}:1");
    let digest = push_image(&image, "behind basic auth", "amd64");

    let run = scan(&dir, &[("p", &image)], &[], None);
    assert_eq!(
        run.registry_findings("p"),
        pairs(&[("MCP403", "high")]),
        "{}",
        run.report
    );

    let docker = dir.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("mcp:audit");
    std::fs::write(
        docker.join("config.json"),
        json!({"auths": {AUTH: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let run = scan(&dir, &[("p", &image)], &[], Some(&docker));
    assert_eq!(run.server("p")["digest"], digest.as_str(), "{}", run.report);
    assert_eq!(run.registry_findings("p"), pairs(&[("MCP410", "info")]));

    // A credential helper named by `credHelpers` is run for the registry.
    let helpers = dir.join("bin");
    std::fs::create_dir_all(&helpers).unwrap();
    let helper = helpers.join("docker-credential-supplytest");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread server\n[ \"$server\" = \"{AUTH}\" ] || exit 1\necho '{{\"Username\":\"mcp\",\"Secret\":\"audit\"}}'\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        docker.join("config.json"),
        json!({"credHelpers": {AUTH: "supplytest"}}).to_string(),
    )
    .unwrap();
    let (_, stdout, stderr) = run_scan_with_path(
        &dir,
        &[("p", &image)],
        &[],
        Some(&docker),
        "json",
        Some(&helpers),
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    let server = report["servers"]
        .as_array()
        .and_then(|s| s.first())
        .cloned()
        .unwrap_or_default();
    assert_eq!(server["digest"], digest.as_str(), "{stderr}\n{report}");
}

#[test]
fn an_index_resolves_to_the_platform_that_runs() {
    let dir = temp_dir("index");
    let repo = repository(OPEN, "multi");
    let amd64 = push_image(&format!("{repo}:amd64"), "built for amd64", "amd64");
    let arm64 = push_image(&format!("{repo}:arm64"), "built for arm64", "arm64");
    let entry = |digest: &str, arch: &str| {
        let size = {
            let parsed: Reference = format!("{repo}@{digest}").parse().unwrap();
            let (bytes, _) = runtime()
                .block_on(client().pull_manifest_raw(
                    &parsed,
                    &RegistryAuth::Anonymous,
                    &["application/vnd.oci.image.manifest.v1+json"],
                ))
                .unwrap();
            bytes.len()
        };
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
               "platform": {"os": "linux", "architecture": arch}})
    };
    let index: OciImageIndex = serde_json::from_value(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&arm64, "arm64"), entry(&amd64, "amd64")]
    }))
    .unwrap();
    let image = format!("{repo}:1");
    let parsed: Reference = image.parse().unwrap();
    runtime()
        .block_on(client().push_manifest(&parsed, &OciManifest::ImageIndex(index)))
        .unwrap();
    let index_digest = manifest_digest(&image);

    let run = scan(&dir, &[("m", &image)], &[], None);
    assert_eq!(run.server("m")["digest"], amd64.as_str(), "{}", run.report);
    assert_eq!(run.server("m")["platform"], "linux/amd64");
    let run = scan(&dir, &[("m", &image)], &["--platform", "linux/arm64"], None);
    assert_eq!(run.server("m")["digest"], arm64.as_str());
    assert_eq!(run.server("m")["platform"], "linux/arm64");
    let run = scan(&dir, &[("m", &image)], &["--platform", "linux/s390x"], None);
    assert_eq!(run.registry_findings("m"), pairs(&[("MCP404", "high")]));
    // The server's own `docker run --platform` decides what runs.
    let own = format!("--platform linux/arm64 {image}");
    let run = scan(&dir, &[("m", &own)], &["--platform", "linux/s390x"], None);
    assert_eq!(run.server("m")["digest"], arm64.as_str(), "{}", run.report);

    // A signature of the index covers every platform it lists.
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "k");
    let (payload, signature) = sign(&signer, &repo, &index_digest);
    push_signature(&repo, &index_digest, payload, &signature);
    let run = scan(
        &dir,
        &[("m", &image)],
        &["--key", signer.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.server("m")["signature"]["verified"],
        true,
        "{}",
        run.report
    );
}

#[test]
fn a_policy_file_beside_the_config_requires_signatures_per_image() {
    let dir = temp_dir("policy");
    let signed_repo = repository(OPEN, "signed");
    let plain_repo = repository(OPEN, "plain");
    let digest = push_image(&format!("{signed_repo}:1"), "signed by policy key", "amd64");
    push_image(&format!("{plain_repo}:1"), "not signed", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "release");
    let (payload, signature) = sign(&signer, &signed_repo, &digest);
    push_signature(&signed_repo, &digest, payload, &signature);
    std::fs::write(
        dir.join("mcp-audit.toml"),
        format!(
            "[images]\nrequire_signature = false\n\n[[images.rule]]\nimage = \"{OPEN}/supply-test/*\"\nkeys = [\"release.pub\"]\n\n[[images.rule]]\nserver = \"legacy\"\nrequire_signature = false\n"
        ),
    )
    .unwrap();
    let run = scan(
        &dir,
        &[
            ("good", &format!("{signed_repo}:1")),
            ("bad", &format!("{plain_repo}:1")),
        ],
        &[],
        None,
    );
    assert!(run.stderr.contains("mcp-audit.toml"), "{}", run.stderr);
    assert_eq!(
        run.server("good")["signature"]["verified"],
        true,
        "{}",
        run.report
    );
    assert_eq!(run.registry_findings("bad"), pairs(&[("MCP411", "high")]));
}

/// Online, the perimeter's `digests` and signer are held to what the registry resolved and
/// verified, and each policy finding names the rule's line.
#[test]
fn the_perimeter_holds_images_to_the_digest_and_signer_the_registry_shows() {
    let dir = temp_dir("perimeter");
    let repo = repository(OPEN, "perimeter");
    let admitted = push_image(&format!("{repo}:1"), "the reviewed release", "amd64");
    push_image(&format!("{repo}:2"), "an unreviewed release", "amd64");
    let signer = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "release");
    let (payload, signature) = sign(&signer, &repo, &admitted);
    push_signature(&repo, &admitted, payload, &signature);
    std::fs::write(
        dir.join("mcp-audit.toml"),
        format!(
            "[perimeter]\n\n[[perimeter.image]]\nimage = \"{OPEN}/supply-test/*\"\ndigests = [\"{admitted}\"]\nkeys = [\"release.pub\"]\n"
        ),
    )
    .unwrap();
    let run = scan(
        &dir,
        &[
            ("reviewed", &format!("{repo}:1")),
            ("moved", &format!("{repo}:2")),
        ],
        &[],
        None,
    );
    let policy = |server: &str| -> Vec<(String, String)> {
        run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["server"] == server && f["category"] == "policy")
            .map(|f| {
                let message = f["message"].as_str().unwrap();
                assert!(message.contains("mcp-audit.toml:3 "), "{message}");
                let entry = &run.server(server)["location"];
                assert_eq!(f["location"]["line"], entry["line"], "{f}");
                assert_eq!(f["location"]["path"], entry["path"], "{f}");
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        policy("reviewed"),
        Vec::<(String, String)>::new(),
        "{}",
        run.report
    );
    assert_eq!(
        policy("moved"),
        pairs(&[("MCP706", "high"), ("MCP707", "high")]),
        "{}",
        run.report
    );
    // The perimeter's signer is the registry stage's requirement too.
    assert_eq!(run.server("reviewed")["signature"]["verified"], true);
    assert_eq!(run.registry_findings("moved"), pairs(&[("MCP411", "high")]));
}

/// A registry on loopback that answers every manifest request with the same bytes, and claims
/// whatever digest was asked for. It serves a bounded number of requests, then stops.
fn lying_registry() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let body = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"{}"), "size": 2},
            "layers": []})
        .to_string();
        for stream in listener.incoming().take(40) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let path = line.split(' ').nth(1).unwrap_or("/");
            let asked = path.rsplit('/').next().unwrap_or("");
            let (content, digest) = if path.contains("/manifests/") {
                let claimed = if asked.starts_with("sha256:") {
                    asked.to_string()
                } else {
                    sha256(b"something else")
                };
                (body.clone(), claimed)
            } else {
                ("{}".to_string(), String::new())
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: {digest}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{content}",
                content.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    address
}

#[test]
fn a_registry_that_lies_about_a_digest_is_critical_and_an_unreachable_one_does_not_stop_the_others()
{
    let dir = temp_dir("liar");
    let liar = lying_registry();
    let pinned = format!(
        "{liar}/supply-test/liar@{}",
        sha256(b"the image that was reviewed")
    );
    let tagged = format!("{liar}/supply-test/liar:1");
    let good_repo = repository(OPEN, "fine");
    let good = push_image(&format!("{good_repo}:1"), "fine", "amd64");
    let run = scan(
        &dir,
        &[
            ("pinned", &pinned),
            ("tagged", &tagged),
            ("gone", "127.0.0.1:9/supply-test/nothing:1"),
            ("fine", &format!("{good_repo}:1")),
        ],
        &[],
        None,
    );
    assert_eq!(
        run.registry_findings("pinned"),
        pairs(&[("MCP401", "critical")]),
        "{}",
        run.report
    );
    assert_eq!(
        run.registry_findings("tagged"),
        pairs(&[("MCP401", "critical")])
    );
    assert_eq!(run.registry_findings("gone"), pairs(&[("MCP402", "high")]));
    assert!(run.server("pinned").get("digest").is_none());
    assert_eq!(run.server("fine")["digest"], good.as_str());
    assert_eq!(run.code, 1);
}

#[test]
fn offline_asks_no_registry() {
    let dir = temp_dir("offline");
    let run = scan(
        &dir,
        &[("gone", "127.0.0.1:9/supply-test/nothing:1")],
        &["--offline"],
        None,
    );
    assert_eq!(run.registry_findings("gone"), Vec::new());
    assert!(run.server("gone").get("image").is_none());
}

/// Attach a Sigstore bundle to `subject` as cosign's referrers do, through the referrers tag
/// schema (`sha256-<hex>`) that registries without the OCI 1.1 API use.
fn attach_bundle(repo: &str, subject: &str, bundle: &str, existing: &mut Vec<Value>) {
    const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    let layer = ImageLayer::new(bundle.as_bytes().to_vec(), BUNDLE.to_string(), None);
    let config = Config::new(
        b"{}".to_vec(),
        "application/vnd.oci.empty.v1+json".to_string(),
        None,
    );
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    manifest.artifact_type = Some(BUNDLE.to_string());
    let size = {
        let parsed: Reference = format!("{repo}@{subject}").parse().unwrap();
        let (bytes, _) = runtime()
            .block_on(client().pull_manifest_raw(
                &parsed,
                &RegistryAuth::Anonymous,
                &["application/vnd.oci.image.manifest.v1+json"],
            ))
            .unwrap();
        bytes.len() as i64
    };
    manifest.subject = Some(oci_client::manifest::OciDescriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".to_string(),
        digest: subject.to_string(),
        size,
        ..Default::default()
    });
    let stored = format!("{repo}:bundle-{}", existing.len());
    let parsed: Reference = stored.parse().unwrap();
    runtime()
        .block_on(client().push(
            &parsed,
            &[layer],
            config,
            &RegistryAuth::Anonymous,
            Some(manifest),
        ))
        .unwrap();
    let digest = manifest_digest(&stored);
    let bytes_len = {
        let (bytes, _) = runtime()
            .block_on(client().pull_manifest_raw(
                &parsed,
                &RegistryAuth::Anonymous,
                &["application/vnd.oci.image.manifest.v1+json"],
            ))
            .unwrap();
        bytes.len()
    };
    existing.push(
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest, "size": bytes_len, "artifactType": BUNDLE}),
    );
    let index: OciImageIndex = serde_json::from_value(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": existing,
    }))
    .unwrap();
    let tag: Reference = format!("{repo}:{}", subject.replace(':', "-"))
        .parse()
        .unwrap();
    runtime()
        .block_on(client().push_manifest(&tag, &OciManifest::ImageIndex(index)))
        .unwrap();
}

fn conformance_bundle(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/sigstore/bundle-verify")
            .join(name)
            .join("bundle.sigstore.json"),
    )
    .unwrap()
}

#[test]
fn referrer_bundles_are_found_attestations_are_no_signatures_and_a_bundle_of_something_else_is_critical()
 {
    let dir = temp_dir("referrers");
    let repo = repository(OPEN, "referred");
    let image = format!("{repo}:1");
    let digest = push_image(&image, "with referrers", "amd64");
    let mut attached = Vec::new();
    // A real SLSA provenance attestation: a bundle, but no signature of the image.
    attach_bundle(
        &repo,
        &digest,
        &conformance_bundle("happy-path-intoto-in-dsse-v3"),
        &mut attached,
    );
    let run = scan(&dir, &[("r", &image)], &[], None);
    assert_eq!(
        run.registry_findings("r"),
        pairs(&[("MCP410", "info")]),
        "{}",
        run.report
    );

    // A real keyless signature bundle, of another artifact: found, verified, refused.
    attach_bundle(
        &repo,
        &digest,
        &conformance_bundle("happy-path-v0.3"),
        &mut attached,
    );
    let run = scan(&dir, &[("r", &image)], &[], None);
    assert_eq!(
        run.registry_findings("r"),
        pairs(&[("MCP413", "critical")]),
        "{}",
        run.report
    );
    let error = run.server("r")["signature"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("Sigstore bundle"), "{error}");
    assert_eq!(run.server("r")["signature"]["kind"], "keyless");
}

/// A key signature as cosign 3 makes it without a transparency log
/// (`cosign sign --key k --tlog-upload=false`): a Sigstore bundle holding a DSSE envelope of an
/// in-toto statement whose subject is the image's digest, written here by hand.
fn key_signed_bundle(key: &Key, repository: &str, digest: &str) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": repository, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {}
    })
    .to_string();
    let payload_type = "application/vnd.in-toto+json";
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        statement.len()
    )
    .into_bytes();
    pae.extend_from_slice(statement.as_bytes());
    let signature = key.signer.sign(&pae).unwrap();
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "test-key"}},
        "dsseEnvelope": {
            "payload": b64(statement.as_bytes()),
            "payloadType": payload_type,
            "signatures": [{"sig": b64(&signature)}]
        }
    })
    .to_string()
}

#[test]
fn a_key_signed_bundle_without_a_log_entry_verifies_with_its_key_only() {
    let dir = temp_dir("key-bundle");
    let repo = repository(OPEN, "bundled");
    let image = format!("{repo}:1");
    let digest = push_image(&image, "signed by cosign 3", "amd64");
    let right = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "right");
    let wrong = key(SigningScheme::ECDSA_P256_SHA256_ASN1, &dir, "wrong");
    let mut attached = Vec::new();
    attach_bundle(
        &repo,
        &digest,
        &key_signed_bundle(&right, &repo, &digest),
        &mut attached,
    );

    let run = scan(
        &dir,
        &[("b", &image)],
        &["--key", right.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.server("b")["signature"]["verified"],
        true,
        "{}",
        run.report
    );
    assert_eq!(run.server("b")["signature"]["kind"], "key");
    assert_eq!(run.registry_findings("b"), Vec::new());
    let run = scan(
        &dir,
        &[("b", &image)],
        &["--key", wrong.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.registry_findings("b"),
        pairs(&[("MCP412", "high")]),
        "{}",
        run.report
    );

    // The same key's bundle for another digest, attached to this image: invalid.
    let other = push_image(&format!("{repo}:2"), "another", "amd64");
    let repo2 = repository(OPEN, "bundled-copy");
    let image2 = format!("{repo2}:1");
    let digest2 = push_image(&image2, "a copy target", "amd64");
    let mut attached2 = Vec::new();
    attach_bundle(
        &repo2,
        &digest2,
        &key_signed_bundle(&right, &repo, &other),
        &mut attached2,
    );
    let run = scan(
        &dir,
        &[("c", &image2)],
        &["--key", right.public_pem.to_str().unwrap()],
        None,
    );
    assert_eq!(
        run.registry_findings("c"),
        pairs(&[("MCP413", "critical")]),
        "{}",
        run.report
    );
}

/// Sign `payload` with OpenSSL, as an independent cosign-format signer would: ECDSA and RSA
/// over SHA-256 (ASN.1 / PKCS#1 v1.5), Ed25519 over the raw payload. The public key's PEM file.
fn openssl_sign(dir: &Path, algorithm: &str, payload: &[u8]) -> (PathBuf, String) {
    let private = dir.join(format!("{algorithm}.key"));
    let public = dir.join(format!("{algorithm}.pub"));
    let data = dir.join(format!("{algorithm}.payload"));
    let signature = dir.join(format!("{algorithm}.sig"));
    std::fs::write(&data, payload).unwrap();
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let p = |path: &Path| path.to_str().unwrap().to_string();
    match algorithm {
        "ec" => openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &p(&private),
        ]),
        "rsa" => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p(&private),
        ]),
        _ => openssl(&["genpkey", "-algorithm", "ED25519", "-out", &p(&private)]),
    }
    openssl(&["pkey", "-in", &p(&private), "-pubout", "-out", &p(&public)]);
    if algorithm == "ed25519" {
        openssl(&[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            &p(&private),
            "-in",
            &p(&data),
            "-out",
            &p(&signature),
        ]);
    } else {
        openssl(&[
            "dgst",
            "-sha256",
            "-sign",
            &p(&private),
            "-out",
            &p(&signature),
            &p(&data),
        ]);
    }
    let bytes = std::fs::read(&signature).unwrap();
    (
        public,
        base64::engine::general_purpose::STANDARD.encode(bytes),
    )
}

#[test]
fn signatures_by_an_independent_signer_verify_with_its_key_and_are_high_with_another() {
    let dir = temp_dir("openssl");
    let mut others = Vec::new();
    for algorithm in ["ec", "rsa", "ed25519"] {
        let repo = repository(OPEN, &format!("indep-{algorithm}"));
        let image = format!("{repo}:1");
        let digest = push_image(&image, algorithm, "amd64");
        // cosign's payload, written out by hand.
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"{repo}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        let (public, signature) = openssl_sign(&dir, algorithm, payload.as_bytes());
        push_signature(&repo, &digest, payload.into_bytes(), &signature);
        let run = scan(
            &dir,
            &[("s", &image)],
            &["--key", public.to_str().unwrap()],
            None,
        );
        assert_eq!(
            run.server("s")["signature"]["verified"],
            true,
            "{algorithm}: {}",
            run.report
        );
        others.push((image, public));
    }
    // Each image checked with the next one's key.
    for (i, (image, _)) in others.iter().enumerate() {
        let (_, other_key) = &others[(i + 1) % others.len()];
        let run = scan(
            &dir,
            &[("s", image)],
            &["--key", other_key.to_str().unwrap()],
            None,
        );
        assert_eq!(
            run.registry_findings("s"),
            pairs(&[("MCP412", "high")]),
            "{image}: {}",
            run.report
        );
    }
}

#[test]
fn servers_of_one_name_in_two_configs_each_keep_their_own_image() {
    let dir = temp_dir("same-name");
    let mut configs = Vec::new();
    let mut digests = Vec::new();
    for team in ["alpha", "beta"] {
        let image = format!("{}:1", repository(OPEN, team));
        digests.push(push_image(&image, &format!("the {team} server"), "amd64"));
        let team_dir = dir.join(team);
        std::fs::create_dir_all(&team_dir).unwrap();
        let config = team_dir.join(".mcp.json");
        let entry = json!({"command": "docker", "args": ["run", "-i", "--rm", image]});
        std::fs::write(&config, json!({"mcpServers": {"same": entry}}).to_string()).unwrap();
        configs.push(config);
    }
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-audit"))
        .arg("scan")
        .args(&configs)
        .args(["--format", "json", "--timeout", "5"])
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env_remove("COSIGN_REPOSITORY")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let servers = report["servers"].as_array().unwrap();
    for (config, digest) in configs.iter().zip(&digests) {
        let team = config
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let server = servers
            .iter()
            .find(|s| {
                s["location"]["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(team))
            })
            .unwrap_or_else(|| panic!("no server from {team}: {report}"));
        assert_eq!(server["digest"], digest.as_str(), "{team}: {report}");
    }
}
