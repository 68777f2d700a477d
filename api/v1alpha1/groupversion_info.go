/*
Copyright 2026 The subdomain-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package v1alpha1 contains the subdomain.kominfo.go.id/v1alpha1 API: SubdomainZone,
// SubdomainRequest and the SubdomainClaim objects that make names and addresses exclusive.
//
// A CEL rule that can fail to evaluate on a value it refuses (timestamp, duration,
// getHours of a string that is none) is a transition rule with optionalOldSelf that
// passes an unchanged value: CRD ratcheting spares a stored value that makes a rule
// false, not one that makes it fail, and an object stored before such a rule came
// would otherwise refuse every later write - status, finalizer removal - until fixed.
// Rules on the whole object look at creates only, for the same reason.
// +kubebuilder:object:generate=true
// +groupName=subdomain.kominfo.go.id
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "subdomain.kominfo.go.id", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
