//! `matrix-render init` through the real binary: the files render as they are, the secrets are
//! fresh, strong, private and never printed, and nothing is ever overwritten.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::base64;

const DOMAIN: &str = "matrix.example.org";
const ELEMENT: &str = "element.example.org";
/// The generated secrets: (path in .secrets.yaml, length after the prefix, prefix).
const SECRETS: [(&str, usize, &str); 4] = [
    ("synapse.registration_shared_secret", 48, ""),
    ("coturn.turn_shared_secret", 48, ""),
    ("matrixrtc.livekit.key", 12, "API"),
    ("matrixrtc.livekit.secret", 48, ""),
];

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
}

/// A fresh, empty folder of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-init-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `init --dir DIR --domain ... --element-domain ...` and `extra`.
fn init(dir: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("init")
        .arg("--dir")
        .arg(dir)
        .args(["--domain", DOMAIN, "--element-domain", ELEMENT])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The generated secrets, by path, checked for length and charset.
fn secrets(dir: &Path) -> Vec<(&'static str, String)> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(&read(dir.join(".secrets.yaml"))).unwrap();
    SECRETS
        .iter()
        .map(|&(path, len, prefix)| {
            let value = path
                .split('.')
                .try_fold(&yaml, |v, key| v.get(key))
                .and_then(serde_yaml::Value::as_str)
                .unwrap_or_else(|| panic!("{path} missing from .secrets.yaml"));
            let random = value.strip_prefix(prefix).unwrap();
            assert_eq!(random.len(), len, "{path}");
            assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{path}");
            (path, value.to_owned())
        })
        .collect()
}

fn unbase64(text: &str) -> String {
    let (mut bits, mut n, mut out) = (0_u32, 0, Vec::new());
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | crate::common::B64.iter().position(|&b| b == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The base64 forms of `secret` at each of the three alignments (the characters that do not
/// depend on its neighbours).
fn base64_forms(secret: &str) -> Vec<String> {
    (0..3)
        .map(|pad| {
            let mut bytes = vec![0_u8; pad];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = base64(&bytes);
            let skip = if pad == 0 { 0 } else { 4 };
            encoded[skip..encoded.len() - 4].to_owned()
        })
        .collect()
}

/// Renders DIR's two files and checks that each secret is in a Secret's data and nowhere
/// else, neither as text nor base64-encoded. `rtc`: whether the LiveKit pair must be used.
fn render_keeps_secrets_in_secrets(dir: &Path, rtc: bool) {
    let out = bin()
        .current_dir(dir)
        .args(["render", "-f", "values.yaml", "-f", ".secrets.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .filter(|doc: &serde_yaml::Value| !doc.is_null())
        .collect();
    assert!(docs.len() > 10, "{} documents", docs.len());
    for (path, secret) in secrets(dir) {
        let mut in_secrets = 0;
        for doc in &docs {
            let kind = doc["kind"].as_str().unwrap();
            if kind == "Secret" {
                let data = doc.get("data").and_then(serde_yaml::Value::as_mapping);
                in_secrets += data
                    .into_iter()
                    .flatten()
                    .filter(|(_, v)| unbase64(v.as_str().unwrap()).contains(&secret))
                    .count();
                let string_data = doc
                    .get("stringData")
                    .and_then(serde_yaml::Value::as_mapping);
                in_secrets += string_data
                    .into_iter()
                    .flatten()
                    .filter(|(_, v)| v.as_str().unwrap().contains(&secret))
                    .count();
            } else {
                let doc_text = serde_yaml::to_string(doc).unwrap();
                let name = &doc["metadata"]["name"];
                assert!(!doc_text.contains(&secret), "{path} in {kind} {name:?}");
                for form in base64_forms(&secret) {
                    assert!(
                        !doc_text.contains(&form),
                        "{path} (base64) in {kind} {name:?}"
                    );
                }
            }
        }
        let used = rtc || !path.starts_with("matrixrtc.");
        assert_eq!(in_secrets > 0, used, "{path}: in {in_secrets} Secret keys");
    }
}

#[test]
fn init_writes_files_that_render_with_secrets_only_in_secrets() {
    let dir = scratch("render");
    let out = init(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let values = read(dir.join("values.yaml"));
    assert!(
        values.starts_with("# yaml-language-server: $schema=./matrix-render.schema.json\n"),
        "{values}"
    );
    assert!(
        values.contains("domain: \"matrix.example.org\""),
        "{values}"
    );
    assert!(
        values.contains("turn_url: \"turn.matrix.example.org\""),
        "{values}"
    );
    assert!(values.contains("# public_ip_static:"), "{values}");
    assert!(!values.contains("\nmatrixrtc:"), "{values}");
    for (path, secret) in secrets(&dir) {
        assert!(!values.contains(&secret), "{path} in values.yaml");
        assert!(
            read(dir.join(".secrets.yaml")).contains(&format!("\"{secret}\"")),
            "{path} is not double-quoted"
        );
    }
    render_keeps_secrets_in_secrets(&dir, false);
}

#[test]
fn init_help_describes_the_turn_host_it_derives() {
    let out = bin().args(["init", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    // clap prints real defaults as `[default: ...]`; the TURN host is derived from --domain,
    // not a fixed default, so the help must not look like one.
    assert!(!help.contains("[default: turn."), "{help}");
    assert!(
        help.contains("`turn.` and the --domain host, e.g. turn.matrix.example.org"),
        "{help}"
    );
}

#[test]
fn init_with_rtc_host_turns_matrixrtc_on() {
    let dir = scratch("rtc").join("new/nested");
    let out = init(
        &dir,
        &[
            "--rtc-host",
            "rtc.example.org",
            "--turn-host",
            "relay.example.org",
            "--public-ip",
            "203.0.113.10",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let values = read(dir.join("values.yaml"));
    assert!(
        values.contains("matrixrtc:\n  enabled: true\n  host: \"rtc.example.org\"\n"),
        "{values}"
    );
    assert!(values.contains("realm: \"relay.example.org\""), "{values}");
    assert!(
        values.contains("public_ip_static: \"203.0.113.10\""),
        "{values}"
    );
    render_keeps_secrets_in_secrets(&dir, true);
}

#[test]
fn init_never_overwrites() {
    let dir = scratch("twice");
    assert_eq!(init(&dir, &[]).status.code(), Some(0));
    let before = (
        read(dir.join("values.yaml")),
        read(dir.join(".secrets.yaml")),
    );
    let out = init(&dir, &["--rtc-host", "rtc.example.org"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("matrix-render: error: "), "{err}");
    assert!(
        err.contains("values.yaml") && err.contains(".secrets.yaml"),
        "{err}"
    );
    assert!(err.contains("already exist;"), "{err}");
    let after = (
        read(dir.join("values.yaml")),
        read(dir.join(".secrets.yaml")),
    );
    assert_eq!(before, after);

    // Either file alone blocks, and the other one is not created.
    for (name, existing, missing) in [
        ("only-values", "values.yaml", ".secrets.yaml"),
        ("only-secrets", ".secrets.yaml", "values.yaml"),
    ] {
        let dir = scratch(name);
        std::fs::write(dir.join(existing), "mine: true\n").unwrap();
        let out = init(&dir, &[]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(&dir.join(existing).display().to_string()),
            "{err}"
        );
        assert!(!err.contains(missing), "{err}");
        assert_eq!(read(dir.join(existing)), "mine: true\n");
        assert!(!dir.join(missing).exists(), "{missing} was created");
    }
}

#[test]
fn every_init_draws_new_secrets() {
    let (a, b) = (scratch("fresh-a"), scratch("fresh-b"));
    assert_eq!(init(&a, &[]).status.code(), Some(0));
    assert_eq!(init(&b, &[]).status.code(), Some(0));
    let (a, b) = (secrets(&a), secrets(&b));
    let all: std::collections::BTreeSet<&str> =
        a.iter().chain(&b).map(|(_, s)| s.as_str()).collect();
    assert_eq!(all.len(), 8, "a secret repeats");
}

#[cfg(unix)]
#[test]
fn the_secrets_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    assert_eq!(init(&dir, &[]).status.code(), Some(0));
    let mode = std::fs::metadata(dir.join(".secrets.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn init_prints_the_next_step_and_no_secret() {
    let dir = scratch("quiet");
    let out = init(&dir, &["--rtc-host", "rtc.example.org"]);
    assert_eq!(out.status.code(), Some(0));
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    for (path, secret) in secrets(&dir) {
        for form in std::iter::once(secret.clone()).chain(base64_forms(&secret)) {
            assert!(!stdout.contains(&form) && !err.contains(&form), "{path}");
        }
        // The key's random part too, without its `API` prefix.
        assert!(!err.contains(&secret[secret.len() - 12..]), "{path}");
    }
    assert!(stdout.is_empty(), "{stdout}");
    let values = dir.join("values.yaml").display().to_string();
    let secrets_path = dir.join(".secrets.yaml").display().to_string();
    assert!(
        err.contains(&format!(
            "matrix-render render -f {values} -f {secrets_path}"
        )),
        "{err}"
    );
    assert!(err.contains("out of git"), "{err}");
}

#[test]
fn bad_host_names_and_addresses_write_nothing() {
    let base = scratch("bad");
    for (flag, value, says) in [
        ("--domain", "https://matrix.example.org", "scheme"),
        ("--domain", "", "is empty"),
        ("--element-domain", "element example.org", "space"),
        ("--turn-host", "turn.example.org:3478", "port"),
        ("--rtc-host", "rtc.example.org/livekit", "path"),
        ("--public-ip", "203.0.113", "not an IP address"),
    ] {
        let dir = base.join("out");
        let mut cmd = bin();
        cmd.arg("init").arg("--dir").arg(&dir);
        for (f, v) in [("--domain", DOMAIN), ("--element-domain", ELEMENT)] {
            if f != flag {
                cmd.args([f, v]);
            }
        }
        let out = cmd.args([flag, value]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag} {value:?}");
        let err = stderr(&out);
        assert!(err.starts_with("matrix-render: error: "), "{err}");
        assert!(err.contains(flag) && err.contains(says), "{err}");
        assert!(
            !dir.exists(),
            "{flag} {value:?}: {} was created",
            dir.display()
        );
    }
}

#[test]
fn init_writes_the_schema_its_modelines_point_at_and_keeps_an_existing_one() {
    let dir = scratch("schema");
    let out = init(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let schema = read(dir.join("matrix-render.schema.json"));
    let printed = bin().arg("schema").output().unwrap();
    assert_eq!(schema.as_bytes(), printed.stdout.as_slice());
    for file in ["values.yaml", ".secrets.yaml"] {
        assert!(
            read(dir.join(file))
                .starts_with("# yaml-language-server: $schema=./matrix-render.schema.json\n"),
            "{file}"
        );
    }
    assert!(stderr(&out).contains("matrix-render.schema.json"));

    // A schema already there (the operator's copy, maybe another version's) is kept.
    let dir = scratch("schema-kept");
    std::fs::write(dir.join("matrix-render.schema.json"), "{}\n").unwrap();
    let out = init(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(dir.join("matrix-render.schema.json")), "{}\n");
    let err = stderr(&out);
    assert!(err.contains("kept the existing"), "{err}");
    assert!(err.contains("matrix-render schema >"), "{err}");
}

#[test]
fn init_with_a_server_name_delegates_user_ids() {
    let dir = scratch("server-name");
    let out = init(&dir, &["--server-name", "example.org"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let values = read(dir.join("values.yaml"));
    assert!(values.contains("serverName: \"example.org\""), "{values}");
    assert!(values.contains("@alice:example.org"), "{values}");
    assert!(
        values.contains("domain: \"matrix.example.org\""),
        "{values}"
    );
    // The plan names the delegation the server name must serve.
    let plan = bin()
        .arg("plan")
        .arg("-f")
        .arg(dir.join("values.yaml"))
        .arg("-f")
        .arg(dir.join(".secrets.yaml"))
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("example.org"), "{text}");
    render_keeps_secrets_in_secrets(&dir, false);

    let bad = init(
        &scratch("server-name-bad"),
        &["--server-name", "https://example.org"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--server-name"), "{}", stderr(&bad));
}

/// The CHANGELOG's newest "Default images" list is what `--version` prints: a change of a
/// default image without its CHANGELOG line fails here.
#[test]
fn the_changelog_lists_the_default_images_version_prints() {
    let out = bin().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let version = String::from_utf8_lossy(&out.stdout);
    // The same text as the Helm plugin's `version` (both come from the model).
    assert_eq!(version, matrix_render_model::versions::version_text());
    let printed: Vec<(String, String)> = version
        .lines()
        .skip_while(|line| !line.starts_with("default images"))
        .skip(1)
        .map(|line| {
            let mut words = line.split_whitespace();
            let setting = words.next().unwrap_or_default().to_owned();
            let image = words.next().unwrap_or_default().to_owned();
            (setting, image)
        })
        .collect();
    assert!(printed.len() >= 7, "{version}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let changelog = read(root.join("CHANGELOG.md"));
    let section = changelog
        .split("\n### Default images\n")
        .nth(1)
        .expect("a Default images section")
        .split("\n#")
        .next()
        .unwrap_or_default();
    let listed: Vec<(String, String)> = section
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .map(|rest| {
            let (setting, image) = rest.split_once("`: `").expect("- `setting`: `image`");
            (setting.to_owned(), image.trim_end_matches('`').to_owned())
        })
        .collect();
    assert_eq!(
        listed, printed,
        "CHANGELOG.md's newest Default images section and `matrix-render --version` differ"
    );
    assert!(root.join("LICENSE").is_file());
    // The README's Versions section shows the same output.
    let readme = read(root.join("README.md"));
    assert!(
        readme.contains(&format!("```text\n{version}```\n")),
        "README.md's Versions block differs from `matrix-render --version`:\n{version}"
    );
}
