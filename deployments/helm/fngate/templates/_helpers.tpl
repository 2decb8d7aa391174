{{/*
The release's name prefix of every object, at most 40 characters so that
the longest suffix (-worker-metrics) keeps a Service name within 63.
*/}}
{{- define "fngate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "fngate.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fngate.labels" -}}
{{ include "fngate.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "fngate.image" -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/*
GOMEMLIMIT in bytes: percent of a memory limit written as a plain number of
bytes or with a binary suffix (Ki, Mi, Gi). (dict "limit" "512Mi" "percent" 90)
*/}}
{{- define "fngate.gomemlimit" -}}
{{- $limit := toString .limit -}}
{{- if not (regexMatch "^[0-9]+(Ki|Mi|Gi)?$" $limit) -}}
{{- fail (printf "memory limit %q: write it in bytes, Ki, Mi or Gi (GOMEMLIMIT is computed from it)" $limit) -}}
{{- end -}}
{{- $unit := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 -}}
{{- $suffix := regexFind "(Ki|Mi|Gi)$" $limit -}}
{{- $n := int64 (trimSuffix $suffix $limit) -}}
{{- $bytes := mul $n (get $unit $suffix | default 1) -}}
{{- div (mul $bytes (int64 .percent)) 100 -}}
{{- end -}}

{{/*
Pod-level settings shared by gateways and workers: no Kubernetes API token
(neither calls the API; functions run in the worker's pod), no Service
variables in the environment, non-root with the image's numeric user (the
images name theirs, which the kubelet cannot check), the runtime's seccomp
profile. (dict "root" $ "uid" 65532 "values" .Values.gateway)
*/}}
{{- define "fngate.podSpec" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .uid }}
  runAsGroup: {{ .uid }}
  seccompProfile: {type: RuntimeDefault}
terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
{{- with .values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The container's security context: read-only root filesystem, no privileges. */}}
{{- define "fngate.containerSecurityContext" -}}
securityContext:
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
{{- end -}}

{{/*
The environment both components share: NATS as the role's user, Redis
through Sentinel with its password, GOMEMLIMIT from the memory limit, then
the component's own extra FNGATE_* settings. Secrets go in FNGATE_*
variables only: none of them ever reaches a function.
(dict "root" $ "values" .Values.worker "user" "worker" "passwordKey" "...")
*/}}
{{- define "fngate.commonEnv" -}}
{{- $v := .root.Values -}}
- {name: FNGATE_NATS_URL, value: {{ $v.nats.url | quote }}}
- {name: FNGATE_NATS_USER, value: {{ .user | quote }}}
- name: FNGATE_NATS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $v.secrets.nats.name }}, key: {{ .passwordKey }}}}
{{- with $v.redis.sentinelAddrs }}
- {name: FNGATE_REDIS_ADDRS, value: {{ . | quote }}}
{{- end }}
{{- with $v.redis.master }}
- {name: FNGATE_REDIS_MASTER, value: {{ . | quote }}}
{{- end }}
{{- if $v.secrets.redis.name }}
{{- if not $v.redis.master }}
{{- fail "secrets.redis needs redis.master: the password reaches the URL through FNGATE_REDIS_SENTINEL_PASSWORD" }}
{{- end }}
{{- /* The sentinels' password, and the servers' (the same) in the URL. */}}
- name: FNGATE_REDIS_SENTINEL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $v.secrets.redis.name }}, key: {{ $v.secrets.redis.key }}}}
- {name: FNGATE_REDIS_URL, value: {{ printf "redis://:$(FNGATE_REDIS_SENTINEL_PASSWORD)@%s:%v/%v" $v.redis.host $v.redis.port $v.redis.db | quote }}}
{{- else }}
- {name: FNGATE_REDIS_URL, value: {{ printf "redis://%s:%v/%v" $v.redis.host $v.redis.port $v.redis.db | quote }}}
{{- end }}
- {name: GOMEMLIMIT, value: {{ include "fngate.gomemlimit" (dict "limit" .values.resources.limits.memory "percent" .values.goMemLimitPercent) | quote }}}
{{- range $name, $value := .values.env }}
{{- if not (hasPrefix "FNGATE_" $name) }}
{{- fail (printf "env: %s is not an FNGATE_* setting (only those are kept from functions)" $name) }}
{{- end }}
- {name: {{ $name }}, value: {{ $value | toString | quote }}}
{{- end }}
{{- end -}}

{{- /* Egress both components need: NATS, Redis, DNS to find them. */}}
{{- define "fngate.backendEgress" -}}
- to:
    - podSelector:
        matchLabels: {{- toYaml .Values.nats.podSelector | nindent 10 }}
  ports:
    - {protocol: TCP, port: {{ .Values.nats.port }}}
- to:
    - podSelector:
        matchLabels: {{- toYaml .Values.redis.podSelector | nindent 10 }}
  ports:
    {{- range .Values.redis.ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
- to:
    - namespaceSelector: {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      podSelector: {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 8 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}
{{- /* Who may reach a private port: the namespace, and networkPolicy.metricsFrom. */}}
{{- define "fngate.namespaceOnly" -}}
- podSelector: {}
{{- with .Values.networkPolicy.metricsFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}
