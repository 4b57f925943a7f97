//! A few `--set` / `--set-string` arguments over the fixed valid values document.
//! Arguments are either raw strings or assembled from known config paths and interesting
//! values, so that most inputs reach the renderer instead of stopping at `unknown-key`.
//! Invariants: see `matrix_render_fuzz::check`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use matrix_render_fuzz::{check, fixed_doc};
use matrix_render_renderer::RenderRequest;

/// At most this many `--set` and this many `--set-string` arguments per input.
const MAX_FLAGS: usize = 4;
/// At most this many comma-separated assignments per assembled argument.
const MAX_ASSIGNMENTS: usize = 4;

/// Leaf and list paths of the config (from `crates/model/src/defaults.yaml` plus the keys
/// that have no default).
const PATHS: &[&str] = &[
    "namespace",
    "global.domain",
    "global.elementDomain",
    "ingress.className",
    "ingress.clusterIssuer",
    "ingress.annotations",
    "ingress.hosts.synapse.tlsSecretName",
    "ingress.hosts.element.tlsSecretName",
    "ingress.hosts.matrixrtc.tlsSecretName",
    "synapse.storage.size",
    "synapse.storage.storageClassName",
    "synapse.image.repository",
    "synapse.image.tag",
    "synapse.image.pullPolicy",
    "synapse.port",
    "synapse.replicas",
    "synapse.reportStats",
    "synapse.logLevel",
    "synapse.recaptcha.siteKey",
    "synapse.recaptcha.secretKey",
    "synapse.registration_shared_secret",
    "synapse.registration.enabled",
    "synapse.registration.allowWithoutVerification",
    "synapse.registration.captchaEnabled",
    "synapse.registration.requiresToken",
    "synapse.wellKnown.serveServer",
    "synapse.wellKnown.delegatedServer",
    "synapse.federation.whitelist",
    "synapse.publicRooms.allowOverFederation",
    "synapse.publicRooms.allowWithoutAuth",
    "synapse.publicRooms.requireAdminToPublish",
    "synapse.onboarding.autoJoinRooms",
    "synapse.onboarding.autoCreateAutoJoinRooms",
    "synapse.onboarding.autoJoinRoomsFederated",
    "synapse.onboarding.autoJoinMxidLocalpart",
    "synapse.moderation.roomListPublicationRules",
    "synapse.moderation.aliasCreationRules",
    "synapse.retention.enabled",
    "synapse.retention.defaultPolicy.minLifetime",
    "synapse.retention.defaultPolicy.maxLifetime",
    "synapse.retention.allowedLifetimeMin",
    "synapse.retention.allowedLifetimeMax",
    "synapse.mediaRetention.enabled",
    "synapse.mediaRetention.localMediaLifetime",
    "synapse.mediaRetention.remoteMediaLifetime",
    "synapse.media.maxUploadSize",
    "synapse.media.urlPreviewsEnabled",
    "synapse.media.urlPreviewIpRangeBlacklist",
    "synapse.media.urlPreviewIpRangeWhitelist",
    "synapse.serverNotices.enabled",
    "synapse.serverNotices.systemMxidLocalpart",
    "synapse.serverNotices.roomName",
    "synapse.serverNotices.roomAvatarUrl",
    "synapse.serverNotices.roomTopic",
    "synapse.serverNotices.autoJoin",
    "element.image.repository",
    "element.image.tag",
    "element.image.pullPolicy",
    "element.port",
    "element.replicas",
    "element.branding.appName",
    "element.branding.authHeaderLogoUrl",
    "element.branding.welcomeBackgroundUrl",
    "element.branding.authFooterLinks",
    "element.branding.userNotice",
    "element.embeddedPages.enabled",
    "element.embeddedPages.homeUrl",
    "element.embeddedPages.welcomeUrl",
    "element.staticPages.enabled",
    "element.staticPages.image.repository",
    "element.staticPages.image.tag",
    "element.staticPages.image.pullPolicy",
    "element.staticPages.replicas",
    "element.staticPages.port",
    "element.staticPages.pathPrefix",
    "element.staticPages.assetsPathPrefix",
    "element.ui.disableCustomUrls",
    "element.ui.disableGuests",
    "element.ui.disableLoginLanguageSelector",
    "element.ui.disable3pidLogin",
    "element.ui.defaultCountryCode",
    "element.ui.showLabsSettings",
    "element.ui.defaultFederate",
    "element.ui.defaultTheme",
    "element.ui.roomDirectoryServers",
    "element.ui.enablePresence",
    "element.integrations.uiUrl",
    "element.integrations.restUrl",
    "element.integrations.widgetsUrls",
    "element.jitsi.preferredDomain",
    "element.bugReportEndpointUrl",
    "element.features",
    "element.settingDefaults",
    "element.settingDefaults.breadcrumbs",
    "element.extraConfig",
    "coturn.enabled",
    "coturn.realm",
    "coturn.turn_url",
    "coturn.image.repository",
    "coturn.image.tag",
    "coturn.image.pullPolicy",
    "coturn.relay_ip",
    "coturn.turn_shared_secret",
    "coturn.public_ip_static",
    "coturn.listeningPort",
    "coturn.tlsListeningPort",
    "coturn.minPort",
    "coturn.maxPort",
    "coturn.tlsSecretName",
    "matrixrtc.enabled",
    "matrixrtc.host",
    "matrixrtc.ingressClassName",
    "matrixrtc.certManagerClusterIssuer",
    "matrixrtc.livekit.image.repository",
    "matrixrtc.livekit.image.tag",
    "matrixrtc.livekit.image.pullPolicy",
    "matrixrtc.livekit.service.port",
    "matrixrtc.livekit.hostNetwork",
    "matrixrtc.livekit.rtc.tcpPort",
    "matrixrtc.livekit.rtc.portRangeStart",
    "matrixrtc.livekit.rtc.portRangeEnd",
    "matrixrtc.livekit.rtc.useExternalIp",
    "matrixrtc.livekit.key",
    "matrixrtc.livekit.secret",
    "matrixrtc.jwt.image.repository",
    "matrixrtc.jwt.image.tag",
    "matrixrtc.jwt.image.pullPolicy",
    "matrixrtc.jwt.replicas",
    "matrixrtc.jwt.service.port",
    "matrixrtc.element.livekit_service_url",
];

/// Keys that appear below list items or free-form maps.
const SUBKEYS: &[&str] = &["text", "url", "action", "room_id", "user_id", "alias", "x"];

/// Values that exercise `--set` typing, YAML 1.1 quoting and validation.
const VALUES: &[&str] = &[
    "true",
    "false",
    "null",
    "NULL",
    "~",
    "0",
    "1",
    "2",
    "-1",
    "08",
    "80",
    "8008",
    "65535",
    "65536",
    "4294967296",
    "99999999999999999999",
    "1.5",
    "1e3",
    "0x1F",
    "1_000",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "",
    " ",
    "{a,b}",
    "{}",
    "{1,true,null}",
    "[0]",
    "a\\,b",
    "a\\=b",
    "a\\.b",
    "x=y",
    "matrix.example.org",
    "matrix.example.org:443",
    "https://example.org/path?q=1#f",
    "#room:example.org",
    "@user:example.org",
    "192.0.2.1",
    "2001:db8::1",
    "IfNotPresent",
    "Always",
    "Never",
    "10Gi",
    "365d",
    "100M",
    "dark",
    "GB",
    "-",
    "- item",
    "key: value",
    "'quoted'",
    "\"double\"",
    "multi\nline\n",
    "trailing\n\n",
    "tab\tseparated",
    "unicode \u{2713} \u{1F600}",
    "\u{0}nul",
    "\u{85}nel",
    "\u{feff}bom",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`backtick",
    "a #comment",
    "UPPER_case-Name.1",
];

#[derive(Arbitrary, Debug)]
struct Input {
    set: Vec<Flag>,
    set_string: Vec<Flag>,
}

#[derive(Arbitrary, Debug)]
enum Flag {
    /// Any text, parsed by the `--set` parser as given.
    Raw(String),
    /// `path=value[,path=value...]`.
    Assembled(Vec<Assignment>),
}

#[derive(Arbitrary, Debug)]
struct Assignment {
    path: Path,
    value: Val,
}

#[derive(Arbitrary, Debug)]
enum Path {
    Known(u8),
    /// `known[index]` or `known[index].subkey`.
    Indexed(u8, u8, Option<u8>),
    /// `known.<raw>`.
    Below(u8, String),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Val {
    Known(u8),
    Raw(String),
    /// `{a,b,...}` from known values.
    List(Vec<u8>),
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

impl Path {
    fn text(&self) -> String {
        match self {
            Path::Known(i) => pick(PATHS, *i).to_owned(),
            Path::Indexed(i, index, sub) => {
                let mut s = format!("{}[{}]", pick(PATHS, *i), index % 4);
                if let Some(k) = sub {
                    s.push('.');
                    s.push_str(pick(SUBKEYS, *k));
                }
                s
            }
            Path::Below(i, raw) => format!("{}.{raw}", pick(PATHS, *i)),
            Path::Raw(raw) => raw.clone(),
        }
    }
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::Known(i) => pick(VALUES, *i).to_owned(),
            Val::Raw(raw) => raw.clone(),
            Val::List(items) => {
                let items: Vec<&str> = items.iter().take(4).map(|i| pick(VALUES, *i)).collect();
                format!("{{{}}}", items.join(","))
            }
        }
    }
}

impl Flag {
    fn text(&self) -> String {
        match self {
            Flag::Raw(raw) => raw.clone(),
            Flag::Assembled(assignments) => assignments
                .iter()
                .take(MAX_ASSIGNMENTS)
                .map(|a| format!("{}={}", a.path.text(), a.value.text()))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

fn texts(flags: &[Flag]) -> Vec<String> {
    flags.iter().take(MAX_FLAGS).map(Flag::text).collect()
}

fuzz_target!(|input: Input| {
    check(&RenderRequest {
        values: vec![fixed_doc()],
        set: texts(&input.set),
        set_string: texts(&input.set_string),
        ..RenderRequest::default()
    });
});
