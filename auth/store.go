package auth

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// Store keeps users and tokens in the hub_users and hub_tokens tables.
// Every method that changes a user, a token or a session tells the
// Authenticator's cache itself (see cache.go): no caller has to.
type Store struct {
	db    *gorm.DB
	epoch *epoch
	// inTx marks a store Transaction made: its changes are told once,
	// when the transaction has ended.
	inTx bool
}

// NewStore returns the store on gdb.
func NewStore(gdb *gorm.DB) *Store { return &Store{db: gdb, epoch: &epoch{}} }

// Transaction runs fn with a store whose calls all run in one database
// transaction, committed when fn returns nil. The cache hears of the
// changes after the commit (or rollback), so a lookup made while the
// transaction ran keeps nothing it read. Other packages' tables join the
// transaction through the store's DB.
func (s *Store) Transaction(ctx context.Context, fn func(tx *Store) error) error {
	defer s.changed()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&Store{db: tx, epoch: s.epoch, inTx: true})
	})
}

// changed tells the Authenticator's cache that users, tokens or
// sessions changed. It is called after the change is committed: a lookup
// that read the old rows before then holds an older epoch and is not
// kept.
func (s *Store) changed() {
	if !s.inTx {
		s.epoch.n.Add(1)
	}
}

// DB is the handle the store uses: inside Transaction, the transaction,
// for callers that join other tables to it.
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
