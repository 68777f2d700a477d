// Package credentials makes the web-panel password. It never logs or returns it in an
// error.
package credentials

import (
	"crypto/rand"
	"encoding/base64"
)

// PasswordBytes is the password's entropy in bytes: 24 bytes is 192 bits, above the
// contract's minimum of 128.
const PasswordBytes = 24

// NewPassword returns a random password of PasswordBytes bytes from crypto/rand,
// URL-safe base64 without padding (32 characters).
func NewPassword() string {
	b := make([]byte, PasswordBytes)
	// crypto/rand.Read never returns an error since Go 1.24: it crashes the program
	// instead of returning predictable bytes.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
