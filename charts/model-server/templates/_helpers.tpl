{{/* Names ------------------------------------------------------------------------------------------- */}}

{{- define "model-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "model-server.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "model-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "model-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "model-server.labels" -}}
helm.sh/chart: {{ include "model-server.chart" . }}
{{ include "model-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: inference
app.kubernetes.io/managed-by: {{ .Release.Service }}
sovereign.ai/model: {{ .Values.model.name | quote }}
{{- end -}}

{{- define "model-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "model-server.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference from {repository, tag, digest}. */}}
{{- define "model-server.imageRef" -}}
{{- if .digest -}}
{{- printf "%s:%s@%s" .repository .tag .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{/* Weights ----------------------------------------------------------------------------------------- */}}

{{/* "aws" for s3://, "gcp" for gs://, "" for the quick-start hub fallback. */}}
{{- define "model-server.weightsCloud" -}}
{{- if hasPrefix "s3://" .Values.weights.uri -}}aws
{{- else if hasPrefix "gs://" .Values.weights.uri -}}gcp
{{- end -}}
{{- end -}}

{{/* Hub repository for the fallback: model.source, else the catalog mapping in files/hub-sources.yaml. */}}
{{- define "model-server.hubSource" -}}
{{- if .Values.model.source -}}
{{- .Values.model.source -}}
{{- else -}}
{{- $sources := .Files.Get "files/hub-sources.yaml" | fromYaml -}}
{{- get $sources .Values.model.name | default "" -}}
{{- end -}}
{{- end -}}

{{- define "model-server.weightsDir" -}}
{{- printf "/models/%s" .Values.model.name -}}
{{- end -}}

{{/* "true" when vLLM streams weights.uri itself (no init copy, no local weights cache). */}}
{{- define "model-server.streamsWeights" -}}
{{- if and .Values.weights.uri (eq .Values.weights.load "stream") -}}true{{- end -}}
{{- end -}}

{{/* The S3 reader's region and credentials: the bucket's regional endpoints (inside the egress fence), IRSA through
regional STS, and never the node's instance role (IMDS) should the pod's identity be missing. */}}
{{- define "model-server.awsEnv" -}}
{{- with .Values.weights.awsRegion }}
- name: AWS_REGION
  value: {{ . | quote }}
- name: AWS_DEFAULT_REGION
  value: {{ . | quote }}
{{- end }}
- name: AWS_STS_REGIONAL_ENDPOINTS
  value: regional
- name: AWS_EC2_METADATA_DISABLED
  value: "true"
{{- end -}}

{{/* What `vllm serve` loads: the bucket URI (streamed), the synced local directory, or the hub repository. */}}
{{- define "model-server.modelPath" -}}
{{- if include "model-server.streamsWeights" . -}}
{{- .Values.weights.uri -}}
{{- else if .Values.weights.uri -}}
{{- include "model-server.weightsDir" . -}}
{{- else -}}
{{- include "model-server.hubSource" . -}}
{{- end -}}
{{- end -}}

{{/* Checks the schema cannot express; each names the values involved. ---------------------------------- */}}
{{- define "model-server.validate" -}}
{{- $v := .Values -}}
{{- if not $v.model.name -}}
{{- fail "model.name is required (e.g. --set model.name=qwen2.5-7b-instruct)" -}}
{{- end -}}
{{- if ne (int $v.gpu.count) (int $v.vllm.tensorParallelSize) -}}
{{- fail (printf "vllm.tensorParallelSize (%d) must equal gpu.count (%d): one replica shards the model over exactly its own GPUs" (int $v.vllm.tensorParallelSize) (int $v.gpu.count)) -}}
{{- end -}}
{{- if and (not $v.weights.uri) (not (include "model-server.hubSource" .)) -}}
{{- fail (printf "model %q has no weights: set weights.uri (s3://... or gs://...), or model.source (a hub repository) for the quick-start fallback" $v.model.name) -}}
{{- end -}}
{{- if and $v.serviceAccount.awsRoleArn $v.serviceAccount.gcpServiceAccount -}}
{{- fail "serviceAccount.awsRoleArn and serviceAccount.gcpServiceAccount are both set: a pod runs on EKS or on GKE, set the one of its cloud" -}}
{{- end -}}
{{- $cloud := include "model-server.weightsCloud" . -}}
{{- if and (eq $cloud "aws") $v.serviceAccount.gcpServiceAccount -}}
{{- fail "weights.uri is an s3:// bucket but serviceAccount.gcpServiceAccount (GKE Workload Identity) is set: use serviceAccount.awsRoleArn (IRSA) or EKS Pod Identity" -}}
{{- end -}}
{{- if and (eq $cloud "gcp") $v.serviceAccount.awsRoleArn -}}
{{- fail "weights.uri is a gs:// bucket but serviceAccount.awsRoleArn (IRSA) is set: use serviceAccount.gcpServiceAccount (GKE Workload Identity)" -}}
{{- end -}}
{{- if $v.autoscaling.enabled -}}
{{- if lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas) -}}
{{- fail (printf "autoscaling.maxReplicas (%d) is below autoscaling.minReplicas (%d)" (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) -}}
{{- end -}}
{{- if and (eq $v.autoscaling.kind "hpa") (lt (int $v.autoscaling.minReplicas) 1) -}}
{{- fail "autoscaling.minReplicas=0 (scale to zero) needs autoscaling.kind=keda: a HorizontalPodAutoscaler cannot scale to zero" -}}
{{- end -}}
{{- if and (eq $v.autoscaling.kind "keda") (lt (int $v.autoscaling.minReplicas) 1) (not $v.autoscaling.keda.activationQuery) -}}
{{- fail "autoscaling.minReplicas=0 (scale to zero) needs autoscaling.keda.activationQuery: with no pods there is no vllm:num_requests_waiting to wake on; give a demand query that exists at zero replicas (e.g. the gateway's requests for this model)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Security context of every container: non-root, no privilege escalation, no capabilities. */}}
{{- define "model-server.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .Values.securityContext.readOnlyRootFilesystem }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The ScaledObject triggers' authenticationRef: the chart's TriggerAuthentication when keda.podIdentity is set, else an
existing one named in keda.authenticationRef, else none.
*/}}
{{- define "model-server.kedaAuthentication" -}}
{{- $k := .Values.autoscaling.keda -}}
{{- if $k.podIdentity -}}
authenticationRef:
  name: {{ include "model-server.fullname" . }}-prometheus
  kind: TriggerAuthentication
{{- else if $k.authenticationRef.name -}}
authenticationRef:
  name: {{ $k.authenticationRef.name }}
  kind: {{ $k.authenticationRef.kind }}
{{- end -}}
{{- end -}}
