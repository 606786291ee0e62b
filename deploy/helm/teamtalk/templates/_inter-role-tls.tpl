{{- /*
TLS and credentials between roles (docs/TLS.md, "Between roles"): gRPC (mTLS),
NATS, Redis and MySQL. Certificates and passwords come from existing Secrets,
mounted as files or read by secretKeyRef; only the file paths and modes are
plain settings (in the role's ConfigMap). dict: root, component.
*/ -}}

{{- define "teamtalk.interRole.usesGrpc" -}}
{{- if has .component (list "db-proxy" "file-server" "msg-server" "login-server" "push-server") }}true{{ end }}
{{- end }}

{{- define "teamtalk.interRole.usesNats" -}}
{{- if has .component (list "login-server" "msg-server" "route-server" "push-server" "file-server") }}true{{ end }}
{{- end }}

{{- /* Fails the render on a setting that cannot work. */ -}}
{{- define "teamtalk.interRole.check" -}}
{{- $v := .Values -}}
{{- if and $v.grpcTls.enabled (not $v.grpcTls.secretName) }}{{ fail "grpcTls.enabled needs grpcTls.secretName: a Secret with tls.crt, tls.key and ca.crt" }}{{ end }}
{{- if and $v.mysql.tls.caSecret (ne $v.mysql.tls.mode "verify") }}{{ fail (printf "mysql.tls.caSecret is only used with mysql.tls.mode verify (mode is %s)" $v.mysql.tls.mode) }}{{ end }}
{{- if and $v.nats.tls.clientCert (not $v.nats.tls.secretName) }}{{ fail "nats.tls.clientCert needs nats.tls.secretName: a Secret with ca.crt, tls.crt and tls.key" }}{{ end }}
{{- if and $v.nats.auth.credsKey (not $v.nats.auth.secretName) }}{{ fail "nats.auth.credsKey needs nats.auth.secretName" }}{{ end }}
{{- end }}

{{- /* Plain settings: file paths and modes, as a YAML map. */ -}}
{{- define "teamtalk.interRole.config" -}}
{{- include "teamtalk.interRole.check" .root -}}
{{- $v := .root.Values -}}
{{- $data := dict -}}
{{- if and $v.grpcTls.enabled (include "teamtalk.interRole.usesGrpc" .) }}
{{- $_ := set $data "GRPC_TLS_CERT_FILE" "/etc/teamtalk/grpc-tls/tls.crt" }}
{{- $_ := set $data "GRPC_TLS_KEY_FILE" "/etc/teamtalk/grpc-tls/tls.key" }}
{{- $_ := set $data "GRPC_TLS_CA_FILE" "/etc/teamtalk/grpc-tls/ca.crt" }}
{{- $_ := set $data "GRPC_TLS_SERVER_NAME" (default (printf "%s-grpc" (include "teamtalk.fullname" .root)) $v.grpcTls.serverName) }}
{{- end }}
{{- if include "teamtalk.interRole.usesNats" . }}
{{- if $v.nats.tls.secretName }}
{{- $_ := set $data "NATS_TLS_CA_FILE" "/etc/teamtalk/nats-tls/ca.crt" }}
{{- if $v.nats.tls.clientCert }}
{{- $_ := set $data "NATS_TLS_CERT_FILE" "/etc/teamtalk/nats-tls/tls.crt" }}
{{- $_ := set $data "NATS_TLS_KEY_FILE" "/etc/teamtalk/nats-tls/tls.key" }}
{{- end }}
{{- end }}
{{- if $v.nats.auth.credsKey }}
{{- $_ := set $data "NATS_CREDS_FILE" "/etc/teamtalk/nats-auth/nats.creds" }}
{{- end }}
{{- end }}
{{- if eq .component "db-proxy" }}
{{- if $v.redis.tls.caSecret }}
{{- $_ := set $data "REDIS_TLS_CA_FILE" "/etc/teamtalk/redis-tls/ca.crt" }}
{{- end }}
{{- $_ := set $data "MYSQL_TLS" (toString $v.mysql.tls.mode) }}
{{- if $v.mysql.tls.caSecret }}
{{- $_ := set $data "MYSQL_TLS_CA_FILE" "/etc/teamtalk/mysql-tls/ca.crt" }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{- /* Passwords and tokens: env entries read from the Secrets named in values. */ -}}
{{- define "teamtalk.interRole.env" -}}
{{- $v := .root.Values -}}
{{- if and (include "teamtalk.interRole.usesNats" .) $v.nats.auth.secretName (not $v.nats.auth.credsKey) }}
{{- range list "NATS_USER" "NATS_PASSWORD" "NATS_TOKEN" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.nats.auth.secretName }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
{{- if and (eq .component "db-proxy") $v.redis.passwordSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.passwordSecret }}
      key: {{ $v.redis.passwordKey }}
{{- end }}
{{- end }}

{{- /* The Secrets' files: volumes (what) and volumeMounts (where), as YAML list text. */ -}}
{{- define "teamtalk.interRole.secretVolumes" -}}
{{- $v := .root.Values -}}
{{- $out := list -}}
{{- if and $v.grpcTls.enabled (include "teamtalk.interRole.usesGrpc" .) }}
{{- $out = append $out (dict "name" "grpc-tls" "secret" $v.grpcTls.secretName "items" (list "tls.crt" "tls.key" "ca.crt")) }}
{{- end }}
{{- if include "teamtalk.interRole.usesNats" . }}
{{- if $v.nats.tls.secretName }}
{{- $out = append $out (dict "name" "nats-tls" "secret" $v.nats.tls.secretName "items" (ternary (list "ca.crt" "tls.crt" "tls.key") (list "ca.crt") $v.nats.tls.clientCert)) }}
{{- end }}
{{- if $v.nats.auth.credsKey }}
{{- $out = append $out (dict "name" "nats-auth" "secret" $v.nats.auth.secretName "items" (list $v.nats.auth.credsKey) "paths" (dict $v.nats.auth.credsKey "nats.creds")) }}
{{- end }}
{{- end }}
{{- if eq .component "db-proxy" }}
{{- if $v.redis.tls.caSecret }}
{{- $out = append $out (dict "name" "redis-tls" "secret" $v.redis.tls.caSecret "items" (list "ca.crt")) }}
{{- end }}
{{- if $v.mysql.tls.caSecret }}
{{- $out = append $out (dict "name" "mysql-tls" "secret" $v.mysql.tls.caSecret "items" (list "ca.crt")) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- define "teamtalk.interRole.volumes" -}}
{{- range (include "teamtalk.interRole.secretVolumes" . | fromJsonArray) }}
{{- $paths := default (dict) .paths }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
    items:
      {{- range .items }}
      - key: {{ . }}
        path: {{ default . (index $paths .) }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "teamtalk.interRole.volumeMounts" -}}
{{- range (include "teamtalk.interRole.secretVolumes" . | fromJsonArray) }}
- name: {{ .name }}
  mountPath: /etc/teamtalk/{{ .name }}
  readOnly: true
{{- end }}
{{- end }}
