//! The oldest Synapse the rendered config needs: `validate` warns about an old tag with what
//! it lacks. (The core's tests check that every option the version check knows is rendered.)

use std::process::Command;

use crate::common::repo;

fn render_with_tag(tag: &str) -> (i32, String) {
    let seed = repo().join("tests/fixtures/seed");
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("validate")
        .arg("-f")
        .arg(seed.join("values.yaml"))
        .arg("-f")
        .arg(seed.join("secrets.yaml"))
        .args(["--set", "matrixrtc.enabled=true", "--set-string"])
        .arg(format!("synapse.image.tag={tag}"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_old_synapse_tag_is_warned_about_with_what_it_lacks() {
    let (code, err) = render_with_tag("v1.100.0");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("synapse-too-old"), "{err}");
    for option in [
        "turn_shared_secret_path",
        "recaptcha_public_key_path",
        "recaptcha_private_key_path",
    ] {
        assert!(err.contains(option), "{option}: {err}");
    }
    // Options v1.100 has are not named.
    assert!(!err.contains("registration_shared_secret_path"), "{err}");
    assert!(err.contains("use v1.135.0 or newer"), "{err}");

    for fine in ["v1.135.0", "v1.162.0", "latest"] {
        let (code, err) = render_with_tag(fine);
        assert_eq!(code, 0, "{fine}: {err}");
        assert!(!err.contains("synapse-too-old"), "{fine}: {err}");
    }
}
