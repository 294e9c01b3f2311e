package deploy

import (
	"fmt"
	"os"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifests is a kustomization built and decoded into the API types.
type manifests struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	secrets     []*corev1.Secret
	configMaps  []*corev1.ConfigMap
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	jobs        []*batchv1.Job
	policies    []*networkingv1.NetworkPolicy
}

// build runs kustomize on dir, as `kubectl apply -k` would, and decodes
// every object strictly: an unknown or misspelt field fails.
func build(t *testing.T, dir string) manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, batchv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	var m manifests
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj, _, err := dec.Decode(y, nil, nil)
		if err != nil {
			t.Errorf("%s: %s %s: %v", dir, r.GetKind(), r.GetName(), err)
			continue
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			m.deployments = append(m.deployments, o)
		case *corev1.Service:
			m.services = append(m.services, o)
		case *corev1.Secret:
			m.secrets = append(m.secrets, o)
		case *corev1.ConfigMap:
			m.configMaps = append(m.configMaps, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas = append(m.hpas, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		case *batchv1.Job:
			m.jobs = append(m.jobs, o)
		case *networkingv1.NetworkPolicy:
			m.policies = append(m.policies, o)
		case *corev1.Namespace:
		default:
			t.Errorf("%s: %s %s: a kind this test does not check", dir, r.GetKind(), r.GetName())
		}
	}
	return m
}

func TestKubernetesBase(t *testing.T) {
	m := build(t, "k8s/base")
	checkManifests(t, m)
	// The base references its Secret and generates none: the overlay does.
	if len(m.secrets) > 0 {
		t.Errorf("the base defines Secrets %v: only overlays may", m.secrets[0].Name)
	}
	generated := overlaySecrets(t, "k8s/overlays/laptop")
	for _, ref := range secretRefs(m) {
		if !slices.Contains(generated, ref.name) {
			t.Errorf("%s references Secret %s, which overlays/laptop does not generate (%v)", ref.from, ref.name, generated)
		}
	}
	var names []string
	for _, d := range m.deployments {
		names = append(names, d.Name)
	}
	for _, svc := range mercatoServices {
		if !slices.Contains(names, svc) {
			t.Errorf("no Deployment for %s", svc)
		}
	}
	if len(m.jobs) != 1 || !slices.Equal(m.jobs[0].Spec.Template.Spec.Containers[0].Args, []string{"migrate", "-services=all"}) {
		t.Errorf("want one migration Job running migrate -services=all, got %d", len(m.jobs))
	}
}

func TestKubernetesLaptopOverlay(t *testing.T) {
	m := build(t, "k8s/overlays/laptop")
	checkManifests(t, m)
	// Every Secret reference resolves to a Secret the overlay generated
	// (kustomize rewrote the names with their hash), key included.
	for _, ref := range secretRefs(m) {
		i := slices.IndexFunc(m.secrets, func(s *corev1.Secret) bool { return s.Name == ref.name })
		if i < 0 {
			t.Errorf("%s references Secret %s, which the overlay does not generate", ref.from, ref.name)
			continue
		}
		s := m.secrets[i]
		if _, ok := s.Data[ref.key]; ref.key != "" && !ref.optional && !ok {
			if _, ok := s.StringData[ref.key]; !ok {
				t.Errorf("%s references key %s of Secret %s, which has none", ref.from, ref.key, ref.name)
			}
		}
	}
	for _, d := range m.deployments {
		if d.Namespace != "mercato" {
			t.Errorf("Deployment %s in namespace %q", d.Name, d.Namespace)
		}
	}
}

// checkManifests holds what matters in any build: probes and requests,
// autoscalers and budgets aimed at real Deployments, only the gateway
// reachable from outside.
func checkManifests(t *testing.T, m manifests) {
	t.Helper()
	byName := map[string]*appsv1.Deployment{}
	for _, d := range m.deployments {
		byName[d.Name] = d
		for _, c := range d.Spec.Template.Spec.Containers {
			where := fmt.Sprintf("Deployment %s, container %s", d.Name, c.Name)
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Errorf("%s: needs a readiness and a liveness probe", where)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s: needs CPU and memory requests", where)
			}
			if c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: needs a memory limit", where)
			}
			if d.Labels["app.kubernetes.io/part-of"] != "mercato" {
				continue
			}
			if g := c.ReadinessProbe; g == nil || g.HTTPGet == nil || g.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: the readiness probe must get /readyz", where)
			}
			if g := c.LivenessProbe; g == nil || g.HTTPGet == nil || g.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: the liveness probe must get /healthz", where)
			}
			if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: needs a read-only root and no privilege escalation", where)
			}
			if ps := d.Spec.Template.Spec.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
				t.Errorf("%s: must run as non-root", where)
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: its selector does not match its pods: %v", d.Name, err)
		}
	}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || byName[ref.Name] == nil {
			t.Errorf("HorizontalPodAutoscaler %s targets %s %s, which does not exist", h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: bad replica bounds", h.Name)
		}
	}
	for _, p := range m.pdbs {
		if n := len(selected(t, p.Spec.Selector, m.deployments)); n == 0 {
			t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", p.Name)
		}
	}
	for _, s := range m.services {
		var hit bool
		for _, d := range m.deployments {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				hit = true
			}
		}
		if !hit {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
		}
		if s.Spec.Type != corev1.ServiceTypeClusterIP && s.Spec.Type != "" && s.Name != "gateway" {
			t.Errorf("Service %s is of type %s: only the gateway is exposed", s.Name, s.Spec.Type)
		}
	}

	// NetworkPolicies: a default deny of ingress for every pod; a rule open
	// to any source only for the gateway's pods; every other rule admits
	// Mercato's own pods, or the monitoring namespace on the metrics port.
	var deny bool
	for _, p := range m.policies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(p.Spec.Ingress) == 0 {
			deny = true
		}
		pods := selected(t, &p.Spec.PodSelector, m.deployments)
		for _, rule := range p.Spec.Ingress {
			if len(rule.From) == 0 {
				for _, d := range pods {
					if d.Name != "gateway" {
						t.Errorf("NetworkPolicy %s lets anyone reach %s: only the gateway may be", p.Name, d.Name)
					}
				}
				continue
			}
			for _, from := range rule.From {
				switch {
				case from.IPBlock != nil:
					t.Errorf("NetworkPolicy %s admits an IP block: only the gateway is reachable from outside", p.Name)
				case from.NamespaceSelector != nil:
					if from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" ||
						len(rule.Ports) != 1 || rule.Ports[0].Port == nil || rule.Ports[0].Port.IntValue() != 9464 {
						t.Errorf("NetworkPolicy %s admits another namespace beyond the metrics port", p.Name)
					}
				case from.PodSelector != nil:
					if from.PodSelector.MatchLabels["app.kubernetes.io/part-of"] != "mercato" {
						t.Errorf("NetworkPolicy %s admits pods other than Mercato's: %v", p.Name, from.PodSelector)
					}
				}
			}
		}
	}
	if !deny {
		t.Error("no default-deny ingress NetworkPolicy")
	}
	// The gateway's policy exists and selects exactly the gateway.
	var open []string
	for _, p := range m.policies {
		for _, rule := range p.Spec.Ingress {
			if len(rule.From) == 0 {
				for _, d := range selected(t, &p.Spec.PodSelector, m.deployments) {
					open = append(open, d.Name)
				}
			}
		}
	}
	if !slices.Equal(open, []string{"gateway"}) {
		t.Errorf("pods reachable from anywhere: %v, want [gateway]", open)
	}
}

func selected(t *testing.T, ls *metav1.LabelSelector, ds []*appsv1.Deployment) []*appsv1.Deployment {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		t.Fatal(err)
	}
	var out []*appsv1.Deployment
	for _, d := range ds {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

type secretRef struct {
	from, name, key string
	optional        bool
}

// secretRefs lists every reference to a Secret in the pods' templates.
func secretRefs(m manifests) []secretRef {
	var refs []secretRef
	pod := func(kind, name string, spec corev1.PodSpec) {
		from := kind + " " + name
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			for _, e := range c.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
					refs = append(refs, secretRef{from, r.SecretKeyRef.Name, r.SecretKeyRef.Key, r.SecretKeyRef.Optional != nil && *r.SecretKeyRef.Optional})
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					refs = append(refs, secretRef{from, e.SecretRef.Name, "", e.SecretRef.Optional != nil && *e.SecretRef.Optional})
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				refs = append(refs, secretRef{from, v.Secret.SecretName, "", v.Secret.Optional != nil && *v.Secret.Optional})
			}
		}
	}
	for _, d := range m.deployments {
		pod("Deployment", d.Name, d.Spec.Template.Spec)
	}
	for _, j := range m.jobs {
		pod("Job", j.Name, j.Spec.Template.Spec)
	}
	return refs
}

// overlaySecrets lists the names of the Secrets an overlay generates.
func overlaySecrets(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(dir + "/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kusttypes.Kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	var names []string
	for _, g := range k.SecretGenerator {
		names = append(names, g.Name)
	}
	return names
}
