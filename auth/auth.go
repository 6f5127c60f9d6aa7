// Package auth knows who a request comes from and what they may do:
// users and their bcrypt passwords, session cookies (HS256 JWTs), API
// tokens with JupyterHub's scopes, XSRF tokens and login throttling.
package auth

import (
	"errors"
	"fmt"
)

// Errors the hub maps to status codes.
var (
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrBadCredentials  = errors.New("wrong username or password")
	ErrUnauthenticated = errors.New("not logged in")
)

// InputError is a client mistake: the message is meant for a person and
// names what to change.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// ValidateName checks a username against sparkhub's rule: 1 to 30
// characters (the width pgcontents gives user_id), lowercase letters,
// digits, '-', '_' and '.', starting with a letter or a digit.
func ValidateName(name string) error {
	if name == "" || len(name) > 30 {
		return inputErrorf("a username has 1 to 30 characters: lowercase letters, digits, '-', '_' and '.', starting with a letter or a digit")
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return inputErrorf("%q is not a valid username: use 1 to 30 lowercase letters, digits, '-', '_' and '.', starting with a letter or a digit", name)
		}
	}
	return nil
}
