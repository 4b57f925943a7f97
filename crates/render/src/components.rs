//! The component registry: everything the renderer knows about a component, declared once in
//! the component's own module as a [`Component`], and the list of them, [`COMPONENTS`].
//!
//! The objects, the NetworkPolicies, the ServiceMonitors, the plan's DNS records, ports,
//! secrets and component prerequisites, the images and the semantic checks (each component's
//! own, its images', its host ports') all iterate this list, so a new component is its module
//! plus one line here: nothing else learns its name. What stays outside is what belongs to
//! the stack as a whole: the edge (Ingress or Gateway ports), the Namespaces, the default deny
//! and the ACME solver's policy, the disruption budgets (derived from the Deployments), and
//! the plan's stack-wide prerequisites and proxy notes.

use matrix_render_model::api::{DnsTarget, PortRule, Protocol};
use matrix_render_model::config::Image;
use matrix_render_model::validate::{self, HostPort};
use matrix_render_model::{Config, Diagnostic};

use crate::objects::Ctx;
use crate::policies::Flow;
use crate::secrets::SecretSet;

/// A host name a component answers on: one entry of the plan's DNS records (entries of
/// several components on one host are merged into one record).
#[derive(Debug, Clone)]
pub struct Host {
    /// The host name.
    pub host: String,
    /// Where the record points.
    pub target: DnsTarget,
    /// What the component serves there.
    pub serves: String,
    /// Why the record cannot go through an HTTP proxy, if it cannot.
    pub proxy: Option<&'static str>,
}

/// A public port a component needs opened or forwarded.
#[must_use]
pub fn port(
    component: &str,
    protocol: Protocol,
    (port, end_port): (u16, u16),
    nodes: &str,
    purpose: &str,
) -> PortRule {
    PortRule {
        component: component.to_owned(),
        protocol,
        port,
        end_port,
        nodes: nodes.to_owned(),
        purpose: purpose.to_owned(),
    }
}

/// One component of the stack, as one value: when it runs, where, its objects, its network
/// flows, its plan entries, its images and its checks.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    /// Its name, as `app.kubernetes.io/component` and the settings call it.
    pub name: &'static str,
    /// Whether the config runs it.
    pub enabled: fn(&Config) -> bool,
    /// The namespace its objects go to.
    pub namespace: for<'c> fn(&'c Config) -> &'c str,
    /// Adds its objects to the render, in its namespace.
    pub objects: fn(&mut Ctx<'_>),
    /// Its workloads' network flows, from which their NetworkPolicies are derived.
    pub flows: for<'c> fn(&'c Config) -> Vec<Flow<'c>>,
    /// The host names it answers on.
    pub hosts: fn(&Config) -> Vec<Host>,
    /// The public ports it needs.
    pub ports: fn(&Config) -> Vec<PortRule>,
    /// Its secrets, when it has any.
    pub secrets: Option<for<'c> fn(&'c Config) -> SecretSet<'c>>,
    /// Its images, with the setting each comes from.
    pub images: for<'c> fn(&'c Config) -> Vec<(&'static str, &'c Image)>,
    /// Its metrics endpoints (with `metrics.enabled`), from which its ServiceMonitors and
    /// the scrape rules of its NetworkPolicy are derived ([`crate::metrics`]).
    pub metrics: fn(&Config) -> Vec<crate::metrics::Endpoint>,
    /// What the cluster must provide for it before the stack is applied (the plan's
    /// prerequisites), beyond what the stack as a whole needs.
    pub prerequisites: fn(&Config) -> Vec<String>,
    /// Its part of the semantic checks: run for every component, enabled or not, so that it
    /// checks the form of its settings always and what it needs only when it runs.
    pub checks: fn(&Config, &mut Vec<Diagnostic>),
    /// What it binds on the node's network when it runs (checked for collisions across
    /// components).
    pub host_ports: fn(&Config) -> Vec<HostPort>,
}

/// Every component, in the order the plan lists them.
pub const COMPONENTS: &[&Component] = &[
    &crate::synapse::COMPONENT,
    &crate::element::COMPONENT,
    &crate::static_pages::COMPONENT,
    &crate::wellknown::COMPONENT,
    &crate::coturn::COMPONENT,
    &crate::matrixrtc::COMPONENT,
    &crate::backup::COMPONENT,
    &crate::workers::COMPONENT,
    &crate::router::COMPONENT,
    &crate::redis::COMPONENT,
];

/// The components the config runs, in registry order.
pub fn enabled(c: &Config) -> impl Iterator<Item = &'static Component> + '_ {
    COMPONENTS.iter().copied().filter(move |k| (k.enabled)(c))
}

/// The components' part of the semantic checks ([`validate::ComponentChecks`]): each
/// component's own, in registry order; then the images of those that run; then the ports
/// they bind on the node's network, which may not overlap.
pub fn check(c: &Config, out: &mut Vec<Diagnostic>) {
    for component in COMPONENTS {
        (component.checks)(c, out);
    }
    for component in enabled(c) {
        for (path, image) in (component.images)(c) {
            validate::image(out, path, image);
        }
    }
    let host: Vec<HostPort> = enabled(c).flat_map(|k| (k.host_ports)(c)).collect();
    validate::host_port_collisions(out, &host);
}

/// A component's namespace when it is the stack's main one.
#[must_use]
pub fn main_namespace(c: &Config) -> &str {
    &c.namespace
}

/// For components whose pods have no NetworkPolicy of their own (host network).
#[must_use]
pub fn no_flows(_: &Config) -> Vec<Flow<'_>> {
    Vec::new()
}

/// For components with no host name of their own.
#[must_use]
pub fn no_hosts(_: &Config) -> Vec<Host> {
    Vec::new()
}

/// For components that need no public port.
#[must_use]
pub fn no_ports(_: &Config) -> Vec<PortRule> {
    Vec::new()
}

/// For components that need nothing of the cluster of their own.
#[must_use]
pub fn no_prerequisites(_: &Config) -> Vec<String> {
    Vec::new()
}

/// For components with no checks of their own.
pub fn no_checks(_: &Config, _: &mut Vec<Diagnostic>) {}

/// For components that bind nothing on the node's network.
#[must_use]
pub fn no_host_ports(_: &Config) -> Vec<HostPort> {
    Vec::new()
}

/// For components that always run.
#[must_use]
pub fn always(_: &Config) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    fn config() -> Config {
        crate::testing::config(crate::testing::BASE, "")
    }

    /// The images the components declare are exactly the image settings of the defaults,
    /// which `--version` and the CHANGELOG list: a component cannot add an image silently.
    #[test]
    fn the_components_declare_every_default_image() {
        let c = config();
        let mut declared: Vec<&str> = COMPONENTS
            .iter()
            .flat_map(|k| (k.images)(&c))
            .map(|(setting, _)| setting)
            .collect();
        declared.sort_unstable();
        let defaults = matrix_render_model::versions::default_images();
        let mut listed: Vec<&str> = defaults.iter().map(|i| i.setting.as_str()).collect();
        listed.sort_unstable();
        assert_eq!(declared, listed);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = COMPONENTS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "{names:?}");
    }
}
