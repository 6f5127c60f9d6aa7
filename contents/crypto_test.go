package contents

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"
)

// fernetKeyString is the key as pgcontents and the cryptography package
// write it: URL-safe base64 with padding.
func fernetKeyString(key []byte) string { return base64.URLEncoding.EncodeToString(key) }

// The vectors of pgcontents' derive_single_fernet_key (spec section 4).
func TestDeriveKeyVectors(t *testing.T) {
	tests := []struct{ password, user, want string }{
		{"correct horse battery staple", "alice", "G8KBJxkkOUtvQt8l-Gx7PNTNcmjN9abwvLEGE9MfR08="},
		{"secret", "bob", "yeR0SBAbAF3LLbm_iY8S6IwPx12rufwPto3TJSi_KWc="},
	}
	for _, tt := range tests {
		if got := fernetKeyString(deriveKey(tt.password, tt.user)); got != tt.want {
			t.Errorf("deriveKey(%q, %q) = %s, want %s", tt.password, tt.user, got, tt.want)
		}
	}
}

func TestFernetRoundTrip(t *testing.T) {
	key := deriveKey("secret", "bob")
	for _, msg := range []string{"", "aGk=", "AAAA", string(bytes.Repeat([]byte("x"), 1000))} {
		tok := fernetEncrypt(key, []byte(msg), time.Now())
		if !bytes.HasPrefix(tok, []byte("gAAAAA")) || !looksEncrypted(tok) {
			t.Errorf("token %q does not look like Fernet", tok[:10])
		}
		got, err := fernetDecrypt(key, tok)
		if err != nil || string(got) != msg {
			t.Errorf("decrypt(encrypt(%.10q)) = %.10q, %v", msg, got, err)
		}
	}
	tok := fernetEncrypt(key, []byte("AAAA"), time.Now())
	if len(tok) != 100 {
		t.Errorf("a 4-byte payload gives a %d-byte token, want 100 (as pgcontents)", len(tok))
	}
	other := deriveKey("secret", "alice")
	if _, err := fernetDecrypt(other, tok); err == nil {
		t.Error("another user's key opened the token")
	}
	tampered := append([]byte(nil), tok...)
	tampered[50] ^= 1
	if _, err := fernetDecrypt(key, tampered); err == nil {
		t.Error("a tampered token opened")
	}
}

func TestCrypterFallbacks(t *testing.T) {
	oldKey, newKey := deriveKey("old", "u"), deriveKey("new", "u")
	c := crypter{keys: [][]byte{newKey, oldKey}}
	tests := []struct {
		name    string
		stored  []byte
		want    string
		wantErr bool
	}{
		{"new key", fernetEncrypt(newKey, []byte("AAAA"), time.Now()), "AAAA", false},
		{"old key", fernetEncrypt(oldKey, []byte("BBBB"), time.Now()), "BBBB", false},
		{"plaintext", []byte("Q0NDQw=="), "Q0NDQw==", false},
		{"unknown key", fernetEncrypt(deriveKey("x", "u"), []byte("AAAA"), time.Now()), "", true},
	}
	for _, tt := range tests {
		got, err := c.decrypt(tt.stored)
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("%s: decrypt = %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
