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

package report

import (
	"fmt"
	"strings"
	"unicode"
)

// Inert returns user text (an OPD's name, a letter's number, an approver, a
// rejection's reason) fit to print on a terminal line: each control character (a
// line break that would forge a line of the report, a terminal escape sequence) and
// each bidirectional formatting character (which reorders what is shown) is written
// as its \u escape. The CRD refuses control characters in the request's own fields;
// annotations (a rejection's reason), usernames and entries written before that rule
// still reach here.
func Inert(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hidden tells the characters Inert escapes: Unicode's Cc (C0, DEL, C1) and the
// bidirectional marks, embeddings, overrides and isolates.
func hidden(r rune) bool {
	return unicode.IsControl(r) || r == '\u061c' || r == '\u200e' || r == '\u200f' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
