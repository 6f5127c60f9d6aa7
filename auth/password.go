package auth

import (
	"crypto/rand"

	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	cost  int
	dummy []byte // a hash to check against for unknown users
}

// DefaultBcryptCost is the cost of stored passwords unless told
// otherwise (--bcrypt-cost).
const DefaultBcryptCost = 12

// NewPasswords uses the bcrypt cost given (bcrypt.MinCost in tests,
// bcrypt.DefaultCost or more in production).
func NewPasswords(cost int) (*Passwords, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is out of range %d-%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, err
	}
	return &Passwords{cost: cost, dummy: dummy}, nil
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(password string) (string, error) {
	if err := CheckPasswordRule(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CheckPasswordRule says what is wrong with a new password, if anything.
func CheckPasswordRule(password string) error {
	switch {
	case len(password) < 8:
		return inputErrorf("a password needs at least 8 characters")
	case len(password) > 72:
		return inputErrorf("a password may have at most 72 bytes")
	}
	return nil
}

// Verify reports whether password matches hash. An empty hash (a user
// with no password) costs the same time as a wrong password and fails.
func (p *Passwords) Verify(hash, password string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(p.dummy, []byte(password))
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	return err == nil
}

// Waste spends the time a real check takes, for unknown users.
func (p *Passwords) Waste(password string) {
	bcrypt.CompareHashAndPassword(p.dummy, []byte(password))
}

// RandomPassword returns a new password for a person to type once.
func RandomPassword() string { return rand.Text()[:20] }
