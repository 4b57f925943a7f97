//! The oldest Synapse the rendered config needs: every option the version check knows is in
//! the rendered homeserver.yaml when its condition holds, and an old tag is warned about.

use std::process::Command;

use matrix_render_model::load::{LoadInput, NamedText, load};
use matrix_render_model::synapse_version::REQUIREMENTS;

use crate::common::repo;

fn fixture_files(fixture: &str) -> Vec<NamedText> {
    ["values.yaml", "secrets.yaml"]
        .iter()
        .map(|name| NamedText {
            name: (*name).to_owned(),
            text: std::fs::read_to_string(repo().join("tests/fixtures").join(fixture).join(name))
                .unwrap(),
        })
        .collect()
}

#[test]
fn every_versioned_option_is_in_the_homeserver_config_when_it_applies() {
    // The seed with MatrixRTC (golden seed-rtc) writes the options of the typed settings;
    // the extra-config fixture the ones `synapse.extraConfig` makes the render write.
    let cases = [
        (
            "seed",
            vec!["matrixrtc.enabled=true".to_owned()],
            "seed-rtc",
        ),
        ("extra-config", Vec::new(), "extra-config"),
    ];
    let mut loaded_cases = Vec::new();
    for (fixture, set, golden) in &cases {
        let files = fixture_files(fixture);
        let loaded = load(LoadInput {
            values: &files,
            set,
            set_string: &[],
            ..Default::default()
        });
        let config = loaded.config.expect("the fixture loads");
        let text =
            std::fs::read_to_string(repo().join(format!("tests/golden/{golden}.yaml"))).unwrap();
        let homeserver = text
            .split("homeserver.yaml: |\n")
            .nth(1)
            .expect("a homeserver.yaml in the golden")
            .to_owned();
        loaded_cases.push((*golden, config, homeserver));
    }
    for requirement in REQUIREMENTS {
        let applying: Vec<_> = loaded_cases
            .iter()
            .filter(|(_, config, _)| (requirement.applies)(config))
            .collect();
        assert!(
            !applying.is_empty(),
            "{} applies to no fixture here: pick a fixture where it does",
            requirement.option
        );
        for (golden, _, homeserver) in applying {
            assert!(
                // At any depth: `client_secret_path` sits in an OIDC provider.
                homeserver.contains(&format!(" {}:", requirement.option)),
                "{} is not in the homeserver.yaml of golden {golden}: the version check is stale",
                requirement.option
            );
        }
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
