{{/* The name every object of the release shares: the release's name, as the guide's `statefulset.apps/minio`. */}}
{{- define "shale.name" -}}{{ .Release.Name | trunc 52 | trimSuffix "-" }}{{- end -}}

{{- define "shale.labels" -}}
app.kubernetes.io/name: shale
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "shale.selector" -}}
app.kubernetes.io/name: shale
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "shale.headless" -}}{{ include "shale.name" . }}-headless{{- end -}}

{{- define "shale.secretName" -}}{{ .Values.existingSecret | default (printf "%s-secrets" (include "shale.name" .)) }}{{- end -}}

{{/* A pod's stable DNS name through the headless service. */}}
{{- define "shale.podHost" -}}{{ .name }}-{{ .ordinal }}.{{ .headless }}.{{ .namespace }}.svc.cluster.local{{- end -}}

{{- define "shale.capacity" -}}
{{- if .Values.capacity -}}{{ .Values.capacity }}{{- else -}}{{ .Values.persistence.data.size | replace "i" "" }}{{- end -}}
{{- end -}}
