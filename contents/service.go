// Package contents is the Jupyter Contents API over the pgcontents
// tables: notebooks, files, directories and checkpoints kept in the
// database, readable by pgcontents and written as it writes them, with
// its Fernet encryption when keys are set.
package contents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"gorm.io/gorm"
)

// DefaultMaxFileSize is the default of --contents-max-file-size.
const DefaultMaxFileSize = 100 << 20

// Options configure the service.
type Options struct {
	EncryptionKeys []string // --contents-encryption-keys; first encrypts, all decrypt; empty = none
	MaxFileSize    int64    // --contents-max-file-size, default 100 MiB, counted on the stored value
	AllowHidden    bool     // --contents-allow-hidden
	Logger         *slog.Logger
}

// Service serves the contents API from the database.
type Service struct {
	st          *store
	keys        *keyring
	maxSize     int64
	allowHidden bool
	log         *slog.Logger
}

// New returns the service on a migrated database.
func New(gdb *gorm.DB, opts Options) (*Service, error) {
	if gdb == nil {
		return nil, errors.New("contents: no database")
	}
	keys, err := checkKeys(opts.EncryptionKeys)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	size := opts.MaxFileSize
	if size == 0 {
		size = DefaultMaxFileSize
	}
	if size < 0 {
		return nil, fmt.Errorf("contents: the largest file size must be positive, not %d", size)
	}
	return &Service{st: newStore(gdb), keys: newKeyring(keys), maxSize: size, allowHidden: opts.AllowHidden, log: log}, nil
}

// checkKeys drops empty entries and refuses passwords pgcontents could
// not use (it encodes them as ASCII).
func checkKeys(in []string) ([]string, error) {
	var out []string
	for i, k := range in {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		for _, r := range k {
			if r > 0x7e || r < 0x20 {
				return nil, fmt.Errorf("contents: encryption key %d has a character that is not printable ASCII", i+1)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// checkSize applies --contents-max-file-size to a stored value.
func (s *Service) checkSize(p string, stored []byte) error {
	if int64(len(stored)) > s.maxSize {
		return tooLarge(p)
	}
	return nil
}

// readPayload decrypts a stored value into pgcontents' base64 payload.
func (s *Service) readPayload(user, p string, stored []byte) ([]byte, error) {
	payload, err := s.keys.forUser(user).decrypt(stored)
	if err != nil {
		return nil, unreadable(p)
	}
	return payload, nil
}

// readBytes decrypts and decodes a stored value into the file's bytes.
func (s *Service) readBytes(user, p string, stored []byte) ([]byte, error) {
	payload, err := s.readPayload(user, p, stored)
	if err != nil {
		return nil, err
	}
	data, err := decodePayload(payload)
	if err != nil {
		return nil, unreadable(p)
	}
	return data, nil
}

func (s *Service) hiddenErr(p string, status int) error {
	if s.allowHidden || !isHidden(p) {
		return nil
	}
	if status == http.StatusNotFound {
		return notFound("No such file or directory: %s", p)
	}
	return badRequest("Cannot change the hidden file or directory %q.", p)
}

// ctxStore is the store bound to a request's context.
func (s *Service) ctxStore(ctx context.Context) *store {
	return &store{db: s.st.db.WithContext(ctx), dialect: s.st.dialect, t: s.st.t}
}
