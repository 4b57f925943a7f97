//! The oldest Synapse the rendered config needs: every option the version check knows is in
//! the rendered homeserver.yaml when its condition holds.

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
