//! The oldest Synapse the rendered config needs: every option the version check knows is in
//! the rendered homeserver.yaml when its condition holds.

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
