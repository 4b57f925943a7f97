//! The worker layout holds together: every name homeserver.yaml gives a process is a process
//! the render runs, reachable at the address it is given, and the router sends to exactly
//! the processes that exist.

use std::collections::BTreeMap;

use matrix_render_model::NamedText;
use matrix_render_model::api::Format;
use serde_json::Value;

use crate::common::{repo, request};

fn render(extra: &str) -> Vec<Value> {
    let dir = repo().join("tests/fixtures/workers");
    let mut req = request(&dir, Format::Json);
    req.values.push(NamedText {
        name: "extra.yaml".to_owned(),
        text: extra.to_owned(),
    });
    let response = matrix_render_renderer::render(&req);
    assert!(response.ok, "{extra}: {:?}", response.diagnostics);
    let list: Value = serde_json::from_str(&response.output).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
}

fn homeserver(items: &[Value]) -> Value {
    let cm = find(items, "ConfigMap", "synapse-extra-config").unwrap();
    serde_yaml::from_str(cm["data"]["homeserver.yaml"].as_str().unwrap()).unwrap()
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .unwrap()
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
}

/// The processes of the render: worker name → (workload, the Service that names it).
/// The main process is `main`; a worker is a pod of a StatefulSet (`<set>-<ordinal>`).
fn processes(items: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(
        "main".to_owned(),
        format!("synapse.{}.svc.cluster.local", namespace(items)),
    );
    for set in items.iter().filter(|i| i["kind"] == "StatefulSet") {
        let name = set["metadata"]["name"].as_str().unwrap();
        let ns = set["metadata"]["namespace"].as_str().unwrap();
        let service = set["spec"]["serviceName"].as_str().unwrap();
        let svc = find(items, "Service", service).unwrap();
        assert_eq!(svc["spec"]["clusterIP"], "None", "{service} is headless");
        let pod_labels = &set["spec"]["template"]["metadata"]["labels"];
        assert!(
            selects(&svc["spec"]["selector"], pod_labels),
            "{service} selects {name}'s pods"
        );
        // Each pod's DNS name is `<pod>.<service>.<namespace>.svc.cluster.local`, and the
        // worker name the container writes is the pod's name.
        let command = set["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap();
        assert!(command.contains("worker_name: %s") && command.contains("$SYNAPSE_WORKER_NAME"));
        let env = &set["spec"]["template"]["spec"]["containers"][0]["env"][0];
        assert_eq!(env["name"], "SYNAPSE_WORKER_NAME");
        assert_eq!(env["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
        for i in 0..set["spec"]["replicas"].as_u64().unwrap() {
            out.insert(
                format!("{name}-{i}"),
                format!("{name}-{i}.{service}.{ns}.svc.cluster.local"),
            );
        }
    }
    out
}

fn namespace(items: &[Value]) -> String {
    find(items, "Deployment", "synapse").unwrap()["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Names in a shared option: one string or a list.
fn names(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_name_in_homeserver_yaml_is_a_running_process_at_its_address() {
    for extra in [
        "",
        "synapse: {workers: {eventPersister: {replicas: 4}, typing: {replicas: 0}, receipts: {replicas: 3}}}",
    ] {
        let items = render(extra);
        let procs = processes(&items);
        let hs = homeserver(&items);
        let main = find(&items, "Service", "synapse").unwrap();
        // instance_map: each entry is a process, at its DNS name, on its replication port,
        // which its Service and container name.
        let map = hs["instance_map"].as_object().unwrap();
        assert!(map.contains_key("main"));
        for (instance, loc) in map {
            let host = procs.get(instance).unwrap_or_else(|| {
                panic!("{extra}: instance_map names {instance}, which no workload runs")
            });
            assert_eq!(loc["host"].as_str().unwrap(), host, "{instance}");
            assert_eq!(loc["port"], 9093);
            let (svc, workload) = if instance == "main" {
                (main, find(&items, "Deployment", "synapse").unwrap())
            } else {
                let set = instance.rsplit_once('-').unwrap().0;
                (
                    find(&items, "Service", set).unwrap(),
                    find(&items, "StatefulSet", set).unwrap(),
                )
            };
            assert!(
                svc["spec"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "replication" && p["port"] == 9093),
                "{instance}: its Service has the replication port"
            );
            let ports = &workload["spec"]["template"]["spec"]["containers"][0]["ports"];
            assert!(
                ports
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "replication" && p["containerPort"] == 9093),
                "{instance}: its container listens for replication"
            );
        }
        // Every stream writer and every duty names a process of instance_map (writers) or
        // of the render (duties).
        let writers = hs["stream_writers"].as_object().unwrap();
        assert!(!writers.is_empty());
        for (stream, list) in writers {
            for w in names(list) {
                assert!(
                    map.contains_key(&w),
                    "{extra}: {stream} writer {w} is not in instance_map"
                );
            }
        }
        for option in [
            "federation_sender_instances",
            "pusher_instances",
            "media_instance_running_background_jobs",
            "update_user_directory_from_worker",
            "notify_appservices_from_worker",
            "run_background_tasks_on",
        ] {
            let listed = names(&hs[option]);
            assert!(!listed.is_empty(), "{option}");
            for w in listed {
                assert!(
                    procs.contains_key(&w),
                    "{extra}: {option} names {w}, which does not run"
                );
            }
        }
        // The router's servers are exactly the worker processes that serve HTTP routes, at
        // their addresses, plus main.
        let cfg = find(&items, "ConfigMap", "synapse-router").unwrap()["data"]["haproxy.cfg"]
            .as_str()
            .unwrap()
            .to_owned();
        for line in cfg
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("server "))
        {
            let mut words = line.split_whitespace().skip(1);
            let (name, addr) = (words.next().unwrap(), words.next().unwrap());
            let host = procs
                .get(name)
                .unwrap_or_else(|| panic!("{extra}: the router names {name}, which does not run"));
            assert_eq!(addr, format!("{host}:8008"));
        }
        for backend in cfg.lines().filter_map(|l| l.strip_prefix("backend ")) {
            assert!(
                cfg.contains(&format!("use_backend {backend} if"))
                    || cfg.contains(&format!("default_backend {backend}")),
                "{extra}: backend {backend} is never used"
            );
        }
        // The Synapse host's Ingress sends everything to the router.
        let ingress = find(&items, "Ingress", "synapse").unwrap();
        let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend["name"], "synapse-router");
    }
}

/// Stream writers of several instances (events, receipts) list them all; a type with no
/// replicas leaves its stream on the main process.
#[test]
fn writers_follow_the_replica_counts() {
    let items = render(
        "synapse: {workers: {eventPersister: {replicas: 3}, typing: {replicas: 0}, pushRules: {replicas: 0}}}",
    );
    let hs = homeserver(&items);
    assert_eq!(
        names(&hs["stream_writers"]["events"]),
        [
            "synapse-event-persister-0",
            "synapse-event-persister-1",
            "synapse-event-persister-2"
        ]
    );
    assert!(hs["stream_writers"].get("typing").is_none());
    assert!(hs["stream_writers"].get("push_rules").is_none());
    assert!(find(&items, "StatefulSet", "synapse-typing").is_none());
    let cfg = find(&items, "ConfigMap", "synapse-router").unwrap()["data"]["haproxy.cfg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !cfg.contains("backend typing"),
        "no typing backend without typing workers"
    );
}

/// Only the media worker mounts the data volume; the main process then has an emptyDir.
#[test]
fn the_media_volume_is_mounted_by_the_media_worker_alone() {
    let items = render("");
    let claims: Vec<String> = items
        .iter()
        .filter(|i| i["kind"] == "Deployment" || i["kind"] == "StatefulSet")
        .filter(|w| {
            w["spec"]["template"]["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["persistentVolumeClaim"]["claimName"] == "synapse-data")
        })
        .map(|w| w["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(claims, ["synapse-media-repository"]);
    let items = render("synapse: {workers: {mediaRepository: {replicas: 0}}}");
    let hs = homeserver(&items);
    assert!(hs.get("enable_media_repo").is_none());
    let main = find(&items, "Deployment", "synapse").unwrap();
    assert!(
        main["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "synapse-data")
    );
}
