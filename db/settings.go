package db

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrNoSetting is returned by Settings.Get for a name never set.
var ErrNoSetting = errors.New("setting not found")

// Settings is the hub_settings table: small values the hub makes once
// and keeps, such as signing keys and the Mesos framework id.
type Settings struct{ db *gorm.DB }

// NewSettings returns the settings store on gdb.
func NewSettings(gdb *gorm.DB) *Settings { return &Settings{db: gdb} }

type setting struct {
	Name      string `gorm:"primaryKey"`
	Value     []byte
	UpdatedAt time.Time
}

func (setting) TableName() string { return "hub_settings" }

// Get returns the value stored under name, or ErrNoSetting.
func (s *Settings) Get(ctx context.Context, name string) ([]byte, error) {
	var row setting
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNoSetting
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	return row.Value, nil
}

// Set stores value under name, replacing what was there.
func (s *Settings) Set(ctx context.Context, name string, value []byte) error {
	row := setting{Name: name, Value: value, UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("write setting %s: %w", name, err)
	}
	return nil
}

// Secret returns the random value of n bytes kept under name, making and
// storing it the first time. Two hubs racing on an empty table agree on
// whichever value was stored first.
func (s *Settings) Secret(ctx context.Context, name string, n int) ([]byte, error) {
	v, err := s.Get(ctx, name)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, ErrNoSetting) {
		return nil, err
	}
	v = make([]byte, n)
	rand.Read(v)
	row := setting{Name: name, Value: v, UpdatedAt: time.Now().UTC()}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("write setting %s: %w", name, err)
	}
	return s.Get(ctx, name)
}
