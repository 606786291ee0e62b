{{/* Names */}}
{{- define "teamtalk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "teamtalk.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "teamtalk.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: common, and selector labels of one component (dict "root" $ "component" "msg-server"). */}}
{{- define "teamtalk.labels" -}}
helm.sh/chart: {{ include "teamtalk.chart" . }}
app.kubernetes.io/name: {{ include "teamtalk.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: teamtalk
{{- end }}

{{- define "teamtalk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "teamtalk.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "teamtalk.componentLabels" -}}
{{ include "teamtalk.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "teamtalk.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "teamtalk.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "teamtalk.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "<namespace>.svc.<clusterDomain>": the suffix of in-cluster Service names. */}}
{{- define "teamtalk.svcDomain" -}}
{{- printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/*
Least privilege: each role has its own ConfigMap and Secret holding only the
variables it reads (packages/config/src/specs.ts). dict: root, component.
*/}}
{{- define "teamtalk.configMapName" -}}
{{- printf "%s-%s-config" (include "teamtalk.fullname" .root) .component }}
{{- end }}

{{/* The chart's Secret of one role (dict: root, component), or secret.existingSecret. */}}
{{- define "teamtalk.secretName" -}}
{{- default (printf "%s-%s-secret" (include "teamtalk.fullname" .root) .component) .root.Values.secret.existingSecret }}
{{- end }}

{{/* Secret keys each role reads (space-separated). */}}
{{- define "teamtalk.roleSecretKeys" -}}
{{- $keys := dict
  "login-server" "NATS_URL AUTH_JWT_SECRET TT_CONTENT_KEY"
  "msg-server" "NATS_URL AUTH_JWT_SECRET TT_CONTENT_KEY MSG_SERVER_TCP12_AES_KEY MSG_SERVER_OMTP_AES_KEY"
  "db-proxy" "MYSQL_PASSWORD REDIS_URL"
  "route-server" "NATS_URL"
  "push-server" "NATS_URL TT_CONTENT_KEY"
  "file-server" "NATS_URL" -}}
{{- index $keys .component }}
{{- end }}

{{/* The values of the chart's Secret of one role, as a YAML map (dict: root, component). */}}
{{- define "teamtalk.roleSecretData" -}}
{{- $root := .root -}}
{{- $all := dict
  "MYSQL_PASSWORD" (include "teamtalk.mysqlPassword" $root)
  "REDIS_URL" (include "teamtalk.redisUrl" $root)
  "NATS_URL" (include "teamtalk.natsUrl" $root)
  "AUTH_JWT_SECRET" (include "teamtalk.authJwtSecret" $root)
  "TT_CONTENT_KEY" (include "teamtalk.contentKey" $root)
  "MSG_SERVER_TCP12_AES_KEY" (toString $root.Values.msgServer.tcp12.aesKey)
  "MSG_SERVER_OMTP_AES_KEY" (toString $root.Values.msgServer.omtp.aesKey) -}}
{{- $data := dict -}}
{{- range splitList " " (include "teamtalk.roleSecretKeys" .) }}
{{- /* An empty content key (or tcp12 / OMTP AES key) is left out: the role then runs without one. */ -}}
{{- if or (not (has . (list "TT_CONTENT_KEY" "MSG_SERVER_TCP12_AES_KEY" "MSG_SERVER_OMTP_AES_KEY"))) (index $all .) }}
{{- $_ := set $data . (index $all .) }}
{{- end }}
{{- end }}
{{- range $k, $v := $root.Values.extraSecretEnv }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* The plain settings of one role, as a YAML map (dict: root, component). */}}
{{- define "teamtalk.roleConfigData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $data := dict "LOG_LEVEL" (toString $v.logLevel) "TT_SUBJECT_PREFIX" (toString $v.subjectPrefix) "ADMIN_HOST" "0.0.0.0" -}}
{{- if has .component (list "login-server" "msg-server" "push-server") }}
{{- /* Every db_proxy pod, through the headless Service; calls are balanced round-robin. */ -}}
{{- $_ := set $data "DB_PROXY_ADDR" (printf "dns:///%s-db-proxy-headless.%s:%v" (include "teamtalk.fullname" $root) (include "teamtalk.svcDomain" $root) $v.dbProxy.port) }}
{{- end }}
{{- if has .component (list "login-server" "msg-server") }}
{{- $_ := set $data "AUTH_JWT_TTL_S" (toString $v.auth.jwtTtlSeconds) }}
{{- end }}
{{- if eq .component "db-proxy" }}
{{- $_ := set $data "MYSQL_HOST" (include "teamtalk.mysqlHost" $root) }}
{{- $_ := set $data "MYSQL_PORT" (toString $v.mysql.port) }}
{{- $_ := set $data "MYSQL_USER" (toString $v.mysql.user) }}
{{- $_ := set $data "MYSQL_DATABASE" (toString $v.mysql.database) }}
{{- $_ := set $data "MYSQL_POOL_SIZE" (toString $v.mysql.poolSize) }}
{{- $_ := set $data "PASSWORD_SCRYPT_N" (toString $v.dbProxy.passwordScryptN) }}
{{- end }}
{{- if eq .component "push-server" }}
{{- $_ := set $data "PUSH_STREAM_REPLICAS" (toString $v.pushServer.streamReplicas) }}
{{- end }}
{{- if has .component (list "msg-server" "db-proxy") }}
{{- $_ := set $data "READINESS_GRACE_MS" (toString (mul $v.probes.dependencyGraceSeconds 1000)) }}
{{- end }}
{{- $data = merge $data (include "teamtalk.interRole.config" . | fromYaml) }}
{{- $data = merge $data (include "teamtalk.clientTls.config" . | fromYaml) }}
{{- range $k, $val := $v.extraEnv }}
{{- $_ := set $data $k (toString $val) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* Roles the release runs (components). */}}
{{- define "teamtalk.components" -}}
{{- $c := list "login-server" "msg-server" "db-proxy" "route-server" -}}
{{- if .Values.pushServer.enabled }}{{ $c = append $c "push-server" }}{{ end -}}
{{- if .Values.fileServer.enabled }}{{ $c = append $c "file-server" }}{{ end -}}
{{- join " " $c }}
{{- end }}

{{/*
AUTH_JWT_SECRET of the chart's Secret: auth.jwtSecret; else the value already in
the release's Secret (lookup: kept across upgrades; nothing is found by helm
template or --dry-run=client); else, with auth.generateJwtSecret, 64 random
characters; else empty. Worked out once per render (kept in .Values.auth) so the
Secret and the checksum/secret annotations of every pod agree.
*/}}
{{- define "teamtalk.authJwtSecret" -}}
{{- if not (hasKey .Values.auth "resolvedJwtSecret_") }}
{{- $v := .Values.auth.jwtSecret }}
{{- if not $v }}
{{- /* login_server's Secret; before per-role Secrets, the one shared "<fullname>-secret". */ -}}
{{- range list (include "teamtalk.secretName" (dict "root" . "component" "login-server")) (printf "%s-secret" (include "teamtalk.fullname" .)) }}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace . }}
{{- if and (not $v) $existing $existing.data (hasKey $existing.data "AUTH_JWT_SECRET") }}
{{- $v = index $existing.data "AUTH_JWT_SECRET" | b64dec }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (not $v) .Values.auth.generateJwtSecret }}
{{- $v = randAlphaNum 64 }}
{{- end }}
{{- $_ := set .Values.auth "resolvedJwtSecret_" $v }}
{{- end }}
{{- .Values.auth.resolvedJwtSecret_ }}
{{- end }}

{{/* TT_CONTENT_KEY: contentKey, else the deprecated pushServer.contentKey. */}}
{{- define "teamtalk.contentKey" -}}
{{- default .Values.pushServer.contentKey .Values.contentKey }}
{{- end }}

{{/* Env entries of one role's Secret keys (dict: root, component): with secret.existingSecret, a secretKeyRef per key the role reads; else nothing (envFrom of the role's own Secret). */}}
{{- define "teamtalk.secretKeyEnv" -}}
{{- if .root.Values.secret.existingSecret }}
{{- $name := .root.Values.secret.existingSecret }}
{{- range splitList " " (include "teamtalk.roleSecretKeys" .) }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
{{- end }}

{{/* Back ends: external by default, the release's own with devServices.enabled. */}}
{{- define "teamtalk.mysqlHost" -}}
{{- if .Values.devServices.enabled }}{{ include "teamtalk.fullname" . }}-mysql{{ else }}{{ .Values.mysql.host }}{{ end }}
{{- end }}

{{- define "teamtalk.mysqlPassword" -}}
{{- if and .Values.devServices.enabled (not .Values.mysql.password) }}teamtalk-dev{{ else }}{{ .Values.mysql.password }}{{ end }}
{{- end }}

{{- define "teamtalk.redisUrl" -}}
{{- if .Values.devServices.enabled }}redis://{{ include "teamtalk.fullname" . }}-redis:6379{{ else }}{{ .Values.redis.url }}{{ end }}
{{- end }}

{{- define "teamtalk.natsUrl" -}}
{{- if .Values.devServices.enabled }}nats://{{ include "teamtalk.fullname" . }}-nats:4222{{ else }}{{ .Values.nats.url }}{{ end }}
{{- end }}

{{/* msg_server: workload kind and replica count the per-pod Services must cover. */}}
{{- define "teamtalk.msgServer.kind" -}}
{{- if eq .Values.msgServer.exposure.mode "perPod" }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{- define "teamtalk.msgServer.maxPods" -}}
{{- if .Values.msgServer.autoscaling.enabled }}{{ .Values.msgServer.autoscaling.maxReplicas }}{{ else }}{{ .Values.msgServer.replicaCount }}{{ end }}
{{- end }}

{{/* What file_server pods advertise: host template ({ordinal}, {hostIP}), shared with login_server's LOGIN_MSFS_URL. */}}
{{- define "teamtalk.fileServer.advertiseHost" -}}
{{- $x := .Values.fileServer.exposure -}}
{{- if $x.advertiseHostTemplate }}{{ $x.advertiseHostTemplate }}
{{- else if eq $x.type "hostPort" }}{{ "{hostIP}" }}
{{- else }}{{ printf "%s-file-server-{ordinal}.%s" (include "teamtalk.fullname" .) (include "teamtalk.svcDomain" .) }}
{{- end }}
{{- end }}

{{/* Ports file_server pods advertise, JSON {"file": …, "http": …}; "<base>+{ordinal}" with NodePort Services. */}}
{{- define "teamtalk.fileServer.advertisePorts" -}}
{{- $f := .Values.fileServer -}}
{{- $x := $f.exposure -}}
{{- if eq $x.type "hostPort" }}
{{- dict "file" (toString $x.hostPort) "http" (toString $x.httpHostPort) | toJson }}
{{- else if eq $x.serviceType "NodePort" }}
{{- dict "file" (printf "%v+{ordinal}" $x.nodePortBase) "http" (printf "%v+{ordinal}" $x.httpNodePortBase) | toJson }}
{{- else }}
{{- dict "file" (toString $f.port) "http" (toString $f.httpPort) | toJson }}
{{- end }}
{{- end }}

{{/* Bytes of a Kubernetes quantity such as 10Gi, 500M or 2Ti (integer with an optional binary or decimal suffix). */}}
{{- define "teamtalk.quantityBytes" -}}
{{- $q := toString . -}}
{{- $m := regexFind "^[0-9]+" $q -}}
{{- if not $m }}{{ fail (printf "not a storage quantity: %q" $q) }}{{ end -}}
{{- $unit := trimPrefix $m $q -}}
{{- $mult := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- if not (hasKey $mult $unit) }}{{ fail (printf "storage quantity %q: use an integer with Ki, Mi, Gi, Ti, k, M, G or T" $q) }}{{ end -}}
{{- mul (int64 $m) (index $mult $unit) }}
{{- end }}

{{/*
FILE_SERVER_QUOTA_BYTES: fileServer.quotaBytes, else fileServer.quotaPercent of
the volume claim (headroom for the file system, partial uploads and images), so
the quota bites before the disk is full.
*/}}
{{- define "teamtalk.fileServer.quotaBytes" -}}
{{- $f := .Values.fileServer -}}
{{- if $f.quotaBytes }}{{ int64 $f.quotaBytes }}
{{- else }}{{ div (mul (int64 (include "teamtalk.quantityBytes" $f.persistence.size)) (int64 $f.quotaPercent)) 100 }}
{{- end }}
{{- end }}

{{/*
msg_server's drain: closing maxConnections at drainRate per second takes
ceil(maxConnections / drainRate) s. drainTimeoutSeconds 0 = exactly that;
a value below it, or a drain beyond 55 s (the process exits 60 s after
SIGTERM whatever happens), fails the render: clients would be cut at the deadline.
*/}}
{{- define "teamtalk.msgServer.drainSeconds" -}}
{{- $ms := .Values.msgServer -}}
{{- $rate := int $ms.drainRate -}}
{{- $needed := div (add (int $ms.maxConnections) (sub $rate 1)) $rate -}}
{{- $drain := ternary $needed (int $ms.drainTimeoutSeconds) (eq (int $ms.drainTimeoutSeconds) 0) -}}
{{- if lt $drain $needed }}
{{- fail (printf "msgServer.drainTimeoutSeconds=%v is too short: closing maxConnections=%v at drainRate=%v/s takes %v s; raise it (0 = derived), raise drainRate or lower maxConnections" $ms.drainTimeoutSeconds $ms.maxConnections $ms.drainRate $needed) }}
{{- end }}
{{- if gt $drain 55 }}
{{- fail (printf "msgServer: draining maxConnections=%v at drainRate=%v/s takes %v s, more than the 55 s a drain may last; raise drainRate or lower maxConnections" $ms.maxConnections $ms.drainRate $drain) }}
{{- end }}
{{- $drain }}
{{- end }}

{{- define "teamtalk.msgServer.terminationGracePeriodSeconds" -}}
{{- add .Values.msgServer.preStopSleepSeconds (include "teamtalk.msgServer.drainSeconds" .) .Values.msgServer.terminationGraceExtraSeconds }}
{{- end }}

{{/* Default affinity: prefer one pod of a component per node. */}}
{{- define "teamtalk.affinity" -}}
{{- if .values.affinity }}
{{- toYaml .values.affinity }}
{{- else }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "teamtalk.selectorLabels" (dict "root" .root "component" .component) | nindent 12 }}
{{- end }}
{{- end }}

{{/* extraEnv map -> env list entries, sorted by name. */}}
{{- define "teamtalk.envList" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{/*
Pod template of one role. dict:
  root, component ("msg-server"), role ("msg_server"), values (the role's values),
  env (YAML list text), ports (YAML list text), volumes / volumeMounts (YAML list text, optional),
  lifecycle (YAML text, optional), terminationGracePeriodSeconds (optional), annotations (map, optional)
*/}}
{{- define "teamtalk.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "teamtalk.componentLabels" (dict "root" $root "component" .component) | nindent 4 }}
  annotations:
    {{- /* Per role: a change to another role's settings or keys restarts none of this role's pods. */}}
    checksum/config: {{ include "teamtalk.roleConfigData" (dict "root" $root "component" .component) | sha256sum }}
    {{- if $root.Values.secret.existingSecret }}
    checksum/secret: {{ printf "%s/%s" $root.Values.secret.existingSecret (toString $root.Values.secret.existingSecretRevision) | sha256sum }}
    {{- else }}
    checksum/secret: {{ include "teamtalk.roleSecretData" (dict "root" $root "component" .component) | sha256sum }}
    {{- end }}
    {{- with .annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "teamtalk.serviceAccountName" $root }}
  automountServiceAccountToken: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with .terminationGracePeriodSeconds }}
  terminationGracePeriodSeconds: {{ . }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "teamtalk.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: [{{ .role | quote }}]
      envFrom:
        - configMapRef:
            name: {{ include "teamtalk.configMapName" (dict "root" $root "component" .component) }}
        {{- if not $root.Values.secret.existingSecret }}
        - secretRef:
            name: {{ include "teamtalk.secretName" (dict "root" $root "component" .component) }}
        {{- end }}
      env:
        - name: ADMIN_PORT
          value: {{ .values.adminPort | quote }}
        {{- with include "teamtalk.secretKeyEnv" (dict "root" $root "component" .component) }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with .env }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include "teamtalk.interRole.env" (dict "root" $root "component" .component) }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- include "teamtalk.envList" .values.extraEnv | nindent 8 }}
      ports:
        - name: admin
          containerPort: {{ .values.adminPort }}
          protocol: TCP
        {{- with .ports }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include "teamtalk.clientTls.containerPorts" (dict "root" $root "component" .component) }}
        {{- . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet:
          path: /healthz
          port: admin
        periodSeconds: 5
        timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.startupFailureThreshold }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: admin
        periodSeconds: {{ $root.Values.probes.livenessPeriodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
        failureThreshold: {{ $root.Values.probes.livenessFailureThreshold }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: admin
        periodSeconds: {{ $root.Values.probes.readinessPeriodSeconds }}
        timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
        failureThreshold: 2
      {{- with .lifecycle }}
      lifecycle:
        {{- . | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- with .volumeMounts }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include "teamtalk.interRole.volumeMounts" (dict "root" $root "component" .component) }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include "teamtalk.clientTls.volumeMounts" (dict "root" $root "component" .component) }}
        {{- . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .volumes }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with include "teamtalk.interRole.volumes" (dict "root" $root "component" .component) }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with include "teamtalk.clientTls.volumes" (dict "root" $root "component" .component) }}
    {{- . | nindent 4 }}
    {{- end }}
  affinity:
    {{- include "teamtalk.affinity" (dict "root" $root "component" .component "values" .values) | nindent 4 }}
  {{- with .values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* A headless Service per role: admin port (metrics) plus the role's own ports. dict: root, component, ports (YAML list text) */}}
{{- define "teamtalk.headlessService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "teamtalk.fullname" .root }}-{{ .component }}-headless
  labels:
    {{- include "teamtalk.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
    teamtalk.io/metrics: "true"
spec:
  clusterIP: None
  publishNotReadyAddresses: false
  selector:
    {{- include "teamtalk.selectorLabels" (dict "root" .root "component" .component) | nindent 4 }}
  ports:
    - name: admin
      port: {{ .values.adminPort }}
      targetPort: admin
      protocol: TCP
    {{- with .ports }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* PodDisruptionBudget of one role. dict: root, component, values */}}
{{- define "teamtalk.pdb" -}}
{{- if .values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "teamtalk.fullname" .root }}-{{ .component }}
  labels:
    {{- include "teamtalk.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "teamtalk.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end }}
{{- end }}
