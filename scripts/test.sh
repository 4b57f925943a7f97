#!/usr/bin/env bash
# matrix-render's whole test suite. Installs what the tests need on a fresh Debian machine
# (scripts/test-deps.sh), then runs, and stops at the first failure:
#   1. formatting and clippy (native and wasm32); no file of crates/plugin-wasm/src over 300 lines;
#   2. cargo test: unit tests, golden outputs through the native core and through the CLI
#      binary running the wasm core, seed parity, secrets, errors, schema freshness;
#   2a. the golden migration scripts checked by shellcheck as POSIX sh;
#   2b. packaging and installing from a fresh clone of HEAD (scripts/install-test.sh):
#      `cargo package --workspace --locked` with each packaged crate built, then
#      `cargo install --locked --path crates/host-cli`; both CLIs render the example config;
#   3. every golden output read back by two independent YAML 1.1 parsers (PyYAML and Go's
#      gopkg.in/yaml.v2) and compared with the JSON the core produced;
#   4. the schema checked by an independent validator (Python jsonschema) against every good
#      fixture and every bad input, agreeing with matrix-render's own verdicts;
#   5. every golden output validated by kubernetes-validate --strict for Kubernetes 1.29 and 1.35;
#   5a. every custom resource (HTTPRoute, Certificate, Middleware) validated against its CRD's
#      schema, unknown fields being errors;
#   5b. every golden output scanned by checkov (Kubernetes checks): no failure, and every
#      skip is annotated in the manifest with its reason;
#   5c. Pod Security Standards: every pod template in a namespace the output labels
#      `restricted` (or `baseline`) meets that level's published controls, pods in unlabelled
#      namespaces meet `restricted` unless they run on the host network; the checker first
#      proves that it refuses a pod breaking each control;
#   6. the real programs on the rendered configs: Synapse 1.162 boots, serves its well-known
#      files and registers a user with the rendered secret; coturn accepts a TURN allocation
#      with the credentials Synapse hands out; nginx serves the rendered pages;
#   6'. real-extra-config: Synapse runs the extra-config fixture: its OIDC provider is listed
#      at /login (client secret from an existing Secret), a registration e-mail reaches a
#      loopback SMTP server logged in with the extraSecretConfig password, the app service
#      registrations are loaded, the further config file from a Secret applies;
#   6''. metrics: Synapse 1.162 runs the rendered metrics fixture, and Debian's prometheus
#      scrapes the port and path its rendered ServiceMonitor names (a static scrape config
#      made from it) until its HTTP API returns synapse_build_info;
#   6'''. backup and restore: Synapse (SQLite, then PostgreSQL) runs from the rendered config, a
#      user writes a message and a file, the rendered backup CronJob's script runs while
#      Synapse runs (its data volume read-only), and a second Synapse boots from the backup
#      alone: the user logs in and reads the message back;
#   6''''. workers: the workers fixture's processes run for real on loopback: PostgreSQL,
#      Debian's redis-server on the rendered redis.conf, Synapse main and one process per
#      worker pod from its rendered command, Debian's HAProxy on the rendered haproxy.cfg;
#      through the router two users message, sync, upload, type, read, set presence,
#      account data, push rules, send to-device, upload keys and search the directory, and
#      each request's serving process (its own access log) is the type Synapse's worker
#      docs name; writes land on the configured stream writers, replication reaches the
#      synchrotron through Redis (password enforced); before that a one-process SQLite
#      Synapse's database is moved with synapse_port_db and its user is served by the stack,
#      and after it the main process alone (workers off) serves what the workers wrote;
#   6a. the KRM function under kpt (fn eval and a Kptfile pipeline, twice for idempotence);
#      the Extism plugin loaded by the Python and Node Extism SDKs, byte-identical to the CLI;
#   6a'. the browser preview: the web flavour built with wasm-bindgen, the page driven in
#      headless Debian Chromium by playwright-core (object count, downloaded YAML byte-identical
#      to the CLI's, a typo's diagnostic at its line, the MatrixRTC switch, the plan);
#   6b. the deploy/ recipes: Argo CD's plugin script against the CLI's bytes, the kustomize
#      generator through kubectl kustomize, Flux's CI render step and example objects, and
#      the Helm 4 plugin in a real Helm 4 (fetched from npm for tests and benchmarks only),
#      and the CLI's Helm-style flags against that Helm's `helm template` for the same input;
#      the seed chart's reconstruction (tests/migrate) rendered by that Helm 4 gives the
#      committed chart manifests, which validate like the goldens;
#   7. cargo-fuzz targets over load + validate + render, for a bounded time: no panic, the same
#      bytes twice, the YAML and JSON outputs agreeing.
#
# Every numbered item above is a named step. With no argument all steps run in order; with
# names only those run, each installing what it needs first:
#   bash scripts/test.sh --list          # the step names, in order
#   bash scripts/test.sh clippy unit     # two steps
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Steps that build the CLI and run it share one debug build.
cli() { cargo build --locked -p matrix-render; }

step_deps() {
  step "installing test dependencies"
  bash scripts/test-deps.sh
}

step_fmt() {
  step "cargo fmt --check"
  cargo fmt --all -- --check
  cargo fmt --manifest-path xtask/Cargo.toml -- --check
}

step_clippy() {
  step "cargo clippy (native)"
  cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
  step "cargo clippy (wasm32-unknown-unknown)"
  cargo clippy --locked --target wasm32-unknown-unknown \
    -p matrix-render-model -p matrix-render-renderer -p matrix-render-plugin \
    --all-targets --all-features -- -D warnings
  step "cargo clippy (xtask)"
  cargo clippy --locked --manifest-path xtask/Cargo.toml --all-targets -- -D warnings
  step "front-ends stay thin: no file in crates/plugin-wasm/src over 300 lines"
  awk 'FNR == 301 { print FILENAME ": over 300 lines; move behaviour into the core"; long = 1 }
       END { exit long }' crates/plugin-wasm/src/*.rs
}

step_unit() {
  step "cargo test"
  cargo test --locked --workspace --all-features
}

step_shellcheck() {
  step "migration scripts: shellcheck as POSIX sh (every golden script of matrix-render migrate)"
  shellcheck --shell=sh tests/golden/migrate/*.sh
}

step_install() {
  step "packaging and install from a fresh clone: cargo package --workspace, cargo install --path"
  bash scripts/install-test.sh
}

step_yaml11() {
  step "YAML 1.1 round trip: PyYAML"
  dist/test-venv/bin/python tests/yaml11/roundtrip.py tests/golden
  step "YAML 1.1 round trip: Go gopkg.in/yaml.v2"
  GO111MODULE=off GOPATH=/usr/share/gocode go build -o dist/yaml11-go ./tests/yaml11/go
  dist/yaml11-go tests/golden
}

step_schema() {
  step "schema conformance: Python jsonschema agrees with matrix-render"
  dist/test-venv/bin/python tests/schema/conformance.py .
}

step_kube_validate() {
  step "kubernetes-validate --strict (1.29, 1.35)"
  bash tests/kube-validate.sh dist/test-venv/bin tests/golden
}

step_crd() {
  step "CRD schemas: custom resources validated strictly against their CRDs"
  bash scripts/crd-deps.sh
  dist/test-venv/bin/python tests/crd/validate.py --node-modules dist/crd-node/node_modules tests/golden/*.yaml
}

step_checkov() {
  step "checkov: Kubernetes security checks on every golden output"
  bash scripts/checkov-deps.sh
  dist/checkov-venv/bin/python tests/checkov/run.py --checkov dist/checkov-venv/bin/checkov \
    --summary-json dist/checkov-summary.json tests/golden/*.yaml
}

step_podsecurity() {
  step "Pod Security Standards: the checker refuses a pod breaking each control"
  dist/test-venv/bin/python tests/podsecurity/check.py --self-test
  step "Pod Security Standards: every pod meets the level of the namespace it lands in"
  dist/test-venv/bin/python tests/podsecurity/check.py tests/golden/*.yaml
}

step_real() {
  step "real programs: Synapse, coturn and nginx run the rendered configs (loopback only)"
  bash scripts/real-deps.sh
  cli
  dist/real-venv/bin/python tests/real/run.py --cli target/debug/matrix-render \
    --fixtures seed-rtc,example,registration-off,static-off,custom-pages,rtc-custom,delegation,postgres,psa-split,psa-restricted,psa-single
}

step_real_extra_config() {
  step "real Synapse: synapse.extraConfig's OIDC provider, SMTP, further config file and app services reach it"
  bash scripts/real-deps.sh
  cli
  dist/real-venv/bin/python tests/real/extra_config.py --cli target/debug/matrix-render
}

step_metrics() {
  step "metrics: a real Prometheus scrapes what the rendered ServiceMonitor names (loopback only)"
  bash scripts/real-deps.sh
  bash scripts/metrics-deps.sh
  cli
  dist/real-venv/bin/python tests/real/metrics.py --cli target/debug/matrix-render
}

step_backup() {
  step "backup and restore: the backup CronJob's script on a running Synapse, a second one from the backup"
  bash scripts/real-deps.sh
  cli
  dist/real-venv/bin/python tests/real/backup.py --cli target/debug/matrix-render \
    --fixtures backup-sqlite,backup-postgres
}

step_workers() {
  step "workers: Synapse main + one process per worker pod, Redis and HAProxy on the rendered configs (loopback only)"
  bash scripts/real-deps.sh
  cli
  dist/real-venv/bin/python tests/real/workers.py --cli target/debug/matrix-render
}

step_krm() {
  step "KRM function under kpt: fn eval, a Kptfile pipeline under fn render, each twice"
  cli
  bash tests/krm/run.sh target/debug/matrix-render
}

step_extism() {
  step "Extism plugin: built, then run by the Python and Node Extism SDKs"
  bash scripts/extism-deps.sh
  bash scripts/build-extism.sh
  cli
  dist/extism-venv/bin/python tests/extism/python_host.py --cli target/debug/matrix-render
  node tests/extism/node_host.cjs --cli target/debug/matrix-render
}

step_web() {
  step "browser preview: built, then driven in headless Chromium (playwright-core)"
  bash scripts/web-deps.sh
  bash scripts/build-web.sh
  cli
  node tests/web/run.mjs --cli target/debug/matrix-render --web dist/web --out dist/web-test \
    --node-modules dist/web-node/node_modules
}

step_deploy() {
  step "deploy recipes: Argo CD plugin contract, kustomize generator, Flux render step"
  cli
  bash tests/deploy/run.sh target/debug/matrix-render
}

step_helm4() {
  step "Helm 4 plugin: helm matrix-render (extism/v1) against the CLI's bytes"
  cli
  bash tests/deploy/helm4.sh target/debug/matrix-render
  step "Helm's flags: -f, --set, --set-string, --set-json, --set-file and -n against helm template"
  dist/test-venv/bin/python tests/deploy/helm_habits.py --cli target/debug/matrix-render
}

step_chart() {
  step "seed chart reconstruction: the chart manifests the migration tests read, current and valid"
  # tests/migrate/chart-manifest*.yaml must be what the real Helm 4 renders from tests/migrate/seed-chart.
  bash scripts/crd-deps.sh
  bash tests/migrate/render-chart.sh --check
  local chart_dir
  chart_dir=$(mktemp -d)
  cp tests/migrate/chart-manifest.yaml tests/migrate/chart-manifest-rtc.yaml "$chart_dir"/
  bash tests/kube-validate.sh dist/test-venv/bin "$chart_dir"
  dist/test-venv/bin/python tests/crd/validate.py --node-modules dist/crd-node/node_modules "$chart_dir"/*.yaml
  rm -rf "$chart_dir"
}

step_fuzz() {
  step "fuzzing the core (bounded: ${MR_FUZZ_SECONDS:-20} s per target)"
  bash scripts/fuzz.sh "${MR_FUZZ_SECONDS:-20}"
}

STEPS=(fmt clippy unit shellcheck install yaml11 schema kube-validate crd checkov podsecurity
  real real-extra-config metrics backup workers krm extism web deploy helm4 chart fuzz)

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${STEPS[@]}"
  exit 0
fi

selected=("$@")
if [[ ${#selected[@]} -eq 0 ]]; then
  selected=("${STEPS[@]}")
fi
for name in "${selected[@]}"; do
  known=
  for s in "${STEPS[@]}"; do [[ $s == "$name" ]] && known=1; done
  if [[ -z $known ]]; then
    echo "test.sh: unknown step \`$name\`; the steps are: ${STEPS[*]}" >&2
    exit 1
  fi
done

# Every step may need the shared dependencies (the venv, Go, shellcheck, the wasm32 target):
# the installer is quick when they are there and makes no network call.
step_deps
for name in "${selected[@]}"; do
  "step_${name//-/_}"
done

if [[ $# -eq 0 ]]; then
  step "all checks passed"
else
  step "passed: ${selected[*]}"
fi
