//! NetworkPolicies and PodDisruptionBudgets agree with the workloads they protect: every pod
//! that NetworkPolicies apply to is denied by default and has its own policy; the ports a
//! policy opens exist on the pod; every Deployment with more than one replica has a budget
//! whose selector picks exactly its pods.

use matrix_render_model::api::Format;
use serde_json::Value;

use crate::common::{fixtures, request};

fn matches(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
}

fn items(name: &str, dir: &std::path::Path) -> Vec<Value> {
    let response = matrix_render_renderer::render(&request(dir, Format::Json));
    assert!(response.ok, "{name}");
    let list: Value = serde_json::from_str(&response.output).unwrap();
    list["items"].as_array().unwrap().clone()
}

#[test]
fn every_pod_off_the_host_network_has_exactly_its_flows() {
    let mut pods_checked = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        let policies: Vec<&Value> = items
            .iter()
            .filter(|i| i["kind"] == "NetworkPolicy")
            .collect();
        if policies.is_empty() {
            continue;
        }
        for dep in items.iter().filter(|i| i["kind"] == "Deployment") {
            let dep_name = dep["metadata"]["name"].as_str().unwrap();
            let namespace = &dep["metadata"]["namespace"];
            // Every namespace with a workload denies by default, host-network ones too.
            let deny = policies
                .iter()
                .find(|p| {
                    p["metadata"]["name"] == "default-deny"
                        && p["metadata"]["namespace"] == *namespace
                })
                .unwrap_or_else(|| panic!("{name}: namespace {namespace} has no default-deny"));
            assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}), "{name}");
            assert_eq!(
                deny["spec"]["policyTypes"],
                serde_json::json!(["Ingress", "Egress"]),
                "{name}"
            );
            let pod = &dep["spec"]["template"];
            if pod["spec"]["hostNetwork"] == true {
                continue;
            }
            let own: Vec<&&Value> = policies
                .iter()
                .filter(|p| p["metadata"]["name"] != "default-deny")
                .filter(|p| p["metadata"]["namespace"] == *namespace)
                .filter(|p| matches(&p["spec"]["podSelector"], &pod["metadata"]["labels"]))
                .collect();
            assert_eq!(
                own.len(),
                1,
                "{name}: Deployment {dep_name} needs exactly one policy of its own"
            );
            let port_names: Vec<&Value> = pod["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .map(|p| &p["name"])
                .collect();
            for rule in own[0]["spec"]["ingress"].as_array().unwrap() {
                for port in rule["ports"].as_array().unwrap() {
                    if port["port"].is_string() {
                        assert!(
                            port_names.contains(&&port["port"]),
                            "{name}: {dep_name}'s policy opens port {} that no container has",
                            port["port"]
                        );
                    }
                }
            }
            pods_checked += 1;
        }
    }
    assert!(pods_checked >= 20, "only {pods_checked} pods checked");
}

#[test]
fn every_replicated_deployment_has_a_disruption_budget() {
    let mut budgets = 0;
    for (name, dir) in fixtures() {
        let items = items(&name, &dir);
        for dep in items.iter().filter(|i| i["kind"] == "Deployment") {
            let dep_name = &dep["metadata"]["name"];
            let replicas = dep["spec"]["replicas"].as_i64().unwrap();
            let pdbs: Vec<&Value> = items
                .iter()
                .filter(|i| i["kind"] == "PodDisruptionBudget")
                .filter(|p| p["metadata"]["namespace"] == dep["metadata"]["namespace"])
                .filter(|p| {
                    matches(
                        &p["spec"]["selector"],
                        &dep["spec"]["template"]["metadata"]["labels"],
                    )
                })
                .collect();
            if replicas > 1 {
                assert_eq!(pdbs.len(), 1, "{name}: {dep_name} has {replicas} replicas");
                assert_eq!(pdbs[0]["spec"]["maxUnavailable"], 1);
                assert_eq!(pdbs[0]["spec"]["selector"], dep["spec"]["selector"]);
                budgets += 1;
            } else {
                assert!(pdbs.is_empty(), "{name}: {dep_name} has one replica");
            }
        }
    }
    assert!(budgets >= 2, "no fixture has a replicated Deployment");
}
