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
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
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
	texts       sync.Pool // *bytes.Buffer: notebooks' text on the way to base64
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
	s := &Service{st: newStore(gdb), keys: newKeyring(keys), maxSize: size, allowHidden: opts.AllowHidden, log: log}
	s.fitPacketSize()
	return s, nil
}

// fitPacketSize keeps saves under MySQL's max_allowed_packet: a larger
// value makes the server drop the connection, which would be a 500
// instead of a 413 that names the file.
func (s *Service) fitPacketSize() {
	if s.st.dialect != db.MySQL {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var packet int64
	if err := s.st.db.WithContext(ctx).Raw("SELECT @@max_allowed_packet").Scan(&packet).Error; err != nil || packet <= 0 {
		return
	}
	// The statement carries the value, the path and some SQL.
	limit := packet - 64<<10
	if limit < s.maxSize {
		s.log.Warn("contents: MySQL's max_allowed_packet caps stored files below --contents-max-file-size; "+
			"raise it (SET GLOBAL max_allowed_packet, or max_allowed_packet in the server's config) to store larger files",
			"max_allowed_packet", packet, "max_file_size", s.maxSize, "effective_max_file_size", limit)
		s.maxSize = limit
	}
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
