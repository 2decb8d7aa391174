package verify

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
	monitoring "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const chartDir = "../helm/fngate"

// kinds are the Go types of every kind the chart may render; a rendered
// object of another kind fails the test.
var kinds = map[string]func() any{
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"policy/v1 PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2 HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1 NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"keda.sh/v1alpha1 ScaledObject":           func() any { return &scaledObject{} },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return &monitoring.ServiceMonitor{} },
}

// variants are the values the chart is rendered with: its defaults and
// every file in its ci/ folder, with the objects each must render (kind:
// count), so that a switch that renders nothing is noticed.
var variants = map[string]map[string]int{
	"default": {"Deployment": 2, "Service": 3, "PodDisruptionBudget": 1, "NetworkPolicy": 2},
	"production-values.yaml": {"Deployment": 2, "Service": 3, "PodDisruptionBudget": 1, "NetworkPolicy": 2,
		"HorizontalPodAutoscaler": 1, "ScaledObject": 1, "ServiceMonitor": 2, "ConfigMap": 1},
	"minimal-values.yaml": {"Deployment": 2, "Service": 3},
}

// TestChart lints and renders the chart with each variant's values, decodes
// every rendered object strictly into the Kubernetes (or KEDA, Prometheus
// Operator) type of its kind, and checks what the chart promises: safe pod
// defaults, FNGATE_* variables the code reads, selectors and references
// that resolve, KEDA triggers on fngate's own stream and consumer names.
func TestChart(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"default"}
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, name := range names {
		want, ok := variants[name]
		if !ok {
			t.Errorf("ci/%s: add it to variants with the objects it renders", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := rendering{release: "fngate", namespace: "fngate"}
			if name != "default" {
				r.valuesFile = filepath.Join(chartDir, "ci", name)
				r.release = strings.TrimSuffix(name, "-values.yaml")
			}
			lintChart(t, r)
			objs := decodeAll(t, mustRender(t, r))
			got := map[string]int{}
			for _, o := range objs {
				got[o.kind]++
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rendered %v, want %v", got, want)
			}
			checkObjects(t, objs)
		})
	}
}

// TestChartRefusesBadValues: values the chart cannot honour stop the
// rendering with a message rather than rendering something wrong.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	// A --set value and a text the refusal must contain.
	refusals := map[string]string{
		"worker.keda.enabled=true":                              "needs worker.functions",
		"gateway.env.GOGC=200":                                  "not an FNGATE_* setting",
		"gateway.resources.limits.memory=0.5Gi":                 "GOMEMLIMIT is computed from it",
		"redis.master=":                                         "needs redis.master",
		"worker.keda.enabled=true,worker.functions[0].name=a.b": "is not a function name",
	}
	for set, want := range refusals {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			out, err := render(rendering{release: "fngate", set: set})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("helm template --set %s: %v\n%s\nwant an error with %q", set, err, out, want)
			}
		})
	}
}

// TestChartLongReleaseName: with the longest release name helm accepts (53
// characters), every name is still valid (a Service's a DNS label of at
// most 63).
func TestChartLongReleaseName(t *testing.T) {
	t.Parallel()
	release := strings.Repeat("r", 53)
	objs := decodeAll(t, mustRender(t, rendering{release: release, set: "serviceMonitor.enabled=true"}))
	if len(objs) == 0 {
		t.Fatal("nothing rendered")
	}
}

type object struct {
	kind, name string
	obj        any
}

// decodeAll splits helm's output into documents and decodes each strictly:
// an unknown or misplaced field fails, as a misspelt one would be dropped
// silently by the API server.
func decodeAll(t *testing.T, manifest string) []object {
	t.Helper()
	var objs []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(manifest, -1) {
		var meta struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Errorf("does not parse: %v\n%s", err, doc)
			continue
		}
		if meta.Kind == "" && strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue // only helm's "# Source:" comment
		}
		newObj, ok := kinds[meta.APIVersion+" "+meta.Kind]
		if !ok {
			t.Errorf("%s %s %q: no type known for it\n%s", meta.APIVersion, meta.Kind, meta.Name, doc)
			continue
		}
		obj := newObj()
		if err := decodeStrict(doc, obj); err != nil {
			t.Errorf("%s %q does not decode strictly: %v\n%s", meta.Kind, meta.Name, err, doc)
			continue
		}
		nameOK := validation.IsDNS1123Subdomain
		if meta.Kind == "Service" {
			nameOK = validation.IsDNS1035Label // it becomes a DNS name
		}
		for _, e := range nameOK(meta.Name) {
			t.Errorf("%s %q: name: %s", meta.Kind, meta.Name, e)
		}
		for k, v := range meta.Labels {
			for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				t.Errorf("%s %q: label %s=%s: %s", meta.Kind, meta.Name, k, v, e)
			}
		}
		objs = append(objs, object{meta.Kind, meta.Name, obj})
	}
	return objs
}

// decodeStrict decodes as the API server does (sigs.k8s.io/json: field
// names case-sensitive), refusing unknown and duplicate fields; plain
// encoding/json would take "readOnlyRootFileSystem" for
// readOnlyRootFilesystem.
func decodeStrict(doc string, obj any) error {
	data, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(data, obj)
	return errors.Join(append(strict, err)...)
}

// ofKind returns the rendered objects of type T.
func ofKind[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func checkObjects(t *testing.T, objs []object) {
	deployments := ofKind[*appsv1.Deployment](objs)
	configMaps := map[string]*corev1.ConfigMap{}
	for _, c := range ofKind[*corev1.ConfigMap](objs) {
		configMaps[c.Name] = c
		if f, ok := c.Data["routes.yaml"]; ok {
			if rs, err := route.ParseFile([]byte(f)); err != nil || len(rs) == 0 {
				t.Errorf("ConfigMap %s: routes.yaml: %d routes, %v", c.Name, len(rs), err)
			}
		}
	}
	podsOf := func(what string, sel *metav1.LabelSelector) []*appsv1.Deployment {
		t.Helper()
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() {
			t.Errorf("%s: selector %v: %v", what, sel, err)
			return nil
		}
		var out []*appsv1.Deployment
		for _, d := range deployments {
			if s.Matches(labels.Set(d.Spec.Template.Labels)) {
				out = append(out, d)
			}
		}
		if len(out) == 0 {
			t.Errorf("%s: selector %v matches no pods", what, sel)
		}
		return out
	}
	deployment := func(what, name string) {
		t.Helper()
		if !slices.ContainsFunc(deployments, func(d *appsv1.Deployment) bool { return d.Name == name }) {
			t.Errorf("%s: scales %q, which is not rendered", what, name)
		}
	}

	for _, d := range deployments {
		podsOf("Deployment "+d.Name, d.Spec.Selector)
		checkPod(t, d.Name, &d.Spec.Template.Spec, configMaps)
	}
	services := ofKind[*corev1.Service](objs)
	for _, s := range services {
		for _, d := range podsOf("Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}) {
			for _, p := range s.Spec.Ports {
				if containerPort(&d.Spec.Template.Spec, p.TargetPort.String()) == 0 {
					t.Errorf("Service %s: target port %s is not a port of %s", s.Name, p.TargetPort.String(), d.Name)
				}
			}
		}
	}
	for _, p := range ofKind[*policyv1.PodDisruptionBudget](objs) {
		podsOf("PodDisruptionBudget "+p.Name, p.Spec.Selector)
	}
	for _, h := range ofKind[*autoscalingv2.HorizontalPodAutoscaler](objs) {
		deployment("HorizontalPodAutoscaler "+h.Name, h.Spec.ScaleTargetRef.Name)
	}
	for _, s := range ofKind[*scaledObject](objs) {
		deployment("ScaledObject "+s.Name, s.Spec.ScaleTargetRef.Name)
		checkTriggers(t, s)
	}
	for _, m := range ofKind[*monitoring.ServiceMonitor](objs) {
		s, _ := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
		for _, e := range m.Spec.Endpoints {
			if !slices.ContainsFunc(services, func(svc *corev1.Service) bool {
				return s.Matches(labels.Set(svc.Labels)) && slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port })
			}) {
				t.Errorf("ServiceMonitor %s: no Service it selects has port %q", m.Name, e.Port)
			}
		}
	}
	for _, n := range ofKind[*networkingv1.NetworkPolicy](objs) {
		pods := podsOf("NetworkPolicy "+n.Name, &n.Spec.PodSelector)
		checkNetworkPolicy(t, n, pods)
	}
}

// checkPod checks a pod's safe defaults and its environment.
func checkPod(t *testing.T, name string, pod *corev1.PodSpec, configMaps map[string]*corev1.ConfigMap) {
	t.Helper()
	known := codeEnvVars(t)
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token", name)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: not non-root with a numeric user: %+v", name, pod.SecurityContext)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
			t.Errorf("%s: volume %s: ConfigMap %s is not rendered", name, v.Name, v.ConfigMap.Name)
		}
	}
	for _, c := range pod.Containers {
		where := name + "/" + c.Name
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s: not read-only, unprivileged, without capabilities: %+v", where, c.SecurityContext)
		}
		limit := c.Resources.Limits.Memory()
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || limit.IsZero() {
			t.Errorf("%s: resources %v: want CPU and memory requests and a memory limit", where, c.Resources)
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if p == nil || p.HTTPGet == nil || containerPort(pod, p.HTTPGet.Port.String()) == 0 {
				t.Errorf("%s: a probe is missing or names no port of the pod: %+v", where, p)
			}
		}
		mounts := map[string]string{} // mount path: ConfigMap
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("%s: mounts %s, which is no volume", where, m.Name)
			} else if v.ConfigMap != nil {
				mounts[m.MountPath] = v.ConfigMap.Name
			}
		}
		env := map[string]string{}
		for _, e := range c.Env {
			switch {
			case strings.HasPrefix(e.Name, "FNGATE_"):
				if !known[e.Name] {
					t.Errorf("%s sets %s, which no code reads", where, e.Name)
				}
			case e.ValueFrom != nil:
				t.Errorf("%s: secret in %s, which FNGATE_FUNCTION_ENV could pass to functions; use an FNGATE_* variable", where, e.Name)
			case e.Name != "GOMEMLIMIT" && e.Name != "HOME":
				t.Errorf("%s sets %s: only FNGATE_*, GOMEMLIMIT and HOME are expected", where, e.Name)
			}
			// Kubernetes expands $(X) only for variables defined before.
			for _, m := range regexp.MustCompile(`\$\(([A-Za-z_0-9]+)\)`).FindAllStringSubmatch(e.Value, -1) {
				if _, ok := env[m[1]]; !ok || !strings.HasPrefix(m[1], "FNGATE_") {
					t.Errorf("%s: %s refers to %s, not an FNGATE_* variable set before it", where, e.Name, m[1])
				}
			}
			if _, dup := env[e.Name]; dup {
				t.Errorf("%s sets %s twice (an env value repeating one the chart sets?)", where, e.Name)
			}
			env[e.Name] = e.Value
		}
		gomem, err := strconv.ParseInt(env["GOMEMLIMIT"], 10, 64)
		if err != nil || gomem <= 0 || gomem >= limit.Value() {
			t.Errorf("%s: GOMEMLIMIT %q is not below the memory limit %s", where, env["GOMEMLIMIT"], limit)
		}
		if !natsUsers(t)[env["FNGATE_NATS_USER"]] {
			t.Errorf("%s: NATS user %q is not one of nats.conf", where, env["FNGATE_NATS_USER"])
		}
		if f := env["FNGATE_ROUTES"]; f != "" {
			cm := configMaps[mounts[filepath.Dir(f)]]
			if cm == nil || cm.Data[filepath.Base(f)] == "" {
				t.Errorf("%s: FNGATE_ROUTES %s is not in a mounted ConfigMap", where, f)
			}
		}
		// The listeners the probes, Services and policies name are the
		// ones the code serves.
		for addr, port := range map[string]string{"FNGATE_ADMIN_ADDR": "admin", "FNGATE_METRICS_ADDR": "metrics"} {
			if a, ok := env[addr]; ok && a != fmt.Sprintf(":%d", containerPort(pod, port)) {
				t.Errorf("%s: %s=%s but the %s port is %d", where, addr, a, port, containerPort(pod, port))
			}
		}
		if containerPort(pod, "http") != 0 && containerPort(pod, "http") != 8080 {
			t.Errorf("%s: http port %d, the gateway's default FNGATE_HTTP_ADDR is :8080", where, containerPort(pod, "http"))
		}
	}
}

// containerPort is the number of a pod's port given by name or number (0:
// none).
func containerPort(pod *corev1.PodSpec, port string) int32 {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
				return p.ContainerPort
			}
		}
	}
	return 0
}

// checkTriggers: every trigger reads the lag of a function's consumer on
// the invocations stream, named as the workers name them.
func checkTriggers(t *testing.T, s *scaledObject) {
	t.Helper()
	if len(s.Spec.Triggers) == 0 {
		t.Errorf("ScaledObject %s has no triggers", s.Name)
	}
	for _, tr := range s.Spec.Triggers {
		m := tr.Metadata
		function := strings.TrimPrefix(m["consumer"], subject.Prefix+"-")
		consumer, err := subject.Consumer(function)
		if tr.Type != "nats-jetstream" || m["stream"] != subject.StreamInvocations || err != nil || consumer != m["consumer"] {
			t.Errorf("ScaledObject %s: trigger %s %v does not read a function consumer (%s) of stream %s", s.Name, tr.Type, m, consumer, subject.StreamInvocations)
		}
		if _, err := strconv.Atoi(m["lagThreshold"]); err != nil || m["natsServerMonitoringEndpoint"] == "" || m["account"] == "" {
			t.Errorf("ScaledObject %s: trigger metadata %v: want lagThreshold, natsServerMonitoringEndpoint, account", s.Name, m)
		}
	}
}

// checkNetworkPolicy: ingress and egress are both restricted, the admin
// listener and metrics admit only listed peers, and no egress rule is open
// to every destination.
func checkNetworkPolicy(t *testing.T, n *networkingv1.NetworkPolicy, pods []*appsv1.Deployment) {
	t.Helper()
	if !slices.Equal(n.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("NetworkPolicy %s: policy types %v, want Ingress and Egress", n.Name, n.Spec.PolicyTypes)
	}
	for _, r := range n.Spec.Ingress {
		for _, p := range r.Ports {
			for _, d := range pods {
				if containerPort(&d.Spec.Template.Spec, p.Port.String()) == 0 {
					t.Errorf("NetworkPolicy %s: port %s is not a port of %s", n.Name, p.Port.String(), d.Name)
				}
			}
			if name := p.Port.String(); (name == "admin" || name == "metrics") && len(r.From) == 0 {
				t.Errorf("NetworkPolicy %s: %s open to everyone", n.Name, name)
			}
		}
	}
	if len(n.Spec.Egress) == 0 {
		t.Errorf("NetworkPolicy %s: no egress allowed (NATS and Redis are needed)", n.Name)
	}
	for _, r := range n.Spec.Egress {
		if len(r.To) == 0 || len(r.Ports) == 0 {
			t.Errorf("NetworkPolicy %s: egress rule %+v is open to every destination or port", n.Name, r)
		}
	}
}
