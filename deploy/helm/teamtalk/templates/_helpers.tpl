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

{{- define "teamtalk.configMapName" -}}
{{- printf "%s-config" (include "teamtalk.fullname" .) }}
{{- end }}

{{- define "teamtalk.secretName" -}}
{{- default (printf "%s-secret" (include "teamtalk.fullname" .)) .Values.secret.existingSecret }}
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
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "teamtalk.secretName" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "AUTH_JWT_SECRET") }}
{{- $v = index $existing.data "AUTH_JWT_SECRET" | b64dec }}
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

{{/* Env entries reading keys of the chart's Secret (dict "root" $ "keys" (list "AUTH_JWT_SECRET" …)), as a list for toYaml. */}}
{{- define "teamtalk.secretKeyEnv" -}}
{{- $name := include "teamtalk.secretName" .root }}
{{- range .keys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ . }}
      optional: true
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

{{- define "teamtalk.msgServer.terminationGracePeriodSeconds" -}}
{{- add .Values.msgServer.preStopSleepSeconds .Values.msgServer.drainTimeoutSeconds .Values.msgServer.terminationGraceExtraSeconds }}
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
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
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
            name: {{ include "teamtalk.configMapName" $root }}
        - secretRef:
            name: {{ include "teamtalk.secretName" $root }}
      env:
        - name: ADMIN_PORT
          value: {{ .values.adminPort | quote }}
        {{- with .env }}
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
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .volumes }}
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
