//! Helm's habits: `-n/--namespace`, `--show-only/-s`, and a URL given as `-f` (refused: the
//! tool reads no network), each against what the same input renders otherwise.

use std::process::{Command, Output};

use crate::common::repo;

fn render(extra: &[&str]) -> Output {
    let seed = repo().join("tests/fixtures/seed");
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("render")
        .arg("-f")
        .arg(seed.join("values.yaml"))
        .arg("-f")
        .arg(seed.join("secrets.yaml"))
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dash_n_sets_the_namespace_over_the_values() {
    let short = render(&["-n", "chat"]);
    assert_eq!(short.status.code(), Some(0), "{}", stderr(&short));
    let long = render(&["--namespace", "chat"]);
    let set = render(&["--set", "namespace=other", "--set-string", "namespace=chat"]);
    assert_eq!(stdout(&short), stdout(&long));
    assert_eq!(stdout(&short), stdout(&set));
    // It wins over a --set too, as Helm's -n wins over the chart's values.
    let over = render(&["--set", "namespace=other", "-n", "chat"]);
    assert_eq!(stdout(&over), stdout(&short));
    assert!(stdout(&short).contains("\n  namespace: chat\n"));
    assert!(!stdout(&short).contains("namespace: matrix\n"));

    let bad = render(&["-n", "Not A Namespace"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stdout(&bad).is_empty());
}

#[test]
fn show_only_prints_the_named_objects_as_the_render_does() {
    let full = stdout(&render(&[]));
    let documents: Vec<String> = full
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| format!("---\n{d}"))
        .collect();
    let find = |kind: &str, name: &str| {
        documents
            .iter()
            .find(|d| {
                d.contains(&format!("kind: {kind}\n")) && d.contains(&format!("\n  name: {name}\n"))
            })
            .unwrap_or_else(|| panic!("{kind}/{name} in the render"))
            .clone()
    };
    let one = render(&["-s", "Deployment/synapse"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(stdout(&one), find("Deployment", "synapse"));

    // A file name of --output-dir, a kind in lower case; the render's order, not the flags'.
    let two = render(&[
        "--show-only",
        "deployment/synapse",
        "-s",
        "07-configmap-element-config.yaml",
    ]);
    assert_eq!(two.status.code(), Some(0), "{}", stderr(&two));
    assert_eq!(
        stdout(&two),
        format!(
            "{}{}",
            find("ConfigMap", "element-config"),
            find("Deployment", "synapse")
        )
    );

    let json_full: serde_json::Value =
        serde_json::from_str(&stdout(&render(&["--format", "json"]))).unwrap();
    let json_one: serde_json::Value = serde_json::from_str(&stdout(&render(&[
        "--format",
        "json",
        "-s",
        "Deployment/synapse",
    ])))
    .unwrap();
    let item = json_full["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Deployment" && i["metadata"]["name"] == "synapse")
        .unwrap();
    assert_eq!(json_one["kind"], "List");
    assert_eq!(json_one["items"], serde_json::json!([item]));

    let none = render(&["-s", "Deployment/synapse", "-s", "Deployment/nope"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stdout(&none).is_empty());
    let err = stderr(&none);
    assert!(
        err.contains("error[no-such-object]") && err.contains("Deployment/nope"),
        "{err}"
    );
    assert!(!err.contains("matches Deployment/synapse"), "{err}");
}

#[test]
fn a_url_as_values_file_is_refused_with_the_download_step() {
    for url in [
        "https://example.org/values.yaml",
        "oci://registry.example.org/values",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
            .args(["validate", "-f", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{url}");
        let err = stderr(&out);
        assert!(
            err.contains("url-not-read") && err.contains("curl -fsSL"),
            "{err}"
        );
        assert!(err.contains(url), "{err}");
    }
}

#[test]
fn dash_n_does_not_apply_to_a_batch() {
    let dir = std::env::temp_dir().join(format!("mr-habits-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("render")
        .arg("--batch")
        .arg(dir.join("in"))
        .arg("--output-dir")
        .arg(dir.join("out"))
        .args(["-n", "chat"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-n/--namespace does not apply to --batch"));
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_json_sets_any_json_before_every_set() {
    let plain = render(&[
        "--set",
        "synapse.logLevel=WARNING",
        "--set",
        "matrixrtc.enabled=true",
    ]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    // A string, and an object the defaults fill in around as Helm's chart values would
    // (the seed's values set nothing else under `matrixrtc.livekit.rtc`, which the object
    // replaces: tests/deploy/helm_habits.py holds the comparison with Helm itself).
    let json = render(&[
        "--set-json",
        r#"synapse.logLevel="WARNING""#,
        "--set",
        "matrixrtc.enabled=true",
        "--set-json",
        r#"matrixrtc.livekit.rtc={"tcpPort": 7881}"#,
    ]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert_eq!(stdout(&json), stdout(&plain));
    // Helm's order: --set-json, then --set, whatever the order on the command line.
    let both = render(&[
        "--set",
        "synapse.logLevel=ERROR",
        "--set-json",
        r#"synapse.logLevel="WARNING""#,
    ]);
    assert!(stdout(&both).contains("level: ERROR"), "{}", stderr(&both));

    let bad = render(&["--set-json", "synapse.logLevel=WARNING"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = stderr(&bad);
    assert!(
        err.contains("error[invalid-set]") && err.contains("not JSON"),
        "{err}"
    );
    assert!(err.contains("--set-json"), "{err}");
}

#[test]
fn set_file_sets_a_file_text_last_and_never_shows_it() {
    let dir = std::env::temp_dir().join(format!("mr-habits-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = "FileSecret0123456789abcdefghijklmnopqrstuv";
    let file = dir.join("livekit-secret.txt");
    std::fs::write(&file, secret).unwrap();
    let arg = format!("matrixrtc.livekit.secret={}", file.display());
    let from_file = render(&[
        "--set",
        "matrixrtc.enabled=true",
        "--set-string",
        "matrixrtc.livekit.secret=overridden-by-the-file-0123456789abcdef",
        "--set-file",
        &arg,
    ]);
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    let inline = render(&[
        "--set",
        "matrixrtc.enabled=true",
        "--set-string",
        &format!("matrixrtc.livekit.secret={secret}"),
    ]);
    assert_eq!(stdout(&from_file), stdout(&inline));

    // A secret too short for LiveKit: the diagnostic names the flag and the file, never the
    // text; the same through --set-json.
    let short = "ShortFileSecret9";
    std::fs::write(&file, short).unwrap();
    let weak = render(&["--set", "matrixrtc.enabled=true", "--set-file", &arg]);
    assert_eq!(weak.status.code(), Some(1));
    let err = stderr(&weak);
    assert!(err.contains("weak-secret") && err.contains(&arg), "{err}");
    assert!(!err.contains(short), "{err}");
    let json = format!(r#"matrixrtc={{"enabled": true, "livekit": {{"secret": "{short}"}}}}"#);
    let weak = render(&["--set-json", &json]);
    assert_eq!(weak.status.code(), Some(1));
    let err = stderr(&weak);
    assert!(
        err.contains("weak-secret") && err.contains("--set-json"),
        "{err}"
    );
    assert!(!err.contains(short), "{err}");

    let missing = render(&["--set-file", "synapse.x"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("path.to.key=FILE"));
    let _ = std::fs::remove_dir_all(&dir);
}
