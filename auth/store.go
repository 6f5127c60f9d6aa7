package auth

import (
	"errors"

	"gorm.io/gorm"
)

// Store keeps users and tokens in the hub_users and hub_tokens tables.
type Store struct {
	db    *gorm.DB
	epoch *epoch
}

// NewStore returns the store on gdb.
func NewStore(gdb *gorm.DB) *Store { return &Store{db: gdb, epoch: &epoch{}} }

// WithTx returns a store whose calls run in the transaction tx.
func (s *Store) WithTx(tx *gorm.DB) *Store { return &Store{db: tx, epoch: s.epoch} }

// Changed tells the Authenticator's cache that users, tokens or sessions
// changed: every change through the store says so itself; a caller that
// changes them in its own transaction calls it again after the commit,
// so nothing read in between is kept.
func (s *Store) Changed() { s.epoch.n.Add(1) }

// DB is the handle the store uses, for callers that join other tables
// to one transaction.
func (s *Store) DB() *gorm.DB { return s.db }

// mapErr turns gorm's errors into the package's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrExists
	}
	return err
}
