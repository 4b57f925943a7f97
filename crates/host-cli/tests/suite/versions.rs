//! The oldest Synapse the rendered config needs: every option the version check knows is in
//! the rendered homeserver.yaml when its condition holds, and an old tag is warned about.

use std::process::Command;

use matrix_render_model::load::{LoadInput, NamedText, load};
use matrix_render_model::synapse_version::REQUIREMENTS;

use crate::common::repo;

fn seed_rtc_files() -> Vec<NamedText> {
    ["values.yaml", "secrets.yaml"]
        .iter()
        .map(|name| NamedText {
            name: (*name).to_owned(),
            text: std::fs::read_to_string(repo().join("tests/fixtures/seed").join(name)).unwrap(),
        })
        .collect()
}

#[test]
fn every_versioned_option_is_in_the_homeserver_config_when_it_applies() {
    let files = seed_rtc_files();
    let set = ["matrixrtc.enabled=true".to_owned()];
    let loaded = load(LoadInput {
        values: &files,
        set: &set,
        set_string: &[],
        ..Default::default()
    });
    let config = loaded.config.expect("the seed with MatrixRTC loads");
    // The golden of the same input (seed-rtc) holds the rendered homeserver.yaml.
    let golden = std::fs::read_to_string(repo().join("tests/golden/seed-rtc.yaml")).unwrap();
    let homeserver = golden
        .split("homeserver.yaml: |\n")
        .nth(1)
        .expect("a homeserver.yaml in the golden");
    for requirement in REQUIREMENTS {
        assert!(
            (requirement.applies)(&config),
            "{} does not apply to the seed with MatrixRTC: pick a fixture where it does",
            requirement.option
        );
        assert!(
            homeserver.contains(&format!("\n    {}:", requirement.option)),
            "{} is not in the rendered homeserver.yaml: the version check is stale",
            requirement.option
        );
    }
}

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
