package contents

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// pgcontents encrypts each user's rows with Fernet, under a key derived
// from a password and the user's id: PBKDF2-HMAC-SHA256, salt = user id,
// 100000 iterations, 32 bytes (pgcontents.crypto.derive_single_fernet_key).
const (
	kdfIterations = 100000
	fernetVersion = 0x80
	// version + timestamp + IV + HMAC; the ciphertext adds 16n bytes.
	fernetOverhead = 1 + 8 + 16 + 32
)

var errBadToken = errors.New("not a Fernet token for these keys")

// deriveKey returns the raw 32-byte Fernet key for password and user.
func deriveKey(password, userID string) []byte {
	key, err := pbkdf2.Key(sha256.New, password, []byte(userID), kdfIterations, 32)
	if err != nil {
		panic(err) // only for lengths and FIPS modes we never use
	}
	return key
}

// fernetEncrypt makes a Fernet token (as ASCII bytes) of msg under key.
func fernetEncrypt(key, msg []byte, now time.Time) []byte {
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	plain := make([]byte, len(msg)+pad)
	copy(plain, msg)
	for i := len(msg); i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	tok := make([]byte, 1+8+16, fernetOverhead+len(plain))
	tok[0] = fernetVersion
	binary.BigEndian.PutUint64(tok[1:9], uint64(now.Unix()))
	rand.Read(tok[9:25])
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, tok[9:25]).CryptBlocks(ct, plain)
	tok = append(tok, ct...)
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(tok)
	tok = mac.Sum(tok)
	out := make([]byte, base64.URLEncoding.EncodedLen(len(tok)))
	base64.URLEncoding.Encode(out, tok)
	return out
}

// fernetDecrypt opens a token made by any Fernet implementation. Like
// pgcontents it sets no time-to-live.
func fernetDecrypt(key, token []byte) ([]byte, error) {
	raw, ok := fernetRaw(token)
	if !ok {
		return nil, errBadToken
	}
	mac := hmac.New(sha256.New, key[:16])
	mac.Write(raw[:len(raw)-32])
	if subtle.ConstantTimeCompare(mac.Sum(nil), raw[len(raw)-32:]) != 1 {
		return nil, errBadToken
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return nil, err
	}
	ct := raw[25 : len(raw)-32]
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, raw[9:25]).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > aes.BlockSize || pad > len(plain) ||
		!bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errBadToken
	}
	return plain[:len(plain)-pad], nil
}

// fernetRaw decodes a token's base64 and checks its shape.
func fernetRaw(token []byte) ([]byte, bool) {
	enc := base64.URLEncoding
	if len(token)%4 != 0 {
		enc = base64.RawURLEncoding
	}
	raw := make([]byte, enc.DecodedLen(len(token)))
	n, err := enc.Decode(raw, token)
	if err != nil {
		return nil, false
	}
	raw = raw[:n]
	if len(raw) < fernetOverhead+aes.BlockSize || (len(raw)-fernetOverhead)%aes.BlockSize != 0 || raw[0] != fernetVersion {
		return nil, false
	}
	return raw, true
}

// looksEncrypted reports whether a stored value has the shape of a Fernet
// token. A plaintext payload is standard base64 of the file, which has
// that shape only by a rare accident (and then fails the HMAC anyway).
func looksEncrypted(stored []byte) bool {
	if !bytes.HasPrefix(stored, []byte("gAAAAA")) {
		return false
	}
	_, ok := fernetRaw(stored)
	return ok
}

// crypter encrypts and decrypts one user's rows. With no keys it stores
// plaintext; with keys the first encrypts and each one is tried to
// decrypt, and a row that is not a token at all is read as plaintext
// (pgcontents' FallbackCrypto ending in NoEncryption), so turning
// encryption on does not hide the rows written before.
type crypter struct {
	keys [][]byte
}

func (c crypter) encrypt(payload []byte) []byte {
	if len(c.keys) == 0 {
		return payload
	}
	return fernetEncrypt(c.keys[0], payload, time.Now())
}

func (c crypter) decrypt(stored []byte) ([]byte, error) {
	if len(c.keys) == 0 {
		if looksEncrypted(stored) {
			return nil, errBadToken // encrypted, and this service has no keys
		}
		return stored, nil
	}
	for _, k := range c.keys {
		if p, err := fernetDecrypt(k, stored); err == nil {
			return p, nil
		}
	}
	if looksEncrypted(stored) {
		return nil, errBadToken
	}
	return stored, nil
}

// keyring derives and remembers per-user keys: each derivation costs
// 100000 rounds of HMAC.
type keyring struct {
	passwords []string
	mu        sync.Mutex
	cache     map[string][][]byte
}

func newKeyring(passwords []string) *keyring {
	return &keyring{passwords: passwords, cache: map[string][][]byte{}}
}

func (k *keyring) forUser(userID string) crypter {
	if k == nil || len(k.passwords) == 0 {
		return crypter{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	keys, ok := k.cache[userID]
	if !ok {
		for _, p := range k.passwords {
			keys = append(keys, deriveKey(p, userID))
		}
		if len(k.cache) > 10000 {
			clear(k.cache)
		}
		k.cache[userID] = keys
	}
	return crypter{keys: keys}
}
