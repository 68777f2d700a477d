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

package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
	"github.com/kominfo/subdomain-operator/internal/reconcileerr"
)

// ensure creates obj, or puts back the fields mutate sets when they drifted. It never
// adopts: an object of that name that this request did not create is a Conflict
// reported on condition cond. It writes nothing when the object is as desired.
func (r *SubdomainRequestReconciler) ensure(ctx context.Context, s *requestScope, cond string, obj client.Object, mutate func() error) error {
	key := client.ObjectKeyFromObject(obj)
	// Per request, as claimKey: another request's create of the same object (one
	// namespace for two OPD codes) is not this request's.
	created := fmt.Sprintf("%T/%s@%s", obj, key, s.req.Name)
	err := r.Get(ctx, key, obj)
	switch {
	case apierrors.IsNotFound(err) && r.pending(s, created):
		// This process created it moments ago; the cache has not caught up. Its watch
		// event reconciles again; pending asked for a requeue in case it never comes.
		return nil
	case apierrors.IsNotFound(err):
		// Most kinds are cached only when they carry our label, so a foreign object
		// looks absent. A request already in Conflict asks the API server first rather
		// than retrying a create that would fail: at steady state it writes nothing.
		if s.req.Status.Phase == sdv1.PhaseConflict {
			if done, err := r.whoHolds(ctx, s, cond, key, obj); done {
				return err
			}
		}
		if err := mutate(); err != nil {
			return err
		}
		if err := r.own(s, obj); err != nil {
			return err
		}
		err = r.Create(ctx, obj)
		if err == nil {
			r.created(created)
		}
		if !apierrors.IsAlreadyExists(err) {
			return r.refused(s, cond, obj, err)
		}
		if done, err := r.whoHolds(ctx, s, cond, key, obj); done {
			return err
		}
		// Gone again between the create and the read (a foreign or terminating
		// object's deletion ending): not made either; create it again soon.
		return reconcileerr.NewWaiting(cond, "Progressing", cacheLagRetry,
			"%s was there a moment ago and is gone; creating it again", describe(r, obj))
	case err != nil:
		return err
	}
	r.observed(created)
	if !mine(obj, s.req) {
		return r.conflict(cond, obj)
	}
	before := obj.DeepCopyObject().(client.Object)
	if err := mutate(); err != nil {
		return err
	}
	if err := r.own(s, obj); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	// Optimistic lock: a copy the cache has not brought up to date must not decide
	// the write. A credentials Secret read before this process's own rotation
	// still shows the old rotated-for, and would rotate the password a second time;
	// it is refused (409) and retried from the newer copy instead.
	return r.refused(s, cond, obj, r.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
}

// refused turns the API server's refusal of a child as invalid - a value from the
// zone or the request that the child's own validation does not take, such as a
// controllerSelector value with a space - into an Invalid error on cond that quotes
// the refusal: the request is Failed and says why, instead of retrying an unexplained
// error. It is tried again when the request or its zone changes, and every
// refusedRetry in case the refusal came from an admission policy whose view was behind.
// A Secret's refusal is not quoted: its fields are the credentials.
func (r *SubdomainRequestReconciler) refused(s *requestScope, cond string, obj client.Object, err error) error {
	if !apierrors.IsInvalid(err) {
		return quiet(r, obj, err)
	}
	s.requeueAt(refusedRetry)
	what := describe(r, obj)
	if _, secret := obj.(*corev1.Secret); secret {
		return reconcileerr.NewInvalid(cond, "ChildRefused", "the API server refused %s as invalid", what)
	}
	return reconcileerr.NewInvalid(cond, "ChildRefused", "the API server refused %s: %s", what, clip(err.Error(), maxRefusal))
}

// quiet keeps the API server's words about a refused write of a Secret out of every
// message: an admission policy's or webhook's may quote the object, whose fields are
// the credentials, and an error ends up in conditions, Events and logs. The error
// keeps its kind (errors.As finds the API status: a 409 is still a conflict) and says
// its reason and code only. Other kinds' errors pass as they are.
func quiet(r *SubdomainRequestReconciler, obj client.Object, err error) error {
	if _, secret := obj.(*corev1.Secret); !secret || err == nil {
		return err
	}
	return &quietError{err: err, what: describe(r, obj)}
}

type quietError struct {
	err  error
	what string
}

func (e *quietError) Error() string {
	var status apierrors.APIStatus
	if !errors.As(e.err, &status) || status.Status().Code == 0 {
		return fmt.Sprintf("writing %s failed; the error is not repeated, it may quote the credentials", e.what)
	}
	return fmt.Sprintf("the API server refused the write of %s (%s, HTTP %d); its words are not repeated, they may quote the credentials",
		e.what, apierrors.ReasonForError(e.err), status.Status().Code)
}

func (e *quietError) Unwrap() error { return e.err }

// maxRefusal bounds the API server's words quoted in a condition message.
const maxRefusal = 1024

// pending tells whether this process created the object of key moments ago and the
// cache does not show it yet; if so it asks for a reconcile when the memory expires.
func (r *SubdomainRequestReconciler) pending(s *requestScope, key string) bool {
	if r.InFlight == nil {
		return false
	}
	left := r.InFlight.Pending(key)
	if left > 0 {
		s.requeueAt(left)
	}
	return left > 0
}

// reserve records key unless another worker of this process holds it; without an
// in-flight set every reservation succeeds (the API server still arbitrates).
func (r *SubdomainRequestReconciler) reserve(key string) bool {
	return r.InFlight == nil || r.InFlight.Add(key)
}

func (r *SubdomainRequestReconciler) created(key string) {
	if r.InFlight != nil {
		r.InFlight.Add(key)
	}
}

func (r *SubdomainRequestReconciler) observed(key string) {
	if r.InFlight != nil {
		r.InFlight.Observed(key)
	}
}

// whoHolds reads key from the API server. done is false when nothing is there. An
// object of ours means the cache lags (Waiting), or that someone took the request's
// label off it, which the cache is scoped by: the label is put back, and the cache
// shows the object again. Anyone else's object is a Conflict.
func (r *SubdomainRequestReconciler) whoHolds(ctx context.Context, s *requestScope, cond string, key client.ObjectKey, obj client.Object) (done bool, err error) {
	live := obj.DeepCopyObject().(client.Object)
	if err := r.APIReader.Get(ctx, key, live); err != nil {
		return !apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}
	if !mine(live, s.req) {
		return true, r.conflict(cond, live)
	}
	if live.GetLabels()[sdv1.LabelRequest] != s.req.Name {
		base := live.DeepCopyObject().(client.Object)
		setLabel(live, sdv1.LabelRequest, s.req.Name)
		if err := r.Patch(ctx, live, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return true, quiet(r, live, err)
		}
		return true, reconcileerr.NewWaiting(cond, "Progressing", cacheLagRetry, "put the request's label back on %s", describe(r, live))
	}
	return true, reconcileerr.NewWaiting(cond, "Progressing", cacheLagRetry, "waiting for the cache to show %s", describe(r, live))
}

// own labels obj as the request's and makes the request its controller owner.
func (r *SubdomainRequestReconciler) own(s *requestScope, obj client.Object) error {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[sdv1.LabelRequest] = s.req.Name
	obj.SetLabels(labels)
	return controllerutil.SetControllerReference(s.req, obj, r.Scheme)
}

func (r *SubdomainRequestReconciler) conflict(cond string, live client.Object) error {
	return reconcileerr.NewConflict(cond, "AlreadyExists", "%s already exists%s; the operator never adopts an object it did not create",
		describe(r, live), heldBy(live))
}

// describe is "Kind namespace/name" for messages.
func describe(r *SubdomainRequestReconciler, o client.Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		if gvk, err := apiutil.GVKForObject(o, r.Scheme); err == nil {
			kind = gvk.Kind
		}
	}
	if o.GetNamespace() == "" {
		return fmt.Sprintf("%s %s", kind, o.GetName())
	}
	return fmt.Sprintf("%s %s/%s", kind, o.GetNamespace(), o.GetName())
}

// setLabel and setAnnotation set one key, keeping others' keys.
func setLabel(o metav1.Object, k, v string) {
	m := o.GetLabels()
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	o.SetLabels(m)
}

func setAnnotation(o metav1.Object, k, v string) {
	m := o.GetAnnotations()
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	o.SetAnnotations(m)
}
