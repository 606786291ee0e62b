{{- /*
TLS on the client listeners (docs/TLS.md, "Client listeners"): one Secret
(clientTls.secretName: tls.crt, tls.key, ca.crt with clientCertificates) mounted
read-only in msg_server, login_server and file_server; each TLS port listens next
to its plain one and is exposed on the same Services at its container port (pods
advertise TLS ports as they listen). Kubernetes updates a mounted Secret in place
and the roles re-read it (CLIENT_TLS_RELOAD_INTERVAL_MS): a renewal needs no
restart. dict: root, component.
*/ -}}

{{- /* The role's TLS ports that are on: a JSON list of {name, env, port}. */ -}}
{{- define "teamtalk.clientTls.ports" -}}
{{- $v := .root.Values -}}
{{- $out := list -}}
{{- if eq .component "msg-server" }}
{{- $ms := $v.msgServer }}
{{- if $ms.tlsPort }}{{ $out = append $out (dict "name" "client-tls" "env" "MSG_SERVER_TLS_PORT" "port" (int $ms.tlsPort)) }}{{ end }}
{{- if and $ms.ws.enabled $ms.ws.tlsPort }}{{ $out = append $out (dict "name" "wss" "env" "MSG_SERVER_WSS_PORT" "port" (int $ms.ws.tlsPort)) }}{{ end }}
{{- if and $ms.tcp12.enabled $ms.tcp12.tlsPort }}{{ $out = append $out (dict "name" "tcp12-tls" "env" "MSG_SERVER_TCP12_TLS_PORT" "port" (int $ms.tcp12.tlsPort)) }}{{ end }}
{{- if and $ms.omtp.enabled $ms.omtp.tlsPort }}{{ $out = append $out (dict "name" "omtp-tls" "env" "MSG_SERVER_OMTP_TLS_PORT" "port" (int $ms.omtp.tlsPort)) }}{{ end }}
{{- else if eq .component "login-server" }}
{{- if $v.loginServer.httpsPort }}{{ $out = append $out (dict "name" "https" "env" "LOGIN_HTTPS_PORT" "port" (int $v.loginServer.httpsPort)) }}{{ end }}
{{- else if eq .component "file-server" }}
{{- if $v.fileServer.tlsPort }}{{ $out = append $out (dict "name" "file-tls" "env" "FILE_SERVER_TLS_PORT" "port" (int $v.fileServer.tlsPort)) }}{{ end }}
{{- if $v.fileServer.httpsPort }}{{ $out = append $out (dict "name" "https" "env" "FILE_SERVER_HTTPS_PORT" "port" (int $v.fileServer.httpsPort)) }}{{ end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- /* The role binds its ports on the node (hostPort exposure): TLS ports too, at the same number. */ -}}
{{- define "teamtalk.clientTls.hostPort" -}}
{{- $v := .root.Values -}}
{{- if and (eq .component "msg-server") (eq $v.msgServer.exposure.mode "perPod") (eq $v.msgServer.exposure.perPod.type "hostPort") }}true{{ end }}
{{- if and (eq .component "file-server") (eq $v.fileServer.exposure.type "hostPort") }}true{{ end }}
{{- end }}

{{- /* Fails the render on a setting that cannot work. */ -}}
{{- define "teamtalk.clientTls.check" -}}
{{- $ports := include "teamtalk.clientTls.ports" . | fromJsonArray -}}
{{- $v := .root.Values -}}
{{- if and $ports (not $v.clientTls.secretName) }}
{{- $names := list }}{{ range $ports }}{{ $names = append $names .env }}{{ end }}
{{- fail (printf "%s: TLS ports (%s) need clientTls.secretName, a Secret with tls.crt and tls.key" .component (join ", " $names)) }}
{{- end }}
{{- if $ports }}
{{- $exp := $v.msgServer.exposure -}}
{{- if and (eq .component "msg-server") (or (and (ne $exp.mode "perPod") (eq $exp.loadBalancer.serviceType "NodePort")) (and (eq $exp.mode "perPod") (eq $exp.perPod.type "service") (eq $exp.perPod.serviceType "NodePort"))) }}
{{- fail "msgServer TLS ports are advertised as their container port: NodePort exposure cannot carry them (use LoadBalancer, ClusterIP or hostPort)" }}
{{- end }}
{{- if and (eq .component "file-server") (eq $v.fileServer.exposure.serviceType "NodePort") (ne $v.fileServer.exposure.type "hostPort") }}
{{- fail "fileServer TLS ports are exposed at their container port: NodePort exposure cannot carry them (use LoadBalancer, ClusterIP or hostPort)" }}
{{- end }}
{{- end }}
{{- end }}

{{- /* Plain settings: the certificate files and the TLS ports, as a YAML map. */ -}}
{{- define "teamtalk.clientTls.config" -}}
{{- include "teamtalk.clientTls.check" . -}}
{{- $v := .root.Values -}}
{{- $data := dict -}}
{{- $ports := include "teamtalk.clientTls.ports" . | fromJsonArray -}}
{{- if $ports }}
{{- $_ := set $data "CLIENT_TLS_CERT_FILE" "/etc/teamtalk/client-tls/tls.crt" }}
{{- $_ := set $data "CLIENT_TLS_KEY_FILE" "/etc/teamtalk/client-tls/tls.key" }}
{{- if $v.clientTls.clientCertificates }}
{{- $_ := set $data "CLIENT_TLS_CA_FILE" "/etc/teamtalk/client-tls/ca.crt" }}
{{- end }}
{{- $_ := set $data "CLIENT_TLS_RELOAD_INTERVAL_MS" (toString (mul $v.clientTls.reloadIntervalSeconds 1000)) }}
{{- range $ports }}
{{- $_ := set $data .env (toString .port) }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{- define "teamtalk.clientTls.volumes" -}}
{{- if include "teamtalk.clientTls.ports" . | fromJsonArray }}
{{- $v := .root.Values }}
- name: client-tls
  secret:
    secretName: {{ $v.clientTls.secretName }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      {{- if $v.clientTls.clientCertificates }}
      - key: ca.crt
        path: ca.crt
      {{- end }}
{{- end }}
{{- end }}

{{- /* No subPath: Kubernetes then swaps the files in place when the Secret changes. */ -}}
{{- define "teamtalk.clientTls.volumeMounts" -}}
{{- if include "teamtalk.clientTls.ports" . | fromJsonArray }}
- name: client-tls
  mountPath: /etc/teamtalk/client-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "teamtalk.clientTls.containerPorts" -}}
{{- $hostPort := include "teamtalk.clientTls.hostPort" . -}}
{{- range include "teamtalk.clientTls.ports" . | fromJsonArray }}
- name: {{ .name }}
  containerPort: {{ .port }}
  {{- if $hostPort }}
  hostPort: {{ .port }}
  {{- end }}
  protocol: TCP
{{- end }}
{{- end }}

{{- /* Entries of a Service's ports list: each TLS port at its own number. */ -}}
{{- define "teamtalk.clientTls.servicePorts" -}}
{{- range include "teamtalk.clientTls.ports" . | fromJsonArray }}
- name: {{ .name }}
  port: {{ .port }}
  targetPort: {{ .name }}
  protocol: TCP
{{- end }}
{{- end }}
