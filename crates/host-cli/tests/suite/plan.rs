//! `matrix-render plan` through the real binary: the same plan as the native core, text that
//! names the config's ports, no secret value anywhere, and an invalid config refused.

use std::process::{Command, Output};

use matrix_render_model::api::{Format, Plan, Protocol};

use crate::common::{repo, request};

fn plan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .current_dir(repo())
        .arg("plan")
        .args(["-f", "examples/values.yaml", "-f", "examples/secrets.yaml"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn json_is_the_cores_plan() {
    let out = plan(&["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Plan = serde_json::from_slice(&out.stdout).unwrap();
    let mut req = request(&repo().join("tests/fixtures/example"), Format::Yaml);
    req.options.plan = true;
    let native = matrix_render_renderer::render(&req);
    assert!(native.ok, "{:?}", native.diagnostics);
    assert_eq!(Some(got), native.plan);
}

#[test]
fn text_names_the_configured_ranges_and_never_a_secret() {
    let out = plan(&[
        "--set",
        "matrixrtc.livekit.rtc.portRangeStart=50300",
        "--set",
        "matrixrtc.livekit.rtc.portRangeEnd=50400",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for section in [
        "DNS records\n",
        "\nPorts to open and forward\n",
        "\nSecrets\n",
        "\nNotes\n",
    ] {
        assert!(text.contains(section), "{section:?} missing:\n{text}");
    }
    let udp = text
        .lines()
        .find(|l| l.contains("livekit") && l.contains("/UDP"))
        .unwrap_or_else(|| panic!("no LiveKit UDP line:\n{text}"));
    assert!(udp.trim_start().starts_with("50300-50400/UDP"), "{udp}");
    assert!(
        text.contains("49160-49200/UDP"),
        "coturn's relay range:\n{text}"
    );
    assert!(text.contains("DNS-only"), "{text}");
    let secrets = std::fs::read_to_string(repo().join("examples/secrets.yaml")).unwrap();
    for value in secrets
        .lines()
        .filter_map(|l| l.split_once(": \"").map(|(_, v)| v.trim_end_matches('"')))
        .filter(|v| v.starts_with("example-"))
    {
        assert!(
            !text.contains(value),
            "a secret value is in the plan:\n{text}"
        );
    }
}

#[test]
fn rtc_off_drops_its_ports_and_host() {
    let out = plan(&["--set", "matrixrtc.enabled=false", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let got: Plan = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got.ports.iter().all(|p| p.component != "livekit"));
    assert!(got.dns.iter().all(|d| d.host != "rtc.example.org"));
    assert!(
        got.secrets
            .iter()
            .all(|s| !s.path.starts_with("matrixrtc."))
    );
    assert!(
        got.ports
            .iter()
            .any(|p| p.component == "coturn" && p.protocol == Protocol::Udp)
    );
}

#[test]
fn an_invalid_config_exits_1_and_prints_no_plan() {
    let out = plan(&["--set", "matrixrtc.enabeld=true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown-key"), "{stderr}");
    assert!(stderr.contains("did you mean"), "{stderr}");
}
