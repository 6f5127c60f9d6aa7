package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sparkhub/sparkhub/db"
)

// secureDataDir keeps the hub's own files the hub's alone, on every
// start and every command: the data folder lists and opens for no one
// else (other accounts may at most pass through it, to their homes in
// users/), the server logs are 0700/0600, and a SQLite database with its
// -wal, -shm and -journal files is 0600: it holds the key that signs
// every session.
func secureDataDir(cfg Config) error {
	fi, err := os.Stat(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o066 != 0 {
		if err := os.Chmod(cfg.DataDir, perm&^0o066); err != nil {
			return fmt.Errorf("make the data folder private: %w", err)
		}
	}
	private := map[string]fs.FileMode{filepath.Join(cfg.DataDir, "logs"): 0o700}
	if logs, err := os.ReadDir(filepath.Join(cfg.DataDir, "logs")); err == nil {
		for _, e := range logs {
			if e.Type().IsRegular() {
				private[filepath.Join(cfg.DataDir, "logs", e.Name())] = 0o600
			}
		}
	}
	if path, ok := db.SQLitePath(cfg.DB); ok {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			private[path+suffix] = 0o600
		}
	}
	for path, mode := range private {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode().Perm() == mode {
			continue
		}
		if err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			err = os.Chmod(path, mode)
		}
		if err != nil {
			return fmt.Errorf("make %s private: %w", path, err)
		}
	}
	return nil
}
