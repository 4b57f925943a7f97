#!/bin/sh
# Switches the Helm release 'matrix' in namespace 'matrix' to matrix-render's stack,
# with nothing lost. Written by `matrix-render migrate` from: tests/fixtures/seed/values.yaml, tests/fixtures/seed/secrets.yaml.
# It holds the rendered stack, Secrets included: keep it as private as .secrets.yaml.
#
#   sh migrate.sh backup [DIR]    back up Synapse's volume into DIR (default synapse-backup)
#   sh migrate.sh run             switch over; needs synapse-backup/synapse-data.tar
#                                 (BACKUP_DIR=DIR for another folder)
#   sh migrate.sh run --no-backup switch over without that check (you backed up otherwise)
#
# It works on the current kubectl context (`kubectl config current-context`); set KUBECTL
# to use another command, e.g. KUBECTL='kubectl --context prod'. It stops at the first
# failure and can be run again: each step either converges or is skipped once done.
#
# Back up first. `backup` runs exactly these commands:
#   kubectl -n 'matrix' exec deploy/synapse -- python -c "import sqlite3; s = sqlite3.connect('/data/homeserver.db'); d = sqlite3.connect('/data/homeserver.db.backup'); s.backup(d); d.close(); s.close()"
#   kubectl -n 'matrix' exec deploy/synapse -- tar -C /data -cf - . > synapse-backup/synapse-data.tar
# The archive holds a consistent copy of the SQLite database (homeserver.db.backup),
# the media store (media_store/) and the signing key (matrix.danishkodemonkey.net.signing.key).
# To restore, scale Synapse to 0 and unpack the archive into the volume
# (homeserver.db.backup becomes homeserver.db).
#
# The steps of `run`:
#   1. check that the cluster, the namespace, the data volume and the backup are there;
#   2. refuse a Synapse older than the one running (a downgrade refuses the database);
#   3. set the data volume's PersistentVolume to reclaim policy Retain;
#   4. while Helm still has the release: record the chart's manifest as each object's
#      last-applied configuration (kubectl's three-way merge then removes what only the
#      chart set), remove Helm's ownership annotations, and delete Helm's release records,
#      so that Helm forgets the release without deleting anything;
#   5. apply the stack;
#   6. delete the chart's objects the stack no longer has (never the data volume);
#   7. check that `kubectl diff` has nothing left to change;
#   8. apply again as the kubectl ApplySet `matrix-stack`, one per namespace, so that
#      later applies prune what you turn off.

set -eu
umask 077

say() { printf '%s\n' "$*" >&2; }
step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'migrate: error: %s\n' "$*" >&2; exit 1; }
k() { $KUBECTL "$@"; }
kn() { $KUBECTL -n "$NAMESPACE" "$@"; }
NAMESPACE='matrix'
RELEASE='matrix'
KUBECTL="${KUBECTL:-kubectl}"
SQLITE=yes
SQLITE_COPY='import sqlite3; s = sqlite3.connect('\''/data/homeserver.db'\''); d = sqlite3.connect('\''/data/homeserver.db.backup'\''); s.backup(d); d.close(); s.close()'
SIGNING_KEY='matrix.danishkodemonkey.net.signing.key'
RENDERED_VERSION=''
RENDERED_TAG='latest'
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM

cat > "$WORK/chart.yaml" <<'MATRIX_RENDER_CHART_EOF'
---
apiVersion: v1
kind: Secret
metadata:
  name: coturn-secret
  namespace: matrix
  labels:
    app: coturn
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
type: Opaque
data:
  TURN_SHARED_SECRET: ""
---
apiVersion: v1
kind: Secret
metadata:
  name: synapse-recaptcha
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
type: Opaque
data:
  RECAPTCHA_SITE_KEY: ""
  RECAPTCHA_SECRET_KEY: ""
  REGISTRATION_SHARED_SECRET: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: coturn-config
  namespace: matrix
  labels:
    app: coturn
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
data:
  turnserver.conf: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: element-config
  namespace: matrix
  labels:
    app: element
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
data:
  config.json: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: element-static-assets
  labels:
    app: element-static
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  namespace: matrix
data:
  logo.svg: ""
  welcome-bg.svg: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: element-static-pages
  labels:
    app: element-static
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  namespace: matrix
data:
  home.html: ""
  rules.html: ""
  welcome.html: ""
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: synapse-extra-config
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
data:
  synapse-extra-config.yaml: ""
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: synapse-data
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: "10Gi"
---
apiVersion: v1
kind: Service
metadata:
  name: element
  namespace: matrix
  labels:
    app: element
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  type: ClusterIP
  selector:
    app: element
  ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: element-static
  labels:
    app: element-static
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  namespace: matrix
spec:
  type: ClusterIP
  selector:
    app: element-static
  ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: synapse
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: synapse
  ports:
  - name: http
    port: 8008
    targetPort: 8008
    protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coturn
  namespace: matrix
  labels:
    app: coturn
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 1
  selector:
    matchLabels:
      app: coturn
  template:
    metadata:
      labels:
        app: coturn
    spec:
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      containers:
      - name: coturn
        image: "coturn/coturn:latest"
        imagePullPolicy: IfNotPresent
        args:
        - "-c"
        - /etc/coturn/turnserver.conf
        env:
        - name: TURN_SHARED_SECRET
          valueFrom:
            secretKeyRef:
              name: coturn-secret
              key: TURN_SHARED_SECRET
        ports:
        - name: turn-udp
          containerPort: 3478
          protocol: UDP
        - name: turn-tcp
          containerPort: 3478
          protocol: TCP
        - name: turns-tcp
          containerPort: 5349
          protocol: TCP
        volumeMounts:
        - name: coturn-config
          mountPath: /etc/coturn/turnserver.conf
          subPath: turnserver.conf
        - name: coturn-tls
          mountPath: /etc/coturn/tls
          readOnly: true
      volumes:
      - name: coturn-config
        configMap:
          name: coturn-config
      - name: coturn-tls
        secret:
          secretName: coturn-tls-secret
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: element
  namespace: matrix
  labels:
    app: element
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 1
  selector:
    matchLabels:
      app: element
  template:
    metadata:
      labels:
        app: element
    spec:
      containers:
      - name: element
        image: "vectorim/element-web:latest"
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: 80
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /
            port: http
          initialDelaySeconds: 5
          periodSeconds: 10
        livenessProbe:
          httpGet:
            path: /
            port: http
          initialDelaySeconds: 15
          periodSeconds: 20
        volumeMounts:
        - name: element-config
          mountPath: /app/config.json
          subPath: config.json
      volumes:
      - name: element-config
        configMap:
          name: element-config
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: element-static
  labels:
    app: element-static
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  namespace: matrix
spec:
  replicas: 1
  selector:
    matchLabels:
      app: element-static
  template:
    metadata:
      labels:
        app: element-static
    spec:
      containers:
      - name: nginx
        image: "nginx:1.27-alpine"
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: 80
          protocol: TCP
        volumeMounts:
        - name: pages
          mountPath: /usr/share/nginx/html/pages
          readOnly: true
        - name: assets
          mountPath: /usr/share/nginx/html/static-assets
          readOnly: true
      volumes:
      - name: pages
        configMap:
          name: element-static-pages
      - name: assets
        configMap:
          name: element-static-assets
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: synapse
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: synapse
  template:
    metadata:
      labels:
        app.kubernetes.io/name: synapse
    spec:
      initContainers:
      - name: synapse-generate
        image: "matrixdotorg/synapse:latest"
        imagePullPolicy: IfNotPresent
        command:
        - /bin/sh
        - "-c"
        args:
        - |
          if [ ! -f /data/homeserver.yaml ]; then
            /start.py generate
          fi
        env:
        - name: SYNAPSE_SERVER_NAME
          value: ""
        - name: SYNAPSE_REPORT_STATS
          value: ""
        volumeMounts:
        - name: synapse-data
          mountPath: /data
      - name: synapse-merge-config
        image: "mikefarah/yq:latest"
        command:
        - /bin/sh
        - "-c"
        args:
        - |
          yq eval-all -i '. as $item ireduce ({}; . * $item)' /data/homeserver.yaml /extra/synapse-extra-config.yaml
        volumeMounts:
        - name: synapse-data
          mountPath: /data
        - name: synapse-extra-config
          mountPath: /extra
      containers:
      - name: synapse
        image: "matrixdotorg/synapse:latest"
        imagePullPolicy: IfNotPresent
        env:
        - name: SYNAPSE_SERVER_NAME
          value: ""
        - name: SYNAPSE_REPORT_STATS
          value: ""
        - name: SYNAPSE_CONFIG_PATH
          value: ""
        envFrom:
        - secretRef:
            name: synapse-recaptcha
        ports:
        - name: http
          containerPort: 8008
          protocol: TCP
        resources:
          requests:
            cpu: "100m"
            memory: "256Mi"
          limits:
            cpu: "500m"
            memory: "1Gi"
        volumeMounts:
        - name: synapse-data
          mountPath: /data
      volumes:
      - name: synapse-data
        persistentVolumeClaim:
          claimName: synapse-data
      - name: synapse-extra-config
        configMap:
          name: synapse-extra-config
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: element
  namespace: matrix
  labels:
    app: element
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
    traefik.ingress.kubernetes.io/router.entrypoints: "web,websecure"
    traefik.ingress.kubernetes.io/router.tls: "true"
spec:
  ingressClassName: traefik
  tls:
  - hosts:
    - element.danishkodemonkey.net
    secretName: element-tls
  rules:
  - host: element.danishkodemonkey.net
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: element
            port:
              number: 80
      - path: /pages
        pathType: Prefix
        backend:
          service:
            name: element-static
            port:
              number: 80
      - path: /static-assets
        pathType: Prefix
        backend:
          service:
            name: element-static
            port:
              number: 80
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: synapse
  namespace: matrix
  labels:
    app.kubernetes.io/name: synapse
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
    traefik.ingress.kubernetes.io/router.entrypoints: "web, websecure"
    traefik.ingress.kubernetes.io/router.tls: "true"
spec:
  ingressClassName: traefik
  tls:
  - hosts:
    - matrix.danishkodemonkey.net
    secretName: synapse-tls
  rules:
  - host: matrix.danishkodemonkey.net
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: synapse
            port:
              number: 8008
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: coturn-tls
  namespace: matrix
  labels:
    app: coturn
    helm.sh/chart: matrix-synapse-0.1.0
    app.kubernetes.io/instance: matrix
    app.kubernetes.io/version: latest
    app.kubernetes.io/managed-by: Helm
spec:
  secretName: coturn-tls-secret
  issuerRef:
    name: letsencrypt
    kind: ClusterIssuer
  dnsNames:
  - turn.danishkodemonkey.net
MATRIX_RENDER_CHART_EOF
cat > "$WORK/stack.yaml" <<'MATRIX_RENDER_STACK_EOF'
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/component: network-policy
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: matrix-stack
    app.kubernetes.io/part-of: matrix-stack
  name: acme-http01-solver
  namespace: matrix
spec:
  podSelector:
    matchLabels:
      acme.cert-manager.io/http01-solver: "true"
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    ports:
    - protocol: TCP
      port: 8089
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/component: network-policy
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: matrix-stack
    app.kubernetes.io/part-of: matrix-stack
  name: default-deny
  namespace: matrix
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/managed-by: matrix-render
      app.kubernetes.io/part-of: matrix-stack
  policyTypes:
  - Ingress
  - Egress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element
  namespace: matrix
spec:
  podSelector:
    matchLabels:
      app: element
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    ports:
    - protocol: TCP
      port: http
  egress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static
  namespace: matrix
spec:
  podSelector:
    matchLabels:
      app: element-static
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    ports:
    - protocol: TCP
      port: http
  egress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse
  namespace: matrix
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: synapse
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
    ports:
    - protocol: TCP
      port: http
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
  - to:
    - ipBlock:
        cidr: "0.0.0.0/0"
        except:
        - "0.0.0.0/8"
        - "10.0.0.0/8"
        - "100.64.0.0/10"
        - "127.0.0.0/8"
        - "169.254.0.0/16"
        - "172.16.0.0/12"
        - "192.0.0.0/24"
        - "192.0.2.0/24"
        - "192.88.99.0/24"
        - "192.168.0.0/16"
        - "198.18.0.0/15"
        - "198.51.100.0/24"
        - "203.0.113.0/24"
        - "224.0.0.0/4"
        - "240.0.0.0/4"
    - ipBlock:
        cidr: "::/0"
        except:
        - "::/80"
        - "64:ff9b:1::/48"
        - "100::/64"
        - "2001::/23"
        - "2001:db8::/32"
        - "2002::/16"
        - "3fff::/20"
        - "5f00::/16"
        - "fc00::/7"
        - "fe80::/10"
        - "fec0::/10"
        - "ff00::/8"
---
apiVersion: v1
kind: Secret
data:
  TURN_SHARED_SECRET: "ZXhhbXBsZS10dXJuLXNoYXJlZC1zZWNyZXQtMDEyMzQ1Njc4OQ=="
metadata:
  labels:
    app: coturn
    app.kubernetes.io/component: turn
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: coturn
    app.kubernetes.io/part-of: matrix-stack
  name: coturn-secret
  namespace: matrix
type: Opaque
---
apiVersion: v1
kind: Secret
data:
  RECAPTCHA_SECRET_KEY: "ZXhhbXBsZS1yZWNhcHRjaGEtc2VjcmV0LWtleQ=="
  RECAPTCHA_SITE_KEY: "ZXhhbXBsZS1yZWNhcHRjaGEtc2l0ZS1rZXk="
  REGISTRATION_SHARED_SECRET: ZXhhbXBsZS1yZWdpc3RyYXRpb24tc2hhcmVkLXNlY3JldC0wMTIzNDU2Nzg5
metadata:
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse-recaptcha
  namespace: matrix
type: Opaque
---
apiVersion: v1
kind: ConfigMap
data:
  turnserver.conf: |
    # Rendered by matrix-render. static-auth-secret comes from the coturn-secret Secret
    # on the command line, never from this file.
    listening-port=3478
    tls-listening-port=5349
    listening-ip=0.0.0.0
    relay-ip=192.168.0.150
    external-ip=203.0.113.10
    realm=turn.danishkodemonkey.net
    server-name=turn.danishkodemonkey.net
    use-auth-secret
    fingerprint
    min-port=49160
    max-port=49200
    no-multicast-peers
    no-cli
    no-tlsv1
    no-tlsv1_1
    log-file=stdout
    simple-log
    cert=/etc/coturn/tls/tls.crt
    pkey=/etc/coturn/tls/tls.key
    pidfile=/tmp/turnserver.pid
    no-tcp-relay
    denied-peer-ip=0.0.0.0-0.255.255.255
    denied-peer-ip=10.0.0.0-10.255.255.255
    denied-peer-ip=100.64.0.0-100.127.255.255
    denied-peer-ip=127.0.0.0-127.255.255.255
    denied-peer-ip=169.254.0.0-169.254.255.255
    denied-peer-ip=172.16.0.0-172.31.255.255
    denied-peer-ip=192.0.0.0-192.0.0.255
    denied-peer-ip=192.0.2.0-192.0.2.255
    denied-peer-ip=192.88.99.0-192.88.99.255
    denied-peer-ip=192.168.0.0-192.168.255.255
    denied-peer-ip=198.18.0.0-198.19.255.255
    denied-peer-ip=198.51.100.0-198.51.100.255
    denied-peer-ip=203.0.113.0-203.0.113.255
    denied-peer-ip=224.0.0.0-239.255.255.255
    denied-peer-ip=240.0.0.0-255.255.255.255
    denied-peer-ip=::-::ffff:ffff:ffff
    denied-peer-ip=64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=100::-100::ffff:ffff:ffff:ffff
    denied-peer-ip=2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=3fff::-3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=5f00::-5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=fec0::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
    denied-peer-ip=ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
metadata:
  labels:
    app: coturn
    app.kubernetes.io/component: turn
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: coturn
    app.kubernetes.io/part-of: matrix-stack
  name: coturn-config
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  config.json: |
    {
      "default_server_config": {
        "m.homeserver": {
          "base_url": "https://matrix.danishkodemonkey.net",
          "server_name": "matrix.danishkodemonkey.net"
        },
        "m.identity_server": {
          "base_url": "https://vector.im"
        }
      },
      "disable_custom_urls": false,
      "disable_guests": false,
      "disable_login_language_selector": false,
      "disable_3pid_login": false,
      "brand": "Danish Kode Monkey Matrix",
      "integrations_ui_url": "https://scalar.vector.im/",
      "integrations_rest_url": "https://scalar.vector.im/api",
      "integrations_widgets_urls": [
        "https://scalar.vector.im/_matrix/integrations/v1",
        "https://scalar.vector.im/api"
      ],
      "bug_report_endpoint_url": "https://rageshakes.element.io/api/submit",
      "default_country_code": "GB",
      "show_labs_settings": true,
      "features": {},
      "default_federate": true,
      "default_theme": "dark",
      "room_directory": {
        "servers": [
          "matrix.danishkodemonkey.net"
        ]
      },
      "enable_presence_by_hs_url": {
        "https://matrix.danishkodemonkey.net": true
      },
      "setting_defaults": {
        "breadcrumbs": true
      },
      "jitsi": {
        "preferred_domain": "meet.element.io"
      },
      "branding": {
        "auth_header_logo_url": "https://element.danishkodemonkey.net/static-assets/logo.svg",
        "welcome_background_url": "https://element.danishkodemonkey.net/static-assets/welcome-bg.svg",
        "auth_footer_links": [
          {
            "text": "Server Rules",
            "url": "https://element.danishkodemonkey.net/pages/rules.html"
          },
          {
            "text": "Getting Started",
            "url": "https://element.danishkodemonkey.net/pages/welcome.html"
          }
        ]
      },
      "user_notice": {
        "title": "Danish Kode Monkey Matrix",
        "description": "By signing in, you agree to the server rules and moderation policy."
      },
      "permalink_prefix": "https://matrix.danishkodemonkey.net"
    }
metadata:
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element-config
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  nginx.conf: |
    worker_processes 1;
    pid /tmp/nginx.pid;
    error_log /dev/stderr warn;

    events {
        worker_connections 1024;
    }

    http {
        include /etc/nginx/mime.types;
        default_type application/octet-stream;
        access_log /dev/stdout;
        server_tokens off;
        sendfile on;
        client_body_temp_path /tmp/client_body;
        proxy_temp_path /tmp/proxy;
        fastcgi_temp_path /tmp/fastcgi;
        uwsgi_temp_path /tmp/uwsgi;
        scgi_temp_path /tmp/scgi;

        server {
            listen 8080;
            root /app;
            index index.html;
            absolute_redirect off;
            add_header X-Frame-Options SAMEORIGIN always;
            add_header X-Content-Type-Options nosniff always;
            add_header X-XSS-Protection "1; mode=block" always;
            add_header Content-Security-Policy "frame-ancestors 'self'" always;

            location ~ ^/(index\.html|config.*\.json|i18n/.*|version)?$ {
                add_header Cache-Control "no-cache";
                add_header X-Frame-Options SAMEORIGIN always;
                add_header X-Content-Type-Options nosniff always;
                add_header X-XSS-Protection "1; mode=block" always;
                add_header Content-Security-Policy "frame-ancestors 'self'" always;
            }
        }
    }
metadata:
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element-nginx
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  logo.svg: |
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" aria-label="Matrix logo">
      <title>Matrix logo</title>
      <defs>
        <linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stop-color="#0dbd8b"/>
          <stop offset="1" stop-color="#0a7e8c"/>
        </linearGradient>
      </defs>
      <rect x="2" y="2" width="60" height="60" rx="14" fill="url(#g)"/>
      <g fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round">
        <path d="M18 16h-5v32h5"/>
        <path d="M46 16h5v32h-5"/>
        <path d="M22 42V27m0 4c0-3 2-5 5-5s5 2 5 5v11m0-11c0-3 2-5 5-5s5 2 5 5v11"/>
      </g>
    </svg>
  welcome-bg.svg: |
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1600 900" preserveAspectRatio="xMidYMid slice" aria-hidden="true">
      <defs>
        <linearGradient id="base" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stop-color="#0b2b3a"/>
          <stop offset="0.55" stop-color="#0e4b52"/>
          <stop offset="1" stop-color="#10694f"/>
        </linearGradient>
        <radialGradient id="glowA" cx="0.2" cy="0.25" r="0.5">
          <stop offset="0" stop-color="#0dbd8b" stop-opacity="0.55"/>
          <stop offset="1" stop-color="#0dbd8b" stop-opacity="0"/>
        </radialGradient>
        <radialGradient id="glowB" cx="0.85" cy="0.8" r="0.55">
          <stop offset="0" stop-color="#368bd6" stop-opacity="0.45"/>
          <stop offset="1" stop-color="#368bd6" stop-opacity="0"/>
        </radialGradient>
        <linearGradient id="wave" x1="0" y1="0" x2="1" y2="0">
          <stop offset="0" stop-color="#ffffff" stop-opacity="0"/>
          <stop offset="0.5" stop-color="#ffffff" stop-opacity="0.12"/>
          <stop offset="1" stop-color="#ffffff" stop-opacity="0"/>
        </linearGradient>
      </defs>
      <rect width="1600" height="900" fill="url(#base)"/>
      <rect width="1600" height="900" fill="url(#glowA)"/>
      <rect width="1600" height="900" fill="url(#glowB)"/>
      <g fill="none" stroke="url(#wave)" stroke-width="2">
        <path d="M0 620C260 540 420 700 720 620S1240 460 1600 560"/>
        <path d="M0 660C280 580 460 740 760 660S1260 500 1600 610"/>
        <path d="M0 700C300 620 500 780 800 700S1280 540 1600 660"/>
      </g>
      <g fill="#ffffff" fill-opacity="0.06">
        <circle cx="1280" cy="180" r="140"/>
        <circle cx="260" cy="760" r="90"/>
        <circle cx="980" cy="120" r="36"/>
      </g>
    </svg>
metadata:
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static-assets
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  nginx.conf: |
    worker_processes 1;
    pid /tmp/nginx.pid;
    error_log /dev/stderr warn;

    events {
        worker_connections 1024;
    }

    http {
        include /etc/nginx/mime.types;
        default_type application/octet-stream;
        access_log /dev/stdout;
        server_tokens off;
        sendfile on;
        client_body_temp_path /tmp/client_body;
        proxy_temp_path /tmp/proxy;
        fastcgi_temp_path /tmp/fastcgi;
        uwsgi_temp_path /tmp/uwsgi;
        scgi_temp_path /tmp/scgi;

        server {
            listen 8080;
            absolute_redirect off;
            add_header X-Content-Type-Options nosniff always;

            location = /healthz {
                access_log off;
                default_type text/plain;
                return 200 "ok\n";
            }

            location /pages/ {
                alias /usr/share/nginx/html/pages/;
                index home.html;
            }

            location /static-assets/ {
                alias /usr/share/nginx/html/static-assets/;
            }
        }
    }
metadata:
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static-nginx
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  home.html: |
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Welcome</title>
    <style>
    :root{color-scheme:light dark;--bg:#f4f6f8;--card:#fff;--fg:#17191c;--muted:#4a525c;--link:#0a6e55;--line:#d8dde3}
    @media (prefers-color-scheme:dark){:root{--bg:#15191e;--card:#1f252c;--fg:#eef1f4;--muted:#b4bcc6;--link:#4fdcb1;--line:#36404a}}
    *{box-sizing:border-box}
    body{margin:0;padding:2rem 1rem;background:var(--bg);color:var(--fg);font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
    main{max-width:40rem;margin:0 auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:1rem}
    header{display:flex;align-items:center;gap:1rem}
    header img{width:3rem;height:3rem}
    h1{margin:0;font-size:1.75rem;line-height:1.2}
    h2{margin:1.75rem 0 .5rem;font-size:1.2rem}
    p,li{color:var(--muted)}
    a{color:var(--link);font-weight:600}
    a:focus-visible{outline:2px solid var(--link);outline-offset:2px}
    footer{margin-top:2rem;padding-top:1rem;border-top:1px solid var(--line);font-size:.9rem}
    </style>
    </head>
    <body>
    <main>
    <header>
    <img src="../static-assets/logo.svg" alt="" width="48" height="48">
    <h1>Welcome to this server</h1>
    </header>
    <p>This server is part of <strong>Matrix</strong>, an open network for secure, decentralised communication. Chat, share files and make voice or video calls with people here and on any other Matrix server.</p>
    <h2>What is Matrix?</h2>
    <p>Matrix is an open standard, much like email: you pick a home server, yet you can talk to anyone on the wider network. Conversations happen in rooms, and private chats can be end-to-end encrypted so only the participants can read them.</p>
    <h2>Where to go next</h2>
    <ul>
    <li><a href="welcome.html">Getting started guide</a> &mdash; create an account, verify your sessions and join your first rooms.</li>
    <li><a href="rules.html">Server rules</a> &mdash; please read them before taking part.</li>
    </ul>
    <footer>
    <p>Questions? Reach the administrators through the server notices room.</p>
    </footer>
    </main>
    </body>
    </html>
  rules.html: |
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Server rules</title>
    <style>
    :root{color-scheme:light dark;--bg:#f4f6f8;--card:#fff;--fg:#17191c;--muted:#4a525c;--link:#0a6e55;--line:#d8dde3}
    @media (prefers-color-scheme:dark){:root{--bg:#15191e;--card:#1f252c;--fg:#eef1f4;--muted:#b4bcc6;--link:#4fdcb1;--line:#36404a}}
    *{box-sizing:border-box}
    body{margin:0;padding:2rem 1rem;background:var(--bg);color:var(--fg);font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
    main{max-width:40rem;margin:0 auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:1rem}
    header{display:flex;align-items:center;gap:1rem}
    header img{width:3rem;height:3rem}
    h1{margin:0;font-size:1.75rem;line-height:1.2}
    h2{margin:1.75rem 0 .5rem;font-size:1.2rem}
    p,li{color:var(--muted)}
    a{color:var(--link);font-weight:600}
    a:focus-visible{outline:2px solid var(--link);outline-offset:2px}
    footer{margin-top:2rem;padding-top:1rem;border-top:1px solid var(--line);font-size:.9rem}
    </style>
    </head>
    <body>
    <main>
    <header>
    <img src="../static-assets/logo.svg" alt="" width="48" height="48">
    <h1>Server rules</h1>
    </header>
    <p>By using this server you agree to these rules. They apply to every room hosted here and to how members of this server behave elsewhere on the network.</p>
    <h2>Be respectful</h2>
    <p>Treat others with kindness. No harassment, threats, hate speech or discrimination of any kind. Respect people's privacy and never share their personal information without consent.</p>
    <h2>No illegal content</h2>
    <p>Do not post, share or link to anything that is illegal, including sexual content involving minors, pirated material or malware. Such content is removed and reported where required.</p>
    <h2>No spam</h2>
    <p>No unsolicited advertising, mass invites, message flooding or automated accounts without the administrators' permission.</p>
    <h2>Moderation</h2>
    <p>Administrators and room moderators may remove content, mute, kick or ban users who break these rules. Serious or repeated violations can lead to account suspension. Room owners may set additional rules for their rooms.</p>
    <h2>Contact</h2>
    <p>To report a problem or appeal a decision, write to the administrators in the <strong>server notices room</strong>, or use the <em>Report</em> option on a message.</p>
    <p><a href="home.html">Back to the home page</a> &middot; <a href="welcome.html">Getting started guide</a></p>
    <footer>
    <p>These rules may change; significant updates are announced in the server notices room.</p>
    </footer>
    </main>
    </body>
    </html>
  welcome.html: |
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Getting started</title>
    <style>
    :root{color-scheme:light dark;--bg:#f4f6f8;--card:#fff;--fg:#17191c;--muted:#4a525c;--link:#0a6e55;--line:#d8dde3}
    @media (prefers-color-scheme:dark){:root{--bg:#15191e;--card:#1f252c;--fg:#eef1f4;--muted:#b4bcc6;--link:#4fdcb1;--line:#36404a}}
    *{box-sizing:border-box}
    body{margin:0;padding:2rem 1rem;background:var(--bg);color:var(--fg);font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
    main{max-width:40rem;margin:0 auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:1rem}
    header{display:flex;align-items:center;gap:1rem}
    header img{width:3rem;height:3rem}
    h1{margin:0;font-size:1.75rem;line-height:1.2}
    h2{margin:1.75rem 0 .5rem;font-size:1.2rem}
    p,li{color:var(--muted)}
    a{color:var(--link);font-weight:600}
    a:focus-visible{outline:2px solid var(--link);outline-offset:2px}
    footer{margin-top:2rem;padding-top:1rem;border-top:1px solid var(--line);font-size:.9rem}
    </style>
    </head>
    <body>
    <main>
    <header>
    <img src="../static-assets/logo.svg" alt="" width="48" height="48">
    <h1>Getting started</h1>
    </header>
    <p>A few steps to make yourself at home on this server.</p>
    <h2>1. Create an account</h2>
    <p>Choose <em>Create account</em>, pick a username and a strong password. Your full address looks like <code>@name:server</code>. Add an email address if offered, so you can reset your password later.</p>
    <h2>2. Verify your sessions</h2>
    <p>Each device you sign in on is a session. Set up <em>secure backup</em> and save your recovery key somewhere safe. When you sign in elsewhere, verify the new session from one you already trust by comparing emoji, so your encrypted messages stay readable.</p>
    <h2>3. Join rooms</h2>
    <p>Open <em>Explore rooms</em> to browse the public directory, or join a room from an address or invite link. Use <em>Start chat</em> to message someone directly by their Matrix ID.</p>
    <h2>4. Start a call</h2>
    <p>In any direct chat or small room, press the phone or camera icon in the room header to start a voice or video call. Allow microphone and camera access when your browser asks.</p>
    <p><a href="home.html">Back to the home page</a> &middot; <a href="rules.html">Read the server rules</a></p>
    <footer>
    <p>Stuck? Ask the administrators in the server notices room.</p>
    </footer>
    </main>
    </body>
    </html>
metadata:
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static-pages
  namespace: matrix
---
apiVersion: v1
kind: ConfigMap
data:
  homeserver.yaml: |
    server_name: matrix.danishkodemonkey.net
    public_baseurl: "https://matrix.danishkodemonkey.net/"
    pid_file: /data/homeserver.pid
    report_stats: true
    listeners:
    - port: 8008
      tls: false
      type: http
      x_forwarded: true
      resources:
      - names:
        - client
        - federation
        compress: false
    database:
      name: sqlite3
      args:
        database: /data/homeserver.db
    log_config: /config/log.config
    media_store_path: /data/media_store
    signing_key_path: /data/matrix.danishkodemonkey.net.signing.key
    trusted_key_servers:
    - server_name: matrix.org
    suppress_key_server_warning: true
    registration_shared_secret_path: /secrets/synapse/REGISTRATION_SHARED_SECRET
    enable_registration: true
    enable_registration_without_verification: false
    enable_registration_captcha: true
    recaptcha_public_key_path: /secrets/synapse/RECAPTCHA_SITE_KEY
    recaptcha_private_key_path: /secrets/synapse/RECAPTCHA_SECRET_KEY
    registration_requires_token: false
    auto_join_rooms:
    - "#announcements:matrix.danishkodemonkey.net"
    - "#rules:matrix.danishkodemonkey.net"
    autocreate_auto_join_rooms: false
    autocreate_auto_join_rooms_federated: false
    auto_join_mxid_localpart: system
    serve_server_wellknown: true
    federation_domain_whitelist:
    - noidorith.net
    turn_uris:
    - "turn:turn.danishkodemonkey.net:3478?transport=udp"
    - "turn:turn.danishkodemonkey.net:3478?transport=tcp"
    - "turns:turn.danishkodemonkey.net:5349?transport=tcp"
    turn_shared_secret_path: /secrets/synapse/TURN_SHARED_SECRET
    turn_user_lifetime: 86400000
    turn_allow_guests: true
    allow_public_rooms_over_federation: true
    allow_public_rooms_without_auth: false
    room_list_publication_rules:
    - user_id: "*"
      alias: "*"
      room_id: "*"
      action: deny
    media_retention:
      local_media_lifetime: "365d"
      remote_media_lifetime: "365d"
    max_upload_size: "100M"
    url_preview_enabled: true
    url_preview_ip_range_blacklist:
    - "127.0.0.0/8"
    - "10.0.0.0/8"
    - "172.16.0.0/12"
    - "192.168.0.0/16"
    - "100.64.0.0/10"
    - "192.0.0.0/24"
    - "169.254.0.0/16"
    - "192.88.99.0/24"
    - "198.18.0.0/15"
    - "192.0.2.0/24"
    - "198.51.100.0/24"
    - "203.0.113.0/24"
    - "224.0.0.0/4"
    - "::1/128"
    - "fe80::/10"
    - "fc00::/7"
    - "2001:db8::/32"
    - "ff00::/8"
    - "fec0::/10"
    server_notices:
      system_mxid_localpart: notices
      room_name: Server Notices
      room_topic: "Official updates, policy changes, and maintenance notices."
      auto_join: true
  log.config: |
    version: 1
    formatters:
      precise:
        format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
    handlers:
      console:
        class: logging.StreamHandler
        formatter: precise
        stream: "ext://sys.stdout"
    loggers:
      synapse.storage.SQL:
        level: INFO
    root:
      level: INFO
      handlers:
      - console
    disable_existing_loggers: false
metadata:
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse-extra-config
  namespace: matrix
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse-data
  namespace: matrix
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: "10Gi"
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element
  namespace: matrix
spec:
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: http
  selector:
    app: element
  type: ClusterIP
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static
  namespace: matrix
spec:
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: http
  selector:
    app: element-static
  type: ClusterIP
---
apiVersion: v1
kind: Service
metadata:
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse
  namespace: matrix
spec:
  ports:
  - name: http
    port: 8008
    protocol: TCP
    targetPort: http
  selector:
    app.kubernetes.io/name: synapse
  type: ClusterIP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    checkov.io/skip1: "CKV_K8S_19=TURN relays media on the node's own ports and addresses; hostNetwork avoids NAT"
    checkov.io/skip2: "CKV_K8S_35=coturn takes static-auth-secret only from its config file or command line; the env var feeds the command line so the ConfigMap holds no secret"
    checkov.io/skip3: "CKV_K8S_43=images are pinned by version tag; set image.digest to pin them by digest"
    checkov.io/skip4: "CKV_K8S_15=a pinned version tag does not move, so IfNotPresent is safe; with image.digest checkov passes"
  labels:
    app: coturn
    app.kubernetes.io/component: turn
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: coturn
    app.kubernetes.io/part-of: matrix-stack
  name: coturn
  namespace: matrix
spec:
  replicas: 1
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: coturn
  strategy:
    type: Recreate
  template:
    metadata:
      annotations:
        checksum/config: "4a4dacc6b369f562525099637fa31c22b0d01f4eb38988f4b02d5fe993eee065"
      labels:
        app: coturn
        app.kubernetes.io/component: turn
        app.kubernetes.io/managed-by: matrix-render
        app.kubernetes.io/name: coturn
        app.kubernetes.io/part-of: matrix-stack
    spec:
      automountServiceAccountToken: false
      containers:
      - args:
        - "-c"
        - /etc/coturn/conf/turnserver.conf
        - "--static-auth-secret=$(TURN_SHARED_SECRET)"
        command:
        - turnserver
        env:
        - name: TURN_SHARED_SECRET
          valueFrom:
            secretKeyRef:
              key: TURN_SHARED_SECRET
              name: coturn-secret
        image: "coturn/coturn:4.6.3"
        imagePullPolicy: IfNotPresent
        livenessProbe:
          periodSeconds: 20
          tcpSocket:
            port: turn-tcp
        name: coturn
        ports:
        - containerPort: 3478
          name: turn-udp
          protocol: UDP
        - containerPort: 3478
          name: turn-tcp
          protocol: TCP
        - containerPort: 5349
          name: turns
          protocol: TCP
        readinessProbe:
          periodSeconds: 20
          tcpSocket:
            port: turn-tcp
        resources:
          limits:
            cpu: "1"
            memory: "512Mi"
          requests:
            cpu: "50m"
            memory: "64Mi"
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /etc/coturn/conf
          name: config
          readOnly: true
        - mountPath: /etc/coturn/tls
          name: tls
          readOnly: true
        - mountPath: /tmp
          name: tmp
      dnsPolicy: ClusterFirstWithHostNet
      hostNetwork: true
      securityContext:
        fsGroup: 65534
        fsGroupChangePolicy: OnRootMismatch
        runAsGroup: 65534
        runAsNonRoot: true
        runAsUser: 65534
        seccompProfile:
          type: RuntimeDefault
      volumes:
      - configMap:
          name: coturn-config
        name: config
      - name: tls
        secret:
          defaultMode: 288
          secretName: coturn-tls-secret
      - emptyDir: {}
        name: tmp
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    checkov.io/skip1: "CKV_K8S_43=images are pinned by version tag; set image.digest to pin them by digest"
    checkov.io/skip2: "CKV_K8S_15=a pinned version tag does not move, so IfNotPresent is safe; with image.digest checkov passes"
    checkov.io/skip3: "CKV_K8S_14=the values choose the latest tag (matrix-render validate warns: latest-tag); pin a version"
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element
  namespace: matrix
spec:
  replicas: 1
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: element
  template:
    metadata:
      annotations:
        checksum/config: afd7580eb5369dc5e0ff5edd973b2a793170c3b8199b4bb8566846dc8d4195d8
      labels:
        app: element
        app.kubernetes.io/component: web-client
        app.kubernetes.io/managed-by: matrix-render
        app.kubernetes.io/name: element
        app.kubernetes.io/part-of: matrix-stack
    spec:
      automountServiceAccountToken: false
      containers:
      - command:
        - nginx
        - "-c"
        - /etc/nginx/custom/nginx.conf
        - "-g"
        - "daemon off;"
        image: "vectorim/element-web:latest"
        imagePullPolicy: IfNotPresent
        livenessProbe:
          httpGet:
            path: /config.json
            port: http
          periodSeconds: 10
        name: element
        ports:
        - containerPort: 8080
          name: http
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /config.json
            port: http
          periodSeconds: 10
        resources:
          limits:
            cpu: "200m"
            memory: "128Mi"
          requests:
            cpu: "10m"
            memory: "32Mi"
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /app/config.json
          name: config
          readOnly: true
          subPath: config.json
        - mountPath: /etc/nginx/custom
          name: nginx-conf
          readOnly: true
        - mountPath: /tmp
          name: tmp
      securityContext:
        fsGroup: 10101
        fsGroupChangePolicy: OnRootMismatch
        runAsGroup: 10101
        runAsNonRoot: true
        runAsUser: 10101
        seccompProfile:
          type: RuntimeDefault
      volumes:
      - configMap:
          items:
          - key: config.json
            path: config.json
          name: element-config
        name: config
      - configMap:
          name: element-nginx
        name: nginx-conf
      - emptyDir: {}
        name: tmp
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    checkov.io/skip1: "CKV_K8S_43=images are pinned by version tag; set image.digest to pin them by digest"
    checkov.io/skip2: "CKV_K8S_15=a pinned version tag does not move, so IfNotPresent is safe; with image.digest checkov passes"
  labels:
    app: element-static
    app.kubernetes.io/component: static-pages
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element-static
    app.kubernetes.io/part-of: matrix-stack
  name: element-static
  namespace: matrix
spec:
  replicas: 1
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app: element-static
  template:
    metadata:
      annotations:
        checksum/config: a3119fb95c07b7c7b11d134baff2d449f5a8d86f3707858cfd13ddc22f7b9b0d
      labels:
        app: element-static
        app.kubernetes.io/component: static-pages
        app.kubernetes.io/managed-by: matrix-render
        app.kubernetes.io/name: element-static
        app.kubernetes.io/part-of: matrix-stack
    spec:
      automountServiceAccountToken: false
      containers:
      - command:
        - nginx
        - "-c"
        - /etc/nginx/custom/nginx.conf
        - "-g"
        - "daemon off;"
        image: "nginx:1.27-alpine"
        imagePullPolicy: IfNotPresent
        livenessProbe:
          httpGet:
            path: /healthz
            port: http
          periodSeconds: 10
        name: nginx
        ports:
        - containerPort: 8080
          name: http
          protocol: TCP
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
          periodSeconds: 10
        resources:
          limits:
            cpu: "100m"
            memory: "64Mi"
          requests:
            cpu: "10m"
            memory: "16Mi"
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /usr/share/nginx/html/pages
          name: pages
          readOnly: true
        - mountPath: /usr/share/nginx/html/static-assets
          name: assets
          readOnly: true
        - mountPath: /etc/nginx/custom
          name: nginx-conf
          readOnly: true
        - mountPath: /tmp
          name: tmp
      securityContext:
        fsGroup: 10101
        fsGroupChangePolicy: OnRootMismatch
        runAsGroup: 10101
        runAsNonRoot: true
        runAsUser: 10101
        seccompProfile:
          type: RuntimeDefault
      volumes:
      - configMap:
          name: element-static-pages
        name: pages
      - configMap:
          name: element-static-assets
        name: assets
      - configMap:
          name: element-static-nginx
        name: nginx-conf
      - emptyDir: {}
        name: tmp
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    checkov.io/skip1: "CKV_K8S_40=UID 991 is the Synapse image's user and owns the data on the existing synapse-data volume"
    checkov.io/skip2: "CKV_K8S_43=images are pinned by version tag; set image.digest to pin them by digest"
    checkov.io/skip3: "CKV_K8S_15=a pinned version tag does not move, so IfNotPresent is safe; with image.digest checkov passes"
    checkov.io/skip4: "CKV_K8S_14=the values choose the latest tag (matrix-render validate warns: latest-tag); pin a version"
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse
  namespace: matrix
spec:
  replicas: 1
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: synapse
  strategy:
    type: Recreate
  template:
    metadata:
      annotations:
        checksum/config: a3402dcc787b4203135ba82a13dc5dbca36c3aae0335b121c211c2d0de7d18c2
      labels:
        app.kubernetes.io/component: homeserver
        app.kubernetes.io/managed-by: matrix-render
        app.kubernetes.io/name: synapse
        app.kubernetes.io/part-of: matrix-stack
    spec:
      automountServiceAccountToken: false
      containers:
      - command:
        - python
        - "-m"
        - synapse.app.homeserver
        - "--config-path"
        - /config/homeserver.yaml
        image: "matrixdotorg/synapse:latest"
        imagePullPolicy: IfNotPresent
        livenessProbe:
          failureThreshold: 5
          httpGet:
            path: /health
            port: http
          periodSeconds: 30
          timeoutSeconds: 5
        name: synapse
        ports:
        - containerPort: 8008
          name: http
          protocol: TCP
        readinessProbe:
          failureThreshold: 3
          httpGet:
            path: /health
            port: http
          periodSeconds: 10
          timeoutSeconds: 5
        resources:
          limits:
            cpu: "2"
            memory: "4Gi"
          requests:
            cpu: "100m"
            memory: "256Mi"
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        startupProbe:
          failureThreshold: 60
          httpGet:
            path: /health
            port: http
          periodSeconds: 5
          timeoutSeconds: 5
        volumeMounts:
        - mountPath: /data
          name: data
        - mountPath: /config
          name: config
          readOnly: true
        - mountPath: /tmp
          name: tmp
        - mountPath: /secrets/synapse
          name: secrets
          readOnly: true
      initContainers:
      - command:
        - python
        - "-m"
        - synapse.app.homeserver
        - "--config-path"
        - /config/homeserver.yaml
        - "--generate-keys"
        image: "matrixdotorg/synapse:latest"
        imagePullPolicy: IfNotPresent
        name: generate-signing-key
        resources:
          limits:
            cpu: "500m"
            memory: "512Mi"
          requests:
            cpu: "50m"
            memory: "128Mi"
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /data
          name: data
        - mountPath: /config
          name: config
          readOnly: true
        - mountPath: /tmp
          name: tmp
        - mountPath: /secrets/synapse
          name: secrets
          readOnly: true
      securityContext:
        fsGroup: 991
        fsGroupChangePolicy: OnRootMismatch
        runAsGroup: 991
        runAsNonRoot: true
        runAsUser: 991
        seccompProfile:
          type: RuntimeDefault
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: synapse-data
      - configMap:
          name: synapse-extra-config
        name: config
      - emptyDir: {}
        name: tmp
      - name: secrets
        projected:
          defaultMode: 288
          sources:
          - secret:
              items:
              - key: RECAPTCHA_SITE_KEY
                path: RECAPTCHA_SITE_KEY
              - key: RECAPTCHA_SECRET_KEY
                path: RECAPTCHA_SECRET_KEY
              - key: REGISTRATION_SHARED_SECRET
                path: REGISTRATION_SHARED_SECRET
              name: synapse-recaptcha
          - secret:
              items:
              - key: TURN_SHARED_SECRET
                path: TURN_SHARED_SECRET
              name: coturn-secret
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
    traefik.ingress.kubernetes.io/router.entrypoints: "web,websecure"
  labels:
    app: element
    app.kubernetes.io/component: web-client
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: element
    app.kubernetes.io/part-of: matrix-stack
  name: element
  namespace: matrix
spec:
  ingressClassName: traefik
  rules:
  - host: element.danishkodemonkey.net
    http:
      paths:
      - backend:
          service:
            name: element
            port:
              number: 80
        path: /
        pathType: Prefix
      - backend:
          service:
            name: element-static
            port:
              number: 80
        path: /pages
        pathType: Prefix
      - backend:
          service:
            name: element-static
            port:
              number: 80
        path: /static-assets
        pathType: Prefix
  tls:
  - hosts:
    - element.danishkodemonkey.net
    secretName: element-tls
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
    traefik.ingress.kubernetes.io/router.entrypoints: "web,websecure"
  labels:
    app.kubernetes.io/component: homeserver
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: synapse
    app.kubernetes.io/part-of: matrix-stack
  name: synapse
  namespace: matrix
spec:
  ingressClassName: traefik
  rules:
  - host: matrix.danishkodemonkey.net
    http:
      paths:
      - backend:
          service:
            name: synapse
            port:
              number: 8008
        path: /
        pathType: Prefix
  tls:
  - hosts:
    - matrix.danishkodemonkey.net
    secretName: synapse-tls
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  labels:
    app: coturn
    app.kubernetes.io/component: turn
    app.kubernetes.io/managed-by: matrix-render
    app.kubernetes.io/name: coturn
    app.kubernetes.io/part-of: matrix-stack
  name: coturn-tls
  namespace: matrix
spec:
  secretName: coturn-tls-secret
  issuerRef:
    name: letsencrypt
    kind: ClusterIssuer
    group: cert-manager.io
  dnsNames:
  - turn.danishkodemonkey.net
MATRIX_RENDER_STACK_EOF

delete_removed() {
  say "the stack keeps every object of the chart: nothing to delete"
}

replace_immutable() {
  :
}

record_applysets() {
  KUBECTL_APPLYSET=true $KUBECTL -n 'matrix' apply --server-side --force-conflicts --prune --applyset=matrix-stack -f "$WORK/stack.yaml"
}

backup() {
  dir="${1:-synapse-backup}"
  [ ! -e "$dir/synapse-data.tar" ] || fail "$dir/synapse-data.tar exists: keep it, and back up into another folder"
  mkdir -p "$dir"
  if [ "$SQLITE" = yes ]; then
    step "copying the SQLite database consistently (homeserver.db.backup, in the pod)"
    kn exec deploy/synapse -- python -c "$SQLITE_COPY"
  fi
  step "streaming /data to $dir/synapse-data.tar"
  kn exec deploy/synapse -- tar -C /data -cf - . > "$dir/synapse-data.tar"
  tar -tf "$dir/synapse-data.tar" > "$WORK/listing" || fail "$dir/synapse-data.tar is not a tar archive"
  grep -q "$SIGNING_KEY\$" "$WORK/listing" || fail "the archive has no $SIGNING_KEY: check the volume before going on"
  if [ "$SQLITE" = yes ]; then
    grep -q 'homeserver\.db\.backup$' "$WORK/listing" || fail "the archive has no homeserver.db.backup"
  else
    say "the database is PostgreSQL: dump it too (pg_dump -Fc), the archive holds only the volume"
  fi
  say "backed up to $dir/synapse-data.tar; next: sh migrate.sh run"
}

run() {
  step "1. the cluster, the namespace, the data volume and the backup"
  say "kubectl context: $(k config current-context 2>/dev/null || echo unknown)"
  k get namespace "$NAMESPACE" > /dev/null
  kn get persistentvolumeclaim synapse-data > /dev/null || fail "no volume claim synapse-data in namespace $NAMESPACE"
  if [ "${1:-}" != --no-backup ]; then
    [ -s "${BACKUP_DIR:-synapse-backup}/synapse-data.tar" ] ||
      fail "no backup: run 'sh migrate.sh backup' first (or 'run --no-backup' if you backed up otherwise)"
  fi
  records=$(kn get secrets,configmaps -l "owner=helm,name=$RELEASE" -o name)

  step "2. Synapse's version"
  running=$(kn exec deploy/synapse -- python -c 'import synapse; print(synapse.__version__)' 2>/dev/null || true)
  if [ -z "$running" ]; then
    say "warning: could not read the running Synapse's version; make sure $RENDERED_TAG is not older"
  elif [ -z "$RENDERED_VERSION" ]; then
    say "warning: Synapse $running runs; the stack runs tag $RENDERED_TAG, which is not a version: pin synapse.image.tag to v$running or later"
  else
    lowest=$(printf '%s\n%s\n' "$RENDERED_VERSION" "$running" | sort -t. -k1,1n -k2,2n -k3,3n | head -n 1)
    if [ "$lowest" = "$RENDERED_VERSION" ] && [ "$RENDERED_VERSION" != "$running" ]; then
      fail "Synapse $running runs, the stack would run $RENDERED_VERSION: a downgrade refuses the database; set synapse.image.tag to v$running or later and render again"
    fi
    say "Synapse $running runs; the stack runs $RENDERED_VERSION"
  fi

  step "3. the data volume survives its claim"
  pv=$(kn get persistentvolumeclaim synapse-data -o 'jsonpath={.spec.volumeName}')
  [ -n "$pv" ] || fail "the claim synapse-data is not bound to a volume"
  k patch persistentvolume "$pv" -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'
  policy=$(k get persistentvolume "$pv" -o 'jsonpath={.spec.persistentVolumeReclaimPolicy}')
  [ "$policy" = Retain ] || fail "PersistentVolume $pv has reclaim policy '$policy', not Retain"

  step "4. hand the chart's objects to kubectl; Helm forgets release $RELEASE"
  if [ -n "$records" ]; then
    k apply set-last-applied --create-annotation -f "$WORK/chart.yaml"
    k annotate -f "$WORK/chart.yaml" meta.helm.sh/release-name- meta.helm.sh/release-namespace-
    kn delete secrets,configmaps -l "owner=helm,name=$RELEASE"
  else
    say "Helm has no record of release $RELEASE: already handed over"
  fi

  step "5. apply the stack"
  # What cannot change in place and holds no data (a Secret's type) is created anew.
  replace_immutable
  k apply -f "$WORK/stack.yaml"

  step "6. delete the chart's objects the stack no longer has"
  delete_removed

  step "7. nothing left to change"
  set +e
  k diff -f "$WORK/stack.yaml" > "$WORK/diff"
  status=$?
  set -e
  case $status in
    0) say "kubectl diff: no differences" ;;
    1) cat "$WORK/diff" >&2; fail "kubectl diff still shows changes (above)" ;;
    *) fail "kubectl diff failed (exit $status)" ;;
  esac

  step "8. record the stack as the ApplySet matrix-stack (one per namespace)"
  record_applysets

  say ""
  say "done: release $RELEASE now runs matrix-render's stack; Helm no longer knows it (never run helm uninstall for it)."
  say "from now on: matrix-render render ... > stack.yaml, then apply it with the ApplySet (README: Applying and pruning)"
}

case "${1:-}" in
  backup) shift; backup "$@" ;;
  run) shift; run "$@" ;;
  *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
