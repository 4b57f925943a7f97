//! The two hand-written serializers against serde_json, on a fixed workload for callgrind
//! (BENCHMARKS.md, "Hand-written serializers"): the seed values with MatrixRTC on.
//!
//! - `response` / `response-serde`: the RenderResponse as JSON, by `response_json` (the
//!   renderer's word-at-a-time escaping) or by `serde_json::to_string`;
//! - `tree` / `tree-value` / `tree-via-value`: the typed k8s-openapi objects of that render
//!   (every object but the two custom resources, read back from its JSON output) turned into
//!   data, by the renderer's serializer into a `tree::Node`, by `serde_json::to_value`, or
//!   by `serde_json::to_value` then `Node::from` (keeping `Node`, dropping its serializer).
//!
//! Each mode checks first that the ways agree, then runs the chosen one `N` times
//! (default 100). Instructions per run are the difference between `N` and `0` runs:
//!
//! ```text
//! cargo build --profile profiling -p matrix-render-renderer --example serialize
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/profiling/examples/serialize tree 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/profiling/examples/serialize tree 100
//! ```

use std::hint::black_box;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use matrix_render_renderer::model::NamedText;
use matrix_render_renderer::tree::{Node, to_node};
use matrix_render_renderer::{Format, RenderOptions, RenderRequest, render, response_json};
use serde_json::Value;

const VALUES: &str = include_str!("../../../tests/fixtures/seed/values.yaml");
const SECRETS: &str = include_str!("../../../tests/fixtures/seed/secrets.yaml");

/// `$e` with `$o` bound to the object inside a [`Typed`], whatever its type.
macro_rules! each {
    ($typed:expr, $o:ident => $e:expr) => {
        match $typed {
            Typed::ConfigMap($o) => $e,
            Typed::Deployment($o) => $e,
            Typed::Ingress($o) => $e,
            Typed::NetworkPolicy($o) => $e,
            Typed::PersistentVolumeClaim($o) => $e,
            Typed::Secret($o) => $e,
            Typed::Service($o) => $e,
        }
    };
}

/// The typed objects of a render, as the renderer builds them.
#[expect(
    clippy::large_enum_variant,
    reason = "held as the renderer holds them, unboxed"
)]
enum Typed {
    ConfigMap(ConfigMap),
    Deployment(Deployment),
    Ingress(Ingress),
    NetworkPolicy(NetworkPolicy),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Secret(Secret),
    Service(Service),
}

impl Typed {
    fn read(item: Value) -> Option<Self> {
        fn typed<T: serde::de::DeserializeOwned>(item: Value) -> T {
            serde_json::from_value(item).expect("a typed object")
        }
        Some(match item["kind"].as_str()? {
            "ConfigMap" => Self::ConfigMap(typed(item)),
            "Deployment" => Self::Deployment(typed(item)),
            "Ingress" => Self::Ingress(typed(item)),
            "NetworkPolicy" => Self::NetworkPolicy(typed(item)),
            "PersistentVolumeClaim" => Self::PersistentVolumeClaim(typed(item)),
            "Secret" => Self::Secret(typed(item)),
            "Service" => Self::Service(typed(item)),
            _ => return None,
        })
    }

    /// The object by the renderer's serializer.
    fn node(&self) -> Node {
        each!(self, o => to_node(o).expect("serializable"))
    }

    /// The object by serde_json's.
    fn value(&self) -> Value {
        each!(self, o => serde_json::to_value(o).expect("serializable"))
    }
}

fn request() -> RenderRequest {
    let doc = |name: &str, text: &str| NamedText {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    RenderRequest {
        values: vec![doc("values.yaml", VALUES), doc("secrets.yaml", SECRETS)],
        set: vec!["matrixrtc.enabled=true".to_owned()],
        ..RenderRequest::default()
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "a benchmark's front-end: its arguments are its input"
)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("response", String::as_str);
    let runs: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100);
    let response = render(&request());
    assert!(response.ok, "{:?}", response.diagnostics);
    match mode {
        "response" | "response-serde" => {
            let serde = serde_json::to_string(&response).expect("serializable");
            assert!(response_json(&response) == serde, "the encodings differ");
            let mut bytes = 0;
            for _ in 0..runs {
                bytes += if mode == "response" {
                    black_box(response_json(black_box(&response))).len()
                } else {
                    black_box(serde_json::to_string(black_box(&response)))
                        .map(|s| s.len())
                        .unwrap_or_default()
                };
            }
            assert!(bytes >= runs * serde.len());
        }
        "tree" | "tree-value" | "tree-via-value" => {
            let json = render(&RenderRequest {
                options: RenderOptions {
                    format: Format::Json,
                    ..RenderOptions::default()
                },
                ..request()
            });
            let list: Value = serde_json::from_str(&json.output).expect("a JSON List");
            let objects: Vec<Typed> = list["items"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned()
                .filter_map(Typed::read)
                .collect();
            assert!(objects.len() >= 30, "{} typed objects", objects.len());
            for object in &objects {
                let value = object.value();
                assert!(object.node() == Node::from(value.clone()));
            }
            let mut nodes = 0;
            for _ in 0..runs {
                for object in black_box(&objects) {
                    nodes += match mode {
                        "tree" => usize::from(!matches!(black_box(object.node()), Node::Null)),
                        "tree-value" => usize::from(!black_box(object.value()).is_null()),
                        _ => usize::from(!matches!(
                            black_box(Node::from(object.value())),
                            Node::Null
                        )),
                    };
                }
            }
            assert_eq!(nodes, runs * objects.len());
        }
        other => panic!(
            "unknown mode {other}: response, response-serde, tree, tree-value, tree-via-value"
        ),
    }
}
