{{- define "sdo.name" -}}subdomain-operator{{- end -}}
{{- define "sdo.labels" -}}
app.kubernetes.io/name: subdomain-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "sdo.selector" -}}
app.kubernetes.io/name: subdomain-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
